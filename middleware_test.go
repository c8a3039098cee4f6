package sesame_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/memstore"
	"github.com/sesame-go/sesame/sesametest"
)

// countingStore counts the calls made to a memstore.
type countingStore struct {
	*memstore.Store
	calls atomic.Int64
	fail  atomic.Bool // every call fails
}

var errDown = errors.New("store is down")

func (c *countingStore) count() error {
	c.calls.Add(1)
	if c.fail.Load() {
		return errDown
	}
	return nil
}

func (c *countingStore) Load(ctx context.Context, id string) (*driver.Record, error) {
	if err := c.count(); err != nil {
		return nil, err
	}
	return c.Store.Load(ctx, id)
}

func (c *countingStore) Save(ctx context.Context, id string, r *driver.Record) error {
	if err := c.count(); err != nil {
		return err
	}
	return c.Store.Save(ctx, id, r)
}

func (c *countingStore) Apply(ctx context.Context, id string, d *driver.Delta) (bool, error) {
	if err := c.count(); err != nil {
		return false, err
	}
	return c.Store.Apply(ctx, id, d)
}

func (c *countingStore) Renew(ctx context.Context, oldID, newID string, d *driver.Delta) error {
	if err := c.count(); err != nil {
		return err
	}
	return c.Store.Renew(ctx, oldID, newID, d)
}

func (c *countingStore) Delete(ctx context.Context, id string) (bool, error) {
	if err := c.count(); err != nil {
		return false, err
	}
	return c.Store.Delete(ctx, id)
}

func newCounting(t *testing.T) *countingStore {
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	return &countingStore{Store: st}
}

func newManager(t *testing.T, st driver.Store, cfg sesame.Config) *sesame.Manager {
	cfg.Store = st
	cfg.Insecure = true
	return sesame.New(cfg)
}

func TestUntouchedRequestMakesNoStoreCalls(t *testing.T) {
	st := newCounting(t)
	c := sesametest.NewClient(t, newManager(t, st, sesame.Config{}))
	c.Put("k", "v") // now the client has a valid cookie
	before := st.calls.Load()
	resp := c.Do(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	if n := st.calls.Load() - before; n != 0 {
		t.Errorf("untouched request made %d store calls, want 0", n)
	}
	if len(resp.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("untouched request set a cookie: %v", resp.Header)
	}
	// The response started while the handler ran, so it may yet read the
	// session: caches must key it by the cookie.
	if v := resp.Header.Values("Vary"); len(v) != 1 || v[0] != "Cookie" {
		t.Errorf("Vary = %q, want [Cookie]", v)
	}
	// A request without the cookie whose handler returned before anything
	// was written is known not to depend on the session.
	resp = sesametest.NewClient(t, c.Manager).Do(func(w http.ResponseWriter, r *http.Request) {})
	if len(resp.Header) != 0 {
		t.Errorf("an untouched request without a cookie set headers: %v", resp.Header)
	}
}

func TestReadWithinTouchIntervalWritesNothing(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
		want     int64 // store calls of a read-only request
	}{
		{"touch not due: load only", time.Hour, 1},
		{"touch due: load and touch", -1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newCounting(t)
			c := sesametest.NewClient(t, newManager(t, st, sesame.Config{TouchInterval: tc.interval}))
			c.Put("k", "v")
			before := st.calls.Load()
			c.Has("k")
			if n := st.calls.Load() - before; n != tc.want {
				t.Errorf("read-only request made %d store calls, want %d", n, tc.want)
			}
		})
	}
}

func TestPutFlushWriteSendsTheCookie(t *testing.T) {
	m := newManager(t, newCounting(t), sesame.Config{})
	rec := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sesame.FromContext(r.Context()).Put("k", "v")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "body")
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if !rec.Flushed {
		t.Fatal("the flush did not reach the underlying writer")
	}
	if sesametest.SetCookie(rec.Result(), m.Name()) == "" {
		t.Error("Put, Flush, Write sent no Set-Cookie")
	}
}

