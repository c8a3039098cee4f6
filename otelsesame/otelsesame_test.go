package otelsesame_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/memstore"
	"github.com/sesame-go/sesame/otelsesame"
)

// downError is the failure of flakyStore.
type downError struct{}

func (downError) Error() string { return "store down" }

// downType is the error.type of a downError.
const downType = "github.com/sesame-go/sesame/otelsesame_test.downError"

// flakyStore is a memstore whose Load fails while fail is set. It keeps
// every optional interface of memstore by embedding it.
type flakyStore struct {
	*memstore.Store
	fail atomic.Bool
}

func (s *flakyStore) Load(ctx context.Context, id string) (*driver.Record, error) {
	if s.fail.Load() {
		return nil, fmt.Errorf("flaky: %w", downError{})
	}
	return s.Store.Load(ctx, id)
}

// storeType is the sesame.store attribute of a flakyStore.
const storeType = "*otelsesame_test.flakyStore"

// env is a Manager with a flakyStore, observed by an Observer that records
// into in-memory readers, behind an httptest server whose requests each
// run in a span of their own ("request").
type env struct {
	t      *testing.T
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tracer trace.Tracer
	store  *flakyStore
	m      *sesame.Manager
	srv    *httptest.Server

	tokens []string // every token a Set-Cookie header carried
}

