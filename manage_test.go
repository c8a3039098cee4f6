package sesame_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/cookiestore"
	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/memstore"
	"github.com/sesame-go/sesame/sesametest"
)

func TestClientIPIsKeptOnlyIfItIsAnAddress(t *testing.T) {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	for header, want := range map[string]string{
		"198.51.100.9":         "198.51.100.9",
		"::ffff:198.51.100.9":  "198.51.100.9",
		"<b>hi</b>":            "",
		"198.51.100.9, 10.0.0": "",
		// A zone is any text: dropped, never stored.
		"fe80::1%<img src=x onerror=alert(1)>": "fe80::1",
		"fe80::1%eth0":                         "fe80::1",
		"fe80::1%a\x00b":                       "fe80::1",
		"fe80::1%" + strings.Repeat("z", 6000): "",
		"::ffff:198.51.100.9%eth0":             "198.51.100.9",
	} {
		m := sesame.New(sesame.Config{Store: st, Insecure: true, ClientIP: func(r *http.Request) string { return r.Header.Get("X-Real-IP") }})
		var got sesame.Device
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = sesame.FromContext(r.Context()).Info().Device }))
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("X-Real-IP", header)
		req.Header.Set("User-Agent", "a\x00b\xffc")
		h.ServeHTTP(httptest.NewRecorder(), req)
		if got.IP != want {
			t.Errorf("ClientIP %.60q (%d bytes) kept as %.60q, want %q", header, len(header), got.IP, want)
		}
		if got.UserAgent != "ab\uFFFDc" {
			t.Errorf("User-Agent kept as %q, want NUL dropped and invalid UTF-8 replaced", got.UserAgent)
		}
	}
}

func TestUserAgentIsTruncatedAtARuneBoundary(t *testing.T) {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	m := sesame.New(sesame.Config{Store: st, Insecure: true})
	c := sesametest.NewClient(t, m)
	c.UserAgent = strings.Repeat("é", 200) // 400 bytes
	var got sesame.Device
	var label string
	c.Session(func(s *sesame.Session) { got, label = s.Info().Device, s.Info().Label })
	if len(got.UserAgent) != driver.MaxUserAgentLen || got.UserAgent != strings.Repeat("é", 128) {
		t.Errorf("kept %d bytes, want %d whole runes", len(got.UserAgent), driver.MaxUserAgentLen/2)
	}
	if len(label) > 51 || !strings.HasSuffix(label, "…") {
		t.Errorf("default label %q: want the User-Agent cut short", label)
	}
}

func TestDeviceLabelIsConfigurable(t *testing.T) {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	label := func(ua string) string {
		if ua == "known" {
			return "Known Browser"
		}
		return ""
	}
	m := sesame.New(sesame.Config{Store: st, Insecure: true, DeviceLabel: label})
	for ua, want := range map[string]string{"known": "Known Browser", "": "Unknown device", "other": "other"} {
		c := sesametest.NewClient(t, m)
		c.UserAgent = ua
		user := "u-" + ua
		c.Login(user)
		list, err := m.Sessions(t.Context(), user)
		if err != nil || len(list) != 1 {
			t.Fatal(list, err)
		}
		if list[0].Label != want {
			t.Errorf("label of %q: %q, want %q", ua, list[0].Label, want)
		}
	}
}

func TestRequireFreshRedirects(t *testing.T) {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	m := sesame.New(sesame.Config{Store: st, Insecure: true})
	guard := sesame.RequireFresh(time.Minute, http.RedirectHandler("/reauth", http.StatusSeeOther))
	h := guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("a stale request got through") }))
	c := sesametest.NewClient(t, m)
	if resp := c.Do(h.ServeHTTP); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/reauth" {
		t.Errorf("status %d to %q, want 303 to /reauth", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestSetUserDoesNotCarryAnotherUsersFreshness(t *testing.T) {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	m := sesame.New(sesame.Config{Store: st, Insecure: true})
	c := sesametest.NewClient(t, m)
	c.Login("alice")
	c.Session(func(s *sesame.Session) {
		s.SetUser("bob")
		if !s.Info().AuthenticatedAt.IsZero() || s.Fresh(time.Hour) {
			t.Error("a SetUser to another user kept the first user's AuthenticatedAt")
		}
	})
}

func TestCapNeedsAUserCapper(t *testing.T) {
	key, err := cookiestore.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := cookiestore.New(cookiestore.Options{Keys: []cookiestore.Key{key}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(error).Error(), "UserCapper") {
			t.Errorf("New with a cap and a Sealer: recovered %v, want a panic naming UserCapper", r)
		}
	}()
	sesame.New(sesame.Config{Sealer: sealer, MaxSessionsPerUser: 2})
}

// observed is an Observer that also times store calls.
type observed struct {
	mu     sync.Mutex
	events []sesame.Event
	calls  []sesame.StoreCall
	errs   []error
}

func (o *observed) Event(_ context.Context, e sesame.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, e)
}

func (o *observed) StartStore(ctx context.Context, c sesame.StoreCall) (context.Context, func(error)) {
	return ctx, func(err error) {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.calls = append(o.calls, c)
		o.errs = append(o.errs, err)
	}
}

func (o *observed) kinds() []sesame.EventKind {
	o.mu.Lock()
	defer o.mu.Unlock()
	var k []sesame.EventKind
	for _, e := range o.events {
		k = append(k, e.Kind)
	}
	return k
}