func TestChangeAfterTheBodyStartedIsReported(t *testing.T) {
	st := newCounting(t)
	m := newManager(t, st, sesame.Config{})
	c := sesametest.NewClient(t, m)
	var putErr, destroyErr error
	c.Do(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "body")
		s := sesame.FromContext(r.Context())
		putErr = s.Put("k", "v")
		destroyErr = s.Destroy()
	})
	if !errors.Is(putErr, sesame.ErrCommitted) || !errors.Is(destroyErr, sesame.ErrCommitted) {
		t.Errorf("Put after Write: %v; Destroy after Write: %v; want ErrCommitted", putErr, destroyErr)
	}
}

func TestInformationalStatusDoesNotCommit(t *testing.T) {
	m := newManager(t, newCounting(t), sesame.Config{})
	var lateErr error
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sesame.FromContext(r.Context())
		s.Put("early", 1)
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		lateErr = s.Put("late", 2)
		io.WriteString(w, "done")
	})))
	defer srv.Close()
	var got1xx []int
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
		got1xx = append(got1xx, code)
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), "GET", srv.URL, nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(got1xx) != 1 || got1xx[0] != 103 {
		t.Errorf("1xx responses: %v, want [103]", got1xx)
	}
	if lateErr != nil {
		t.Errorf("Put after a 103: %v, want nil: a 1xx must not commit", lateErr)
	}
	c := &sesametest.Client{Test: t, Manager: m}
	for _, ck := range resp.Cookies() {
		c.Cookie = ck.Value
	}
	if !c.Has("early") || !c.Has("late") {
		t.Error("the changes made around the 103 were not both saved")
	}
}

func TestStoreFailureGivesOneCleanError(t *testing.T) {
	st := newCounting(t)
	var handled error
	m := newManager(t, st, sesame.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		handled = err
		http.Error(w, "sessions unavailable", http.StatusServiceUnavailable)
	}})
	c := sesametest.NewClient(t, m)
	c.Put("k", "v")
	st.fail.Store(true)
	var writeErr error
	resp := c.Do(func(w http.ResponseWriter, r *http.Request) {
		if sesame.FromContext(r.Context()).Has("k") {
			t.Error("Has succeeded with the store down")
		}
		w.WriteHeader(http.StatusTeapot)
		_, writeErr = io.WriteString(w, "handler body")
	})
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(string(body), "handler body") {
		t.Errorf("got %d %q, want only the ErrorHandler's 503", resp.StatusCode, body)
	}
	var se *sesame.StoreError
	if !errors.As(handled, &se) || !errors.Is(handled, errDown) {
		t.Errorf("ErrorHandler got %v, want a *sesame.StoreError wrapping the store's error", handled)
	}
	if writeErr == nil {
		t.Error("the handler's Write after the error response reported no error")
	}
	// A request that does not touch the session is unaffected.
	if resp := c.Do(func(w http.ResponseWriter, r *http.Request) {}); resp.StatusCode != http.StatusOK {
		t.Errorf("untouched request with the store down: %d, want 200", resp.StatusCode)
	}
}

func TestDefaultErrorHandlerSends500(t *testing.T) {
	st := newCounting(t)
	c := sesametest.NewClient(t, newManager(t, st, sesame.Config{}))
	st.fail.Store(true)
	resp := c.Do(func(w http.ResponseWriter, r *http.Request) { sesame.FromContext(r.Context()).Put("k", 1) })
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", resp.StatusCode)
	}
}

func TestDoubleWriteHeaderIsDropped(t *testing.T) {
	m := newManager(t, newCounting(t), sesame.Config{})
	rec := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		w.WriteHeader(http.StatusInternalServerError)
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusCreated {
		t.Errorf("status %d, want the first one, 201", rec.Code)
	}
}

func TestResponseControllerReachesTheConnection(t *testing.T) {
	m := newManager(t, newCounting(t), sesame.Config{})
	var deadlineErr, hijackErr error
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		deadlineErr = rc.SetWriteDeadline(time.Now().Add(time.Minute))
		if r.URL.Path == "/hijack" {
			sesame.FromContext(r.Context()).Put("k", "v")
			var conn io.Closer
			var buf *bufio.ReadWriter
			conn, buf, hijackErr = rc.Hijack()
			if hijackErr == nil {
				buf.WriteString("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
				buf.Flush()
				conn.Close()
			}
		}
	})))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/hijack")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if deadlineErr != nil || hijackErr != nil {
		t.Errorf("through the middleware: SetWriteDeadline: %v, Hijack: %v", deadlineErr, hijackErr)
	}
}