func newEnv(t *testing.T, cfg sesame.Config) *env {
	t.Helper()
	e := &env{t: t, reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(e.reader))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(e.spans))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()); _ = tp.Shutdown(context.Background()) })
	e.tracer = tp.Tracer("test")
	obs, err := otelsesame.New(otelsesame.Options{MeterProvider: mp, TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	e.store = &flakyStore{Store: memstore.New(memstore.Options{})}
	t.Cleanup(func() { _ = e.store.Close() })
	cfg.Store, cfg.Insecure, cfg.Observer = e.store, true, obs
	cfg.Logger = slog.New(slog.DiscardHandler) // the store failure's log
	e.m = sesame.New(cfg)
	app := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sesame.FromContext(r.Context())
		var err error
		switch r.URL.Path {
		case "/put":
			err = s.Put("n", 1)
		case "/read":
			_, err = sesame.Lookup[int](s, "n")
			if errors.Is(err, sesame.ErrNoKey) {
				err = nil
			}
		case "/update":
			_, err = sesame.Update(s, "n", func(n int) (int, error) { return n + 1, nil })
		case "/login":
			err = s.Login(r.URL.Query().Get("user"))
		case "/renew":
			err = s.Renew()
		case "/reauth":
			err = s.Reauthenticate()
		case "/destroy":
			err = s.Destroy()
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := e.tracer.Start(r.Context(), "request")
		defer span.End()
		app.ServeHTTP(w, r.WithContext(ctx))
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// get requests path with *cookie (if any), and sets *cookie from the
// response's session cookie. It returns the status code.
func (e *env) get(path string, cookie *string) int {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if *cookie != "" {
		req.Header.Set("Cookie", *cookie)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name != e.m.Name() {
			continue
		}
		if c.Value == "" {
			*cookie = ""
			continue
		}
		e.tokens = append(e.tokens, c.Value)
		*cookie = c.Name + "=" + c.Value
	}
	return resp.StatusCode
}

// collect returns the metrics recorded so far.
func (e *env) collect() metricdata.ResourceMetrics {
	e.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := e.reader.Collect(context.Background(), &rm); err != nil {
		e.t.Fatal(err)
	}
	return rm
}

// snapshot is the metrics at one time: the event counter by kind (and, for
// store_failed, operation and error type), and the number of store calls
// by "op|phase" (and "|outcome=..." or "|error.type=...").
type snapshot struct {
	events map[string]int64
	calls  map[string]uint64
}

func (e *env) snapshot() snapshot {
	e.t.Helper()
	s := snapshot{events: map[string]int64{}, calls: map[string]uint64{}}
	for _, sm := range e.collect().ScopeMetrics {
		if sm.Scope.Name != otelsesame.ScopeName {
			e.t.Errorf("scope %q, want %q", sm.Scope.Name, otelsesame.ScopeName)
		}
		for _, m := range sm.Metrics {
			switch m.Name {
			case otelsesame.EventsMetric:
				sum, ok := m.Data.(metricdata.Sum[int64])
				if !ok || !sum.IsMonotonic {
					e.t.Fatalf("%s is a %T, want a monotonic Sum[int64]", m.Name, m.Data)
				}
				for _, dp := range sum.DataPoints {
					s.events[eventKey(dp.Attributes)] += dp.Value
				}
			case otelsesame.StoreDurationMetric:
				h, ok := m.Data.(metricdata.Histogram[float64])
				if !ok {
					e.t.Fatalf("%s is a %T, want a Histogram[float64]", m.Name, m.Data)
				}
				if m.Unit != "s" {
					e.t.Errorf("%s unit %q, want s", m.Name, m.Unit)
				}
				for _, dp := range h.DataPoints {
					if st, _ := dp.Attributes.Value(otelsesame.StoreAttr); st.AsString() != storeType {
						e.t.Errorf("%s: sesame.store %q, want %q", m.Name, st.AsString(), storeType)
					}
					s.calls[callKey(dp.Attributes)] += dp.Count
				}
			default:
				e.t.Errorf("unexpected metric %q", m.Name)
			}
		}
	}
	return s
}

func str(set attribute.Set, k attribute.Key) string {
	v, _ := set.Value(k)
	return v.AsString()
}

func eventKey(set attribute.Set) string {
	k := str(set, otelsesame.EventAttr)
	if op := str(set, otelsesame.OperationAttr); op != "" {
		k += "|" + op + "|" + str(set, otelsesame.ErrorTypeAttr)
	}
	return k
}

func callKey(set attribute.Set) string {
	k := str(set, otelsesame.OperationAttr) + "|" + str(set, otelsesame.PhaseAttr)
	if out := str(set, otelsesame.OutcomeAttr); out != "" {
		k += "|outcome=" + out
	}
	if typ := str(set, otelsesame.ErrorTypeAttr); typ != "" {
		k += "|error.type=" + typ
	}
	return k
}

// diff returns what b counts beyond a.
func diff[V int64 | uint64](a, b map[string]V) map[string]V {
	d := map[string]V{}
	for k, v := range b {
		if v != a[k] {
			d[k] = v - a[k]
		}
	}
	return d
}

func count[V int64 | uint64](keys ...string) map[string]V {
	m := map[string]V{}
	for _, k := range keys {
		m[k]++
	}
	return m
}

// A step of TestManagerLifecycle: what it does, then the store calls
// ("op|phase", in order) and events (kinds, in order) it must cause.
type step struct {
	name   string
	do     func(context.Context) // with the span "manager", for a Manager method
	http   func() int            // or a request, returning its status
	status int                   // want, for http
	calls  []string
	events []string
}

// TestManagerLifecycle drives a Manager through every lifecycle event and
// a store failure, and checks after each step the counters, the histogram's
// data points per operation and phase, the store spans and the span events.
func TestManagerLifecycle(t *testing.T) {
	e := newEnv(t, sesame.Config{})
	var a, b, c, d string // the cookies of four clients
	random := make([]byte, 32)
	_, _ = rand.Read(random)
	unknown := e.m.Name() + "=" + base64.RawURLEncoding.EncodeToString(random)
	var listed []sesame.Info
	ctx := context.Background()
	steps := []step{
		{name: "create", http: func() int { return e.get("/put", &a) }, status: 200,
			calls: []string{"save|commit"}, events: []string{"created"}},
		{name: "read", http: func() int { return e.get("/read", &a) }, status: 200,
			calls: []string{"load|load"}},
		{name: "update", http: func() int { return e.get("/update", &a) }, status: 200,
			calls: []string{"load|load", "update|update"}},
		{name: "login", http: func() int { return e.get("/login?user=alice", &a) }, status: 200,
			calls: []string{"load|commit", "renew|commit"}, events: []string{"logged_in"}},
		{name: "renew", http: func() int { return e.get("/renew", &a) }, status: 200,
			calls: []string{"load|commit", "renew|commit"}, events: []string{"renewed"}},
		{name: "reauthenticate", http: func() int { return e.get("/reauth", &a) }, status: 200,
			calls: []string{"load|load", "renew|commit"}, events: []string{"reauthenticated"}},
		{name: "unknown cookie", http: func() int { return e.get("/read", &unknown) }, status: 200,
			calls: []string{"load|load|outcome=not_found"}},
		{name: "destroy", http: func() int { return e.get("/destroy", &a) }, status: 200,
			calls: []string{"load|commit", "delete|commit"}, events: []string{"destroyed"}},
		{name: "login B", http: func() int { return e.get("/login?user=alice", &b) }, status: 200,
			calls: []string{"save|commit"}, events: []string{"created", "logged_in"}},
		{name: "login C", http: func() int { return e.get("/login?user=alice", &c) }, status: 200,
			calls: []string{"save|commit"}, events: []string{"created", "logged_in"}},
		{name: "sessions", do: func(ctx context.Context) {
			var err error
			if listed, err = e.m.Sessions(ctx, "alice"); err != nil || len(listed) != 2 {
				t.Fatalf("Sessions(alice) = %d sessions, %v; want 2", len(listed), err)
			}
		}, calls: []string{"sessions|manager"}},
		{name: "revoke", do: func(ctx context.Context) {
			if err := e.m.Revoke(ctx, "alice", listed[0].ID); err != nil {
				t.Fatal(err)
			}
		}, calls: []string{"sessions|manager", "delete|manager"}, events: []string{"revoked"}},
		{name: "revoke all", do: func(ctx context.Context) {
			if n, err := e.m.RevokeAll(ctx, "alice", ""); err != nil || n != 1 {
				t.Fatalf("RevokeAll = %d, %v; want 1, nil", n, err)
			}
		}, calls: []string{"delete user|manager"}, events: []string{"revoked_all"}},
		{name: "create D", http: func() int { return e.get("/put", &d) }, status: 200,
			calls: []string{"save|commit"}, events: []string{"created"}},
		{name: "store failure", http: func() int {
			e.store.fail.Store(true)
			defer e.store.fail.Store(false)
			return e.get("/read", &d)
		}, status: 500, calls: []string{"load|load|error.type=" + downType}, events: []string{"store_failed|load|" + downType}},
	}

	prev := e.snapshot()
	ended := 0
	var sessionIDs []string // from span events
	for _, st := range steps {
		var parent trace.SpanContext
		if st.http != nil {
			if got := st.http(); got != st.status {
				t.Fatalf("%s: status %d, want %d", st.name, got, st.status)
			}
		} else {
			ctx, span := e.tracer.Start(ctx, "manager")
			st.do(ctx)
			span.End()
			parent = span.SpanContext()
		}

		now := e.snapshot()
		if got, want := diff(prev.calls, now.calls), count[uint64](st.calls...); !maps.Equal(got, want) {
			t.Errorf("%s: store calls %v, want %v", st.name, got, want)
		}
		if got, want := diff(prev.events, now.events), count[int64](st.events...); !maps.Equal(got, want) {
			t.Errorf("%s: events %v, want %v", st.name, got, want)
		}
		prev = now

		// The step's spans: the store calls' in order, then their parent.
		spans := e.spans.Ended()[ended:]
		ended += len(spans)
		if len(spans) != len(st.calls)+1 {
			t.Fatalf("%s: %d spans, want %d", st.name, len(spans), len(st.calls)+1)
		}
		top := spans[len(spans)-1]
		if st.http != nil {
			parent = top.SpanContext()
		}
		if !top.SpanContext().Equal(parent) {
			t.Fatalf("%s: last span %q is not the step's", st.name, top.Name())
		}
		for i, call := range st.calls {
			checkStoreSpan(t, st.name, spans[i], call, parent)
		}
		var kinds []string
		for _, ev := range top.Events() {
			set := attribute.NewSet(ev.Attributes...)
			kind := str(set, otelsesame.EventAttr)
			if ev.Name != "sesame.session."+kind {
				t.Errorf("%s: span event %q has sesame.event %q", st.name, ev.Name, kind)
			}
			if id := str(set, otelsesame.SessionIDAttr); id != "" {
				sessionIDs = append(sessionIDs, id)
			} else if kind != "revoked_all" {
				t.Errorf("%s: span event %q has no session ID", st.name, ev.Name)
			}
			if kind == "revoked_all" {
				if n, _ := set.Value(otelsesame.CountAttr); n.AsInt64() != 1 {
					t.Errorf("%s: sesame.count %d, want 1", st.name, n.AsInt64())
				}
			}
			kinds = append(kinds, eventKey(set))
		}
		if !slices.Equal(kinds, st.events) {
			t.Errorf("%s: span events %v, want %v", st.name, kinds, st.events)
		}
		if st.name == "revoke" && !slices.Contains(sessionIDs, listed[0].ID) {
			t.Errorf("revoke: no span event has the revoked ID %s", listed[0].ID)
		}
	}

	if len(e.tokens) < 7 {
		t.Fatalf("saw %d tokens in Set-Cookie headers, want at least 7", len(e.tokens))
	}
	if len(sessionIDs) < 10 {
		t.Fatalf("saw %d session IDs on span events, want at least 10", len(sessionIDs))
	}
	rm := e.collect()
	checkBuckets(t, rm)
	secret := slices.Concat(e.tokens, []string{unknown[len(e.m.Name())+1:]})
	checkNoTokens(t, rm, e.spans.Ended(), secret)
	checkMetricCardinality(t, rm, slices.Concat(sessionIDs, []string{"alice"}))
}

// checkStoreSpan checks that s is the span of a store call ("op|phase",
// and an outcome or error type), a child of parent.
func checkStoreSpan(t *testing.T, step string, s sdktrace.ReadOnlySpan, call string, parent trace.SpanContext) {
	t.Helper()
	op, phase, _ := strings.Cut(call, "|")
	phase, extra, _ := strings.Cut(phase, "|")
	if s.Name() != "sesame "+op {
		t.Errorf("%s: span %q, want %q", step, s.Name(), "sesame "+op)
	}
	if s.SpanKind() != trace.SpanKindInternal {
		t.Errorf("%s: span %q kind %v, want internal", step, s.Name(), s.SpanKind())
	}
	if !s.Parent().Equal(parent) {
		t.Errorf("%s: span %q is not a child of the step's span", step, s.Name())
	}
	set := attribute.NewSet(s.Attributes()...)
	if str(set, otelsesame.StoreAttr) != storeType || str(set, otelsesame.OperationAttr) != op || str(set, otelsesame.PhaseAttr) != phase {
		t.Errorf("%s: span %q attributes %v", step, s.Name(), s.Attributes())
	}
	if typ, ok := strings.CutPrefix(extra, "error.type="); ok {
		if str(set, otelsesame.ErrorTypeAttr) != typ {
			t.Errorf("%s: span %q error.type %q, want %q", step, s.Name(), str(set, otelsesame.ErrorTypeAttr), typ)
		}
		if s.Status().Code != codes.Error {
			t.Errorf("%s: span %q status %v, want Error", step, s.Name(), s.Status())
		}
		if !slices.ContainsFunc(s.Events(), func(ev sdktrace.Event) bool { return ev.Name == "exception" }) {
			t.Errorf("%s: span %q recorded no error", step, s.Name())
		}
		return
	}
	if s.Status().Code != codes.Unset || len(s.Events()) != 0 {
		t.Errorf("%s: span %q status %v, events %v; want unset, none", step, s.Name(), s.Status(), s.Events())
	}
	out, _ := strings.CutPrefix(extra, "outcome=")
	if str(set, otelsesame.OutcomeAttr) != out {
		t.Errorf("%s: span %q sesame.outcome %q, want %q", step, s.Name(), str(set, otelsesame.OutcomeAttr), out)
	}
}

// checkBuckets checks the histogram's explicit bucket boundaries.
func checkBuckets(t *testing.T, rm metricdata.ResourceMetrics) {
	t.Helper()
	want := []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}
	seen := false
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok {
				for _, dp := range h.DataPoints {
					seen = true
					if !slices.Equal(dp.Bounds, want) {
						t.Fatalf("bounds %v, want %v", dp.Bounds, want)
					}
				}
			}
		}
	}
	if !seen {
		t.Fatal("no histogram data point")
	}
}