func TestStoreCallsAreTimedByPhase(t *testing.T) {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	obs := &observed{}
	m := sesame.New(sesame.Config{Store: st, Insecure: true, Observer: obs})
	c := sesametest.NewClient(t, m)
	c.Put("n", 1)                                   // save
	c.Has("n")                                      // load
	c.Put("n", 2)                                   // blind apply
	c.Session(func(s *sesame.Session) { s.User() }) // load
	c.Session(func(s *sesame.Session) { sesame.Update(s, "n", func(n int) (int, error) { return n + 1, nil }) })
	m.Sessions(t.Context(), "nobody")
	want := []sesame.StoreCall{
		{Op: "save", Phase: "commit"}, {Op: "load", Phase: "load"}, {Op: "apply", Phase: "commit"},
		{Op: "load", Phase: "load"}, {Op: "load", Phase: "load"}, {Op: "update", Phase: "update"},
		{Op: "sessions", Phase: "manager"},
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.calls) != len(want) {
		t.Fatalf("store calls %+v, want %+v", obs.calls, want)
	}
	for i, c := range obs.calls {
		if c.Op != want[i].Op || c.Phase != want[i].Phase || c.Store != "*memstore.Store" {
			t.Errorf("call %d: %+v, want %+v on *memstore.Store", i, c, want[i])
		}
	}
}

func TestStoreFailureIsAnEvent(t *testing.T) {
	st := &countingStore{Store: memstore.New(memstore.Options{})}
	defer st.Close()
	obs := &observed{}
	m := sesame.New(sesame.Config{Store: st, Insecure: true, Observer: obs})
	c := sesametest.NewClient(t, m)
	c.Put("n", 1)
	st.fail.Store(true)
	resp := c.Do(func(w http.ResponseWriter, r *http.Request) { sesame.FromContext(r.Context()).Has("n") })
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", resp.StatusCode)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	n := 0
	for _, e := range obs.events {
		if e.Kind == sesame.EventStoreFailed {
			n++
			if !errors.Is(e.Err, errDown) {
				t.Errorf("store_failed event with %v, want the store's error", e.Err)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d store_failed events for one failed load, want 1", n)
	}
}

func TestExpiredFiresWhenTheStoreCanTell(t *testing.T) {
	st := memstore.New(memstore.Options{CleanupInterval: -1})
	defer st.Close()
	obs := &observed{}
	const idle = 20 * time.Millisecond
	m := sesame.New(sesame.Config{Store: st, Insecure: true, IdleTimeout: idle, Observer: obs})
	c := sesametest.NewClient(t, m)
	var id string
	c.Login("alice")
	c.Session(func(s *sesame.Session) { id = s.ID() })
	time.Sleep(3 * idle) // waiting longer only makes it more expired
	c.Session(func(s *sesame.Session) {
		if s.User() != "" {
			t.Fatal("the session outlived its idle timeout")
		}
	})
	obs.mu.Lock()
	defer obs.mu.Unlock()
	for _, e := range obs.events {
		if e.Kind == sesame.EventExpired && e.ID == id {
			return
		}
	}
	t.Errorf("no expired event for the session; got %v", obs.events)
}

func TestRefusedLoginDeletesItsCookie(t *testing.T) {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	obs := &observed{}
	m := sesame.New(sesame.Config{Store: st, Insecure: true, MaxSessionsPerUser: 1, CapPolicy: sesame.CapRefuse, Observer: obs})
	sesametest.NewClient(t, m).Login("alice")
	c := sesametest.NewClient(t, m)
	c.Put("pre", 1)
	resp := c.Do(func(w http.ResponseWriter, r *http.Request) { sesame.FromContext(r.Context()).Login("alice") })
	if resp.StatusCode != http.StatusForbidden || c.Cookie != "" {
		t.Errorf("refused login: status %d, cookie %q; want 403 and the cookie deleted", resp.StatusCode, c.Cookie)
	}
	if list, _ := m.Sessions(t.Context(), "alice"); len(list) != 1 {
		t.Errorf("alice has %d sessions, want the first alone", len(list))
	}
	k := obs.kinds()
	if len(k) == 0 || k[len(k)-1] != sesame.EventEvicted {
		t.Errorf("events %v, want the refusal reported as evicted", k)
	}
}

func TestUpdatesOwnErrorIsNoStoreFailure(t *testing.T) {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	obs := &observed{}
	m := sesame.New(sesame.Config{Store: st, Insecure: true, Observer: obs})
	c := sesametest.NewClient(t, m)
	c.Put("n", 1)
	boom := errors.New("boom")
	c.Session(func(s *sesame.Session) {
		if _, err := sesame.Update(s, "n", func(int) (int, error) { return 0, boom }); !errors.Is(err, boom) {
			t.Errorf("Update: %v, want boom", err)
		}
	})
	obs.mu.Lock()
	defer obs.mu.Unlock()
	for i, c := range obs.calls {
		if c.Op == "update" && obs.errs[i] != nil {
			t.Errorf("the update call ended with %v, want nil: the error is the caller's", obs.errs[i])
		}
	}
	for _, e := range obs.events {
		if e.Kind == sesame.EventStoreFailed {
			t.Errorf("a store_failed event for the caller's own error: %v", e.Err)
		}
	}
}