func TestHijackAndReadFromCommitFirst(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(w http.ResponseWriter)
	}{
		{"ReadFrom", func(w http.ResponseWriter) { io.Copy(w, strings.NewReader("body")) }},
		{"Hijack", func(w http.ResponseWriter) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newCounting(t)
			m := newManager(t, st, sesame.Config{})
			var late error
			done := make(chan struct{})
			srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(done)
				s := sesame.FromContext(r.Context())
				s.Put("k", "v")
				tc.start(w)
				late = s.Put("late", 1)
			})))
			defer srv.Close()
			if resp, err := srv.Client().Get(srv.URL); err == nil {
				resp.Body.Close()
			}
			<-done
			if st.Len() != 1 {
				t.Errorf("%d sessions stored, want 1: %s must commit", st.Len(), tc.name)
			}
			if !errors.Is(late, sesame.ErrCommitted) {
				t.Errorf("Put after %s: %v, want ErrCommitted", tc.name, late)
			}
		})
	}
}

func TestOneRequestsGoroutinesShareTheSession(t *testing.T) {
	c := sesametest.NewClient(t, newManager(t, newCounting(t), sesame.Config{}))
	c.Session(func(s *sesame.Session) {
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				s.Put(string(rune('a'+i)), i)
				s.Has("a")
				s.Keys()
			})
		}
		wg.Wait()
	})
	c.Session(func(s *sesame.Session) {
		if n := len(s.Keys()); n != 16 {
			t.Errorf("%d keys, want 16", n)
		}
	})
}

func TestRequestIsNotModified(t *testing.T) {
	m := newManager(t, newCounting(t), sesame.Config{})
	req := httptest.NewRequest("GET", "/", nil)
	ctx := req.Context()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r == req {
			t.Error("the handler got the caller's *http.Request, not a clone")
		}
	})).ServeHTTP(httptest.NewRecorder(), req)
	if req.Context() != ctx || sesame.FromContext(req.Context()) != nil {
		t.Error("the caller's request was modified")
	}
}

func TestWithoutMiddlewareSessionReportsErrNoSession(t *testing.T) {
	s := sesame.FromContext(context.Background())
	if s != nil {
		t.Fatal("FromContext of a bare context is not nil")
	}
	if err := s.Put("k", 1); !errors.Is(err, sesame.ErrNoSession) {
		t.Errorf("Put on no session: %v", err)
	}
	if _, err := sesame.Lookup[int](s, "k"); !errors.Is(err, sesame.ErrNoSession) {
		t.Errorf("Lookup on no session: %v", err)
	}
	if s.Has("k") || s.ID() != "" || s.Keys() != nil {
		t.Error("a nil session claims content")
	}
}

func TestBadConfigPanicsInNew(t *testing.T) {
	st := memstore.New(memstore.Options{CleanupInterval: -1})
	for _, tc := range []struct {
		name string
		cfg  sesame.Config
	}{
		{"no store", sesame.Config{}},
		{"invalid name", sesame.Config{Store: st, Name: "a b"}},
		{"SameSite=None without Secure", sesame.Config{Store: st, Insecure: true, SameSite: http.SameSiteNoneMode}},
		{"Partitioned without Secure", sesame.Config{Store: st, Insecure: true, Partitioned: true}},
		{"__Host- with a Domain", sesame.Config{Store: st, Name: "__Host-s", Domain: "example.com"}},
		{"__host- in another case, without Secure", sesame.Config{Store: st, Name: "__host-s", Insecure: true}},
		{"__SECURE- without Secure", sesame.Config{Store: st, Name: "__SECURE-s", Insecure: true}},
		{"negative lifetime", sesame.Config{Store: st, Lifetime: -time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(r.(error).Error(), "sesame: ") {
					t.Errorf("New did not panic with a sesame error: %v", r)
				}
			}()
			sesame.New(tc.cfg)
		})
	}
}