// attrValues returns every attribute value of the metrics and the spans
// (their attributes, events, links and status), as strings, with where
// each was found.
func attrValues(rm metricdata.ResourceMetrics, spans []sdktrace.ReadOnlySpan) map[string][]string {
	vals := map[string][]string{}
	add := func(where string, kvs ...attribute.KeyValue) {
		for _, kv := range kvs {
			vals[kv.Value.String()] = append(vals[kv.Value.String()], where+": "+string(kv.Key))
		}
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, set := range metricSets(m) {
				add("metric "+m.Name, set.ToSlice()...)
			}
		}
	}
	for _, s := range spans {
		where := "span " + s.Name()
		vals[s.Name()] = append(vals[s.Name()], where+": name")
		vals[s.Status().Description] = append(vals[s.Status().Description], where+": status")
		add(where, s.Attributes()...)
		for _, ev := range s.Events() {
			vals[ev.Name] = append(vals[ev.Name], where+": event name")
			add(where+" event "+ev.Name, ev.Attributes...)
		}
		for _, l := range s.Links() {
			add(where+" link", l.Attributes...)
		}
	}
	return vals
}

// metricSets returns the attribute sets of m's data points and exemplars.
func metricSets(m metricdata.Metrics) []attribute.Set {
	var sets []attribute.Set
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
			for _, ex := range dp.Exemplars {
				sets = append(sets, attribute.NewSet(ex.FilteredAttributes...))
			}
		}
	case metricdata.Histogram[float64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
			for _, ex := range dp.Exemplars {
				sets = append(sets, attribute.NewSet(ex.FilteredAttributes...))
			}
		}
	}
	return sets
}