func TestDefaultNameIsHostPrefixedWhenItCanBe(t *testing.T) {
	for _, tc := range []struct {
		cfg  sesame.Config
		want string
	}{
		{sesame.Config{}, "__Host-session"},
		{sesame.Config{Insecure: true}, "session"},
		{sesame.Config{Domain: "example.com"}, "session"},
		{sesame.Config{Path: "/app"}, "session"},
		{sesame.Config{Name: "sid"}, "sid"},
	} {
		tc.cfg.Store = memstore.New(memstore.Options{CleanupInterval: -1})
		if got := sesame.New(tc.cfg).Name(); got != tc.want {
			t.Errorf("%+v: Name() = %q, want %q", tc.cfg, got, tc.want)
		}
	}
}

func TestCookieAttributesFollowConfig(t *testing.T) {
	m := sesame.New(sesame.Config{Store: memstore.New(memstore.Options{CleanupInterval: -1}), Name: "__Host-id", Partitioned: true, SameSite: http.SameSiteStrictMode})
	resp := sesametest.NewClient(t, m).Put("k", 1)
	line := sesametest.SetCookie(resp, "__Host-id")
	for _, attr := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Strict", "Partitioned"} {
		if !strings.Contains(line, attr) {
			t.Errorf("Set-Cookie %q lacks %s", line, attr)
		}
	}
}

func TestUnknownCookieIsDeletedOnlyByALogout(t *testing.T) {
	// A read must leave an unknown cookie alone: it may be an in-flight
	// request's stale copy, and the browser may already hold a newer one.
	m := newManager(t, newCounting(t), sesame.Config{})
	c := &sesametest.Client{Test: t, Manager: m, Cookie: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
	resp := c.Session(func(s *sesame.Session) { s.Has("k") })
	if line := sesametest.SetCookie(resp, m.Name()); line != "" {
		t.Errorf("a read with an unknown token set %q, want no Set-Cookie", line)
	}
	resp = c.Session(func(s *sesame.Session) { s.Destroy() })
	if line := sesametest.SetCookie(resp, m.Name()); !strings.Contains(line, "Max-Age=0") {
		t.Errorf("a logout with an unknown token set %q, want the cookie deleted", line)
	}
}

// hungStore is a store whose every call waits for its context to end.
type hungStore struct{ calls atomic.Int64 }

func (h *hungStore) wait(ctx context.Context) error {
	h.calls.Add(1)
	<-ctx.Done()
	return ctx.Err()
}
func (h *hungStore) Load(ctx context.Context, id string) (*driver.Record, error) {
	return nil, h.wait(ctx)
}
func (h *hungStore) Save(ctx context.Context, id string, r *driver.Record) error { return h.wait(ctx) }
func (h *hungStore) Delete(ctx context.Context, id string) (bool, error)         { return false, h.wait(ctx) }

func TestStoreTimeoutBoundsTheLoadAndTheCommit(t *testing.T) {
	const timeout = 200 * time.Millisecond
	const bound = 5 * time.Second // real slack for a loaded machine
	st := &hungStore{}
	m := newManager(t, st, sesame.Config{StoreTimeout: timeout})
	for name, h := range map[string]func(s *sesame.Session){
		"load":   func(s *sesame.Session) { s.Has("k") },
		"commit": func(s *sesame.Session) { s.Put("k", 1) }, // a new session: Save
	} {
		t.Run(name, func(t *testing.T) {
			c := &sesametest.Client{Test: t, Manager: m, Cookie: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
			if name == "commit" {
				c.Cookie = ""
			}
			start := time.Now()
			resp := c.Do(func(w http.ResponseWriter, r *http.Request) { h(sesame.FromContext(r.Context())) })
			if took := time.Since(start); took > bound {
				t.Errorf("the request took %v with a %v store timeout", took, timeout)
			}
			if resp.StatusCode != http.StatusInternalServerError {
				t.Errorf("status %d, want 500 from the ErrorHandler", resp.StatusCode)
			}
		})
	}
	if st.calls.Load() != 2 {
		t.Errorf("%d store calls, want 2", st.calls.Load())
	}
}

func TestLoadEndedByTheRequestWritesNothing(t *testing.T) {
	// An outer middleware, like chi's Timeout, gives the request a
	// deadline and answers 504 when it passes. A load that failed only
	// because of that deadline must not answer 500 first.
	var logs strings.Builder
	m := sesame.New(sesame.Config{Store: &hungStore{}, Insecure: true, StoreTimeout: -1,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	var loadErr error
	app := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sesame.FromContext(r.Context())
		s.Has("k")
		loadErr = s.Err()
	}))
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 50*time.Millisecond)
		defer cancel()
		app.ServeHTTP(w, r.WithContext(ctx))
		if ctx.Err() == context.DeadlineExceeded {
			w.WriteHeader(http.StatusGatewayTimeout)
		}
	})
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", m.Name()+"=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	rec := httptest.NewRecorder()
	outer.ServeHTTP(rec, req)
	if rec.Code != http.StatusGatewayTimeout {
		t.Errorf("status %d, want the outer middleware's 504", rec.Code)
	}
	if !errors.Is(loadErr, context.DeadlineExceeded) {
		t.Errorf("the handler saw %v, want the load's deadline error", loadErr)
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("an ended request was logged as an error: %s", logs.String())
	}
}