// checkNoTokens checks that no attribute value, span name, event name or
// status equals or contains a token.
func checkNoTokens(t *testing.T, rm metricdata.ResourceMetrics, spans []sdktrace.ReadOnlySpan, tokens []string) {
	t.Helper()
	vals := attrValues(rm, spans)
	if len(vals) < 10 {
		t.Fatalf("only %d distinct values to check", len(vals))
	}
	for v, where := range vals {
		for _, tok := range tokens {
			if tok != "" && strings.Contains(v, tok) {
				t.Errorf("a token is in %q (%v)", v, where)
			}
		}
	}
}

// checkMetricCardinality checks that the metrics carry only the documented,
// bounded attributes, and none of the given values (session IDs, users).
func checkMetricCardinality(t *testing.T, rm metricdata.ResourceMetrics, banned []string) {
	t.Helper()
	allowed := []attribute.Key{otelsesame.EventAttr, otelsesame.StoreAttr, otelsesame.OperationAttr,
		otelsesame.PhaseAttr, otelsesame.OutcomeAttr, otelsesame.ErrorTypeAttr}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, set := range metricSets(m) {
				for _, kv := range set.ToSlice() {
					if !slices.Contains(allowed, kv.Key) {
						t.Errorf("metric %s has attribute %s", m.Name, kv.Key)
					}
					for _, b := range banned {
						if strings.Contains(kv.Value.String(), b) {
							t.Errorf("metric %s attribute %s holds %q", m.Name, kv.Key, b)
						}
					}
				}
			}
		}
	}
}

// TestEvictionEvent checks the evicted event of Config.MaxSessionsPerUser:
// counted, on the span of the login that caused it, with the evicted ID.
func TestEvictionEvent(t *testing.T) {
	e := newEnv(t, sesame.Config{MaxSessionsPerUser: 1})
	var a, b string
	e.get("/login?user=bob", &a)
	first, err := e.m.Sessions(context.Background(), "bob")
	if err != nil || len(first) != 1 {
		t.Fatalf("Sessions(bob) = %v, %v; want one", first, err)
	}
	before := e.snapshot()
	if got := e.get("/login?user=bob", &b); got != 200 {
		t.Fatalf("second login: status %d", got)
	}
	after := e.snapshot()
	if got := diff(before.events, after.events); got["evicted"] != 1 {
		t.Errorf("events %v, want one evicted", got)
	}
	if got := diff(before.calls, after.calls); got["cap user|commit"] != 1 {
		t.Errorf("store calls %v, want one cap user|commit", got)
	}
	spans := e.spans.Ended()
	top := spans[len(spans)-1]
	found := false
	for _, ev := range top.Events() {
		set := attribute.NewSet(ev.Attributes...)
		if ev.Name == "sesame.session.evicted" && str(set, otelsesame.SessionIDAttr) == first[0].ID {
			found = true
		}
	}
	if !found {
		t.Errorf("no evicted span event with ID %s on %q: %v", first[0].ID, top.Name(), top.Events())
	}
	checkNoTokens(t, e.collect(), spans, e.tokens)
}