// lateStore is a memstore whose calls leave a goroutine behind that looks
// at the call's context afterwards, as database/sql does.
// lateStore is a store that uses each call's context after the call has
// returned, as database/sql does from its own goroutines: once from a
// goroutine (for the race detector), and once more, checked, after the
// whole request has ended.
type lateStore struct {
	*memstore.Store
	wg sync.WaitGroup

	mu    sync.Mutex
	calls []lateCall
}

// lateCall is a context a call got, and its deadline then.
type lateCall struct {
	ctx      context.Context
	deadline time.Time
}

func (l *lateStore) late(ctx context.Context) {
	d, _ := ctx.Deadline()
	l.mu.Lock()
	l.calls = append(l.calls, lateCall{ctx, d})
	l.mu.Unlock()
	l.wg.Go(func() {
		select {
		case <-ctx.Done():
		default:
		}
		_ = ctx.Err()
		ctx.Deadline()
	})
}

// check fails t if a context used by a call has changed since: ended, or
// given another deadline, once the request that made the call is over.
func (l *lateStore) check(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, c := range l.calls {
		d, _ := c.ctx.Deadline()
		select {
		case <-c.ctx.Done():
			t.Errorf("call %d: its context is done after the request (%v)", i, c.ctx.Err())
		default:
		}
		if err := c.ctx.Err(); err != nil || !d.Equal(c.deadline) {
			t.Errorf("call %d: after the request its context has Err %v and deadline %v, want nil and %v", i, err, d, c.deadline)
		}
	}
	l.calls = l.calls[:0]
}

func (l *lateStore) Load(ctx context.Context, id string) (*driver.Record, error) {
	l.late(ctx)
	return l.Store.Load(ctx, id)
}

func (l *lateStore) Apply(ctx context.Context, id string, d *driver.Delta) (bool, error) {
	l.late(ctx)
	return l.Store.Apply(ctx, id, d)
}

func TestStoreMayUseTheContextAfterTheCall(t *testing.T) {
	st := &lateStore{Store: memstore.New(memstore.Options{CleanupInterval: -1})}
	m := newManager(t, st, sesame.Config{TouchInterval: -1})
	c := sesametest.NewClient(t, m)
	c.Put("n", 0)
	for range 20 { // a load, then a commit, each leaving a late reader
		c.Session(func(s *sesame.Session) {
			n, _ := sesame.Get[int](s, "n")
			s.Put("n", n+1)
		})
		st.check(t)
	}
	st.wg.Wait()
	c.Session(func(s *sesame.Session) {
		if n, _ := sesame.Get[int](s, "n"); n != 20 {
			t.Errorf("n = %d, want 20", n)
		}
	})
}

// lifetimeSealer is a Sealer that reports its lifetime, as cookiestore does.
type lifetimeSealer struct {
	driver.Sealer
	lifetime time.Duration
}

func (l lifetimeSealer) Lifetime() time.Duration { return l.lifetime }

func TestSealerLifetimeMustAgreeWithTheManager(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "shorter than Config.Lifetime 24h") {
			t.Errorf("New with a 24h Manager and an 8h Sealer: %v, want a panic naming both lifetimes", r)
		}
	}()
	sesame.New(sesame.Config{Sealer: lifetimeSealer{lifetime: 8 * time.Hour}, Lifetime: 24 * time.Hour})
}