// TestStoreCallErrors checks how StartStore's end func classifies errors:
// the answers of normal operation as an outcome (no error, status unset),
// and failures with an error.type, an Error status and the error recorded.
func TestStoreCallErrors(t *testing.T) {
	for _, tt := range []struct {
		name    string
		err     error
		outcome string
		errType string
	}{
		{"success", nil, "", ""},
		{"not found", fmt.Errorf("x: %w", driver.ErrNotFound), "not_found", ""},
		{"expired", fmt.Errorf("x: %w: %w", driver.ErrNotFound, driver.ErrExpired), "expired", ""},
		{"renewed", fmt.Errorf("x: %w", sesame.ErrRenewed), "renewed", ""},
		{"timeout", fmt.Errorf("x: %w", context.DeadlineExceeded), "", "timeout"},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), "", "canceled"},
		{"not supported", fmt.Errorf("x: %w", sesame.ErrNotSupported), "", "not_supported"},
		{"Go type, under fmt.Errorf", fmt.Errorf("a: %w", fmt.Errorf("b: %w", downError{})), "", downType},
		{"ErrorType method", typedError{}, "", "connection_reset"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reader := sdkmetric.NewManualReader()
			spans := tracetest.NewSpanRecorder()
			obs, err := otelsesame.New(otelsesame.Options{
				MeterProvider:  sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
				TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)),
			})
			if err != nil {
				t.Fatal(err)
			}
			call := sesame.StoreCall{Store: "*x.Store", Op: "load", Phase: "load"}
			ctx, end := obs.StartStore(context.Background(), call)
			if !trace.SpanFromContext(ctx).IsRecording() {
				t.Fatal("StartStore's context holds no recording span")
			}
			end(tt.err)

			var rm metricdata.ResourceMetrics
			if err := reader.Collect(context.Background(), &rm); err != nil {
				t.Fatal(err)
			}
			dps := rm.ScopeMetrics[0].Metrics[0].Data.(metricdata.Histogram[float64]).DataPoints
			if len(dps) != 1 || dps[0].Count != 1 {
				t.Fatalf("data points %v, want one of count 1", dps)
			}
			want := map[attribute.Key]string{otelsesame.StoreAttr: "*x.Store", otelsesame.OperationAttr: "load", otelsesame.PhaseAttr: "load"}
			if tt.outcome != "" {
				want[otelsesame.OutcomeAttr] = tt.outcome
			}
			if tt.errType != "" {
				want[otelsesame.ErrorTypeAttr] = tt.errType
			}
			if got := asMap(dps[0].Attributes.ToSlice()); !maps.Equal(got, want) {
				t.Errorf("histogram attributes %v, want %v", got, want)
			}
			s := spans.Ended()[0]
			if got := asMap(s.Attributes()); !maps.Equal(got, want) {
				t.Errorf("span attributes %v, want %v", got, want)
			}
			if tt.errType == "" {
				if s.Status().Code != codes.Unset || len(s.Events()) != 0 {
					t.Errorf("status %v, events %v; want unset and none", s.Status(), s.Events())
				}
				return
			}
			if s.Status().Code != codes.Error || s.Status().Description != tt.err.Error() {
				t.Errorf("status %v, want Error %q", s.Status(), tt.err.Error())
			}
			if len(s.Events()) != 1 || s.Events()[0].Name != "exception" {
				t.Errorf("events %v, want one exception", s.Events())
			}
		})
	}
}

// typedError has an ErrorType method, which the semantic conventions' use
// for error.type.
type typedError struct{}

func (typedError) Error() string     { return "connection reset" }
func (typedError) ErrorType() string { return "connection_reset" }

func asMap(kvs []attribute.KeyValue) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value.String()
	}
	return m
}

// TestEventWithoutSpan checks that an event is counted when its context has
// no span, and that a recording span gets it with the session ID.
func TestEventWithoutSpan(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	obs, err := otelsesame.New(otelsesame.Options{
		MeterProvider:  sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		TracerProvider: tp,
	})
	if err != nil {
		t.Fatal(err)
	}
	obs.Event(context.Background(), sesame.Event{Kind: sesame.EventExpired, ID: "id1"})
	ctx, span := tp.Tracer("test").Start(context.Background(), "request")
	obs.Event(ctx, sesame.Event{Kind: sesame.EventExpired, ID: "id2", User: "carol"})
	span.End()

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	dps := rm.ScopeMetrics[0].Metrics[0].Data.(metricdata.Sum[int64]).DataPoints
	if len(dps) != 1 || dps[0].Value != 2 || str(dps[0].Attributes, otelsesame.EventAttr) != "expired" {
		t.Fatalf("data points %v, want expired: 2", dps)
	}
	evs := spans.Ended()[0].Events()
	if len(evs) != 1 || evs[0].Name != "sesame.session.expired" {
		t.Fatalf("span events %v, want one sesame.session.expired", evs)
	}
	if got, want := asMap(evs[0].Attributes), map[attribute.Key]string{otelsesame.EventAttr: "expired", otelsesame.SessionIDAttr: "id2"}; !maps.Equal(got, want) {
		t.Errorf("span event attributes %v, want %v (and never the user)", got, want)
	}
}

// TestGlobalProviders checks that nil providers mean the otel globals.
func TestGlobalProviders(t *testing.T) {
	oldMP, oldTP := otel.GetMeterProvider(), otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetMeterProvider(oldMP); otel.SetTracerProvider(oldTP) })
	reader := sdkmetric.NewManualReader()
	spans := tracetest.NewSpanRecorder()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)))

	obs, err := otelsesame.New(otelsesame.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, end := obs.StartStore(context.Background(), sesame.StoreCall{Store: "*x.Store", Op: "save", Phase: "commit"})
	end(nil)
	obs.Event(context.Background(), sesame.Event{Kind: sesame.EventCreated})

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	if len(rm.ScopeMetrics) != 1 || len(rm.ScopeMetrics[0].Metrics) != 2 {
		t.Fatalf("global meter provider got %v, want the 2 metrics", rm.ScopeMetrics)
	}
	if got := spans.Ended(); len(got) != 1 || got[0].Name() != "sesame save" {
		t.Fatalf("global tracer provider got %d spans, want sesame save", len(got))
	}
}
