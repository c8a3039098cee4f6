package sesametest

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
)

// deadMargin is how long past a session's end a test waits before checking
// that it has ended, for stores whose expiry lags a little (Redis expires
// keys in a background cycle). Checks that a session is still live are made
// against the time measured around them, never against a fixed sleep, so a
// stalled machine can only skip such a check, never fail it.
const deadMargin = 250 * time.Millisecond

// httpTests run requests through a Manager on the store, as an app would.
var httpTests = []test{
	{"NewSessionGetsASecureCookie", func(t *testing.T, b backend) {
		m := manager(t, b, sesame.Config{})
		resp := NewClient(t, m).Put("k", "v")
		checkCookie(t, resp, m.Name())
		if strings.Contains(SetCookie(resp, m.Name()), "Max-Age") {
			t.Error("a session-only cookie has Max-Age")
		}
	}},
	{"UntouchedRequestSetsNoCookie", func(t *testing.T, b backend) {
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Put("k", "v")
		resp := c.Do(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hi")) })
		if h := resp.Header.Values("Set-Cookie"); len(h) > 0 {
			t.Errorf("untouched request set %q", h)
		}
	}},
	{"ReadOnlyRequestSetsNoCookie", func(t *testing.T, b backend) {
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Put("k", "v")
		resp := c.Session(func(s *sesame.Session) {
			if v, _ := sesame.Get[string](s, "k"); v != "v" {
				t.Errorf("k = %q, want v", v)
			}
		})
		if h := resp.Header.Values("Set-Cookie"); len(h) > 0 {
			t.Errorf("read-only request before a touch is due set %q", h)
		}
	}},
	{"ValuesKeepTheirTypes", func(t *testing.T, b backend) {
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Session(func(s *sesame.Session) {
			for k, v := range typedValues {
				s.Put(k, v)
			}
		})
		c.Session(func(s *sesame.Session) { checkTypedValues(t, s) })
		// A change to another key must not disturb the stored types.
		c.Put("other", 1)
		c.Session(func(s *sesame.Session) { checkTypedValues(t, s) })
	}},
	{"UpdatesPersistAcrossRequests", func(t *testing.T, b backend) {
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		for range 3 {
			c.Session(func(s *sesame.Session) {
				n, _ := sesame.Get[int](s, "n")
				s.Put("n", n+1)
			})
		}
		c.Session(func(s *sesame.Session) {
			if n, _ := sesame.Get[int](s, "n"); n != 3 {
				t.Errorf("n = %d after 3 increments", n)
			}
		})
	}},
	{"PopReturnsAndDeletes", func(t *testing.T, b backend) {
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Session(func(s *sesame.Session) { s.Put("flash", "saved"); s.Put("keep", 1) })
		c.Session(func(s *sesame.Session) {
			if v, ok := sesame.Pop[string](s, "flash"); !ok || v != "saved" {
				t.Errorf("Pop = %q, %v", v, ok)
			}
		})
		if c.Has("flash") {
			t.Error("the popped key is still there")
		}
	}},
	{"EmptiedSessionDeletesItsCookie", func(t *testing.T, b backend) {
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Put("k", "v")
		old := c.Cookie
		resp := c.Session(func(s *sesame.Session) { s.Delete("k") })
		checkDeleted(t, resp, m.Name())
		if b.store != nil {
			replay := &Client{Test: t, Manager: m, Cookie: old}
			if replay.Has("k") {
				t.Error("the emptied session's record still answers")
			}
		}
	}},
	{"DestroyEndsTheSession", func(t *testing.T, b backend) {
		u := unique()
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Login(u("alice"))
		c.Put("k", "v")
		old := c.Cookie
		resp := c.Session(func(s *sesame.Session) { s.Destroy() })
		checkDeleted(t, resp, m.Name())
		needStore(t, b, "the old cookie stays valid until it expires unless a RevocationStore revokes the user's sessions")
		replay := &Client{Test: t, Manager: m, Cookie: old}
		replay.Session(func(s *sesame.Session) {
			if s.Has("k") || s.User() != "" {
				t.Error("a destroyed session came back on replay")
			}
		})
	}},
	{"RenewIssuesANewTokenAndKeepsData", func(t *testing.T, b backend) {
		u := unique()
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Put("cart", "3 apples")
		old := c.Cookie
		c.Login(u("alice"))
		if c.Cookie == "" || c.Cookie == old {
			t.Fatal("Renew did not send a new cookie")
		}
		c.Session(func(s *sesame.Session) {
			if v, _ := sesame.Get[string](s, "cart"); v != "3 apples" || s.User() != u("alice") {
				t.Errorf("after Renew: cart %q, user %q", v, s.User())
			}
		})
		needStore(t, b, "the old cookie stays valid until it expires")
		replay := &Client{Test: t, Manager: m, Cookie: old}
		if replay.Has("cart") {
			t.Error("the token from before Renew still works")
		}
	}},
	{"UnknownTokenIsNotAdopted", func(t *testing.T, b backend) {
		m := manager(t, b, sesame.Config{})
		planted := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // a well-formed token
		c := &Client{Test: t, Manager: m, Cookie: planted}
		c.Put("k", "v")
		if c.Cookie == planted || c.Cookie == "" {
			t.Errorf("cookie after Put = %q: the planted token was adopted", c.Cookie)
		}
		if !c.Has("k") {
			t.Error("the new session lost its value")
		}
	}},
	{"TamperedCookieGivesAnEmptySession", func(t *testing.T, b backend) {
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Put("k", "v")
		good := c.Cookie
		for i := range len(good) {
			for _, flip := range []byte{0x01, 0x20} {
				bad := []byte(good)
				bad[i] ^= flip
				if string(bad) == good {
					continue
				}
				tc := &Client{Test: t, Manager: m, Cookie: string(bad)}
				resp := tc.Do(func(w http.ResponseWriter, r *http.Request) {
					if sesame.FromContext(r.Context()).Has("k") {
						t.Errorf("byte %d ^ %#x: the tampered cookie was accepted", i, flip)
					}
				})
				if resp.StatusCode != http.StatusOK {
					t.Errorf("byte %d ^ %#x: status %d, want 200 and an empty session", i, flip, resp.StatusCode)
				}
			}
		}
		for _, garbage := range []string{"", "x", strings.Repeat("A", 5000), "%%%", good[:len(good)/2], good + "A"} {
			tc := &Client{Test: t, Manager: m, Cookie: garbage}
			if tc.Has("k") {
				t.Errorf("cookie %.20q... was accepted", garbage)
			}
		}
	}},
	{"AbsoluteLifetimeIsEnforced", func(t *testing.T, b backend) {
		const lifetime = 2 * time.Second
		m := manager(t, b, sesame.Config{Lifetime: lifetime, IdleTimeout: -1})
		c := NewClient(t, m)
		start := time.Now() // the session is created after this
		c.Put("k", "v")
		created := time.Now() // and before this
		old := c.Cookie
		for range 3 { // activity does not extend an absolute lifetime
			time.Sleep(lifetime / 5)
			if !c.Has("k") && time.Since(start) < lifetime {
				t.Fatal("the session ended before its lifetime")
			}
		}
		time.Sleep(time.Until(created.Add(lifetime + deadMargin)))
		replay := &Client{Test: t, Manager: m, Cookie: old}
		if replay.Has("k") {
			t.Error("a token replayed after the absolute lifetime still works")
		}
	}},
	{"IdleTimeoutIsEnforced", func(t *testing.T, b backend) {
		const idle = time.Second
		m := manager(t, b, sesame.Config{IdleTimeout: idle, TouchInterval: -1})
		c := NewClient(t, m)
		last := time.Now() // the session was last seen after this
		c.Put("k", "v")
		for range 4 { // activity keeps it alive past the idle timeout
			time.Sleep(idle / 4)
			before := time.Now()
			if !c.Has("k") {
				if time.Since(last) < idle {
					t.Fatal("an active session timed out")
				}
				t.Skipf("the machine stalled for over %v between two requests; cannot judge", idle)
			}
			last = before // the request touched the session after this
		}
		old := c.Cookie
		time.Sleep(idle + deadMargin)
		replay := &Client{Test: t, Manager: m, Cookie: old}
		if replay.Has("k") {
			t.Error("a token replayed after the idle timeout still works")
		}
	}},
	{"RememberMeMakesTheCookiePersistent", func(t *testing.T, b backend) {
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		resp := c.Session(func(s *sesame.Session) { s.Put("k", 1); s.RememberMe(true) })
		line := SetCookie(resp, m.Name())
		if !strings.Contains(line, "Max-Age=") || !strings.Contains(line, "Expires=") {
			t.Errorf("remembered session's cookie %q lacks Max-Age/Expires", line)
		}
		resp = c.Session(func(s *sesame.Session) { s.RememberMe(false) })
		if line := SetCookie(resp, m.Name()); strings.Contains(line, "Max-Age") {
			t.Errorf("session-only cookie %q has Max-Age", line)
		}
	}},
	{"ParallelRequestsKeepEveryKey", func(t *testing.T, b backend) {
		needStore(t, b, "each concurrent request sends back its own cookie, so the last writer wins")
		needs[driver.DeltaStore](t, b, "driver.DeltaStore (a Save-only store is last-writer-wins)")
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Put("base", 0)
		var wg sync.WaitGroup
		for i := range 32 {
			wg.Go(func() {
				cc := &Client{Test: t, Manager: m, Cookie: c.Cookie}
				cc.Do(func(w http.ResponseWriter, r *http.Request) {
					s := sesame.FromContext(r.Context())
					s.Has("base") // a read-modify-write, not a blind write
					s.Put(key(i), i)
				})
			})
		}
		wg.Wait()
		c.Session(func(s *sesame.Session) {
			if n := len(s.Keys()); n != 33 {
				t.Errorf("%d keys after 32 parallel requests, want 33: %v", n, s.Keys())
			}
		})
	}},
	{"ConcurrentIncrementsAreNeverLost", func(t *testing.T, b backend) {
		// The reliability target: 64 clients × 200 increments of
		// their own key on one shared session lose none. -short runs 20.
		needStore(t, b, "each concurrent request sends back its own cookie, so the last writer wins")
		needs[driver.DeltaStore](t, b, "driver.DeltaStore (a Save-only store is last-writer-wins)")
		clients, rounds := 64, 200
		if testing.Short() {
			rounds = 20
		}
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Put("base", 0)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				cc := &Client{Test: t, Manager: m, Cookie: c.Cookie}
				for range rounds {
					resp := cc.Do(func(w http.ResponseWriter, r *http.Request) {
						s := sesame.FromContext(r.Context())
						n, _ := sesame.Get[int](s, key(i))
						s.Put(key(i), n+1)
					})
					if resp.StatusCode != http.StatusOK || cc.Cookie != c.Cookie {
						t.Errorf("client %d: status %d, cookie changed: %v", i, resp.StatusCode, cc.Cookie != c.Cookie)
						return
					}
				}
			})
		}
		wg.Wait()
		lost := 0
		c.Session(func(s *sesame.Session) {
			for i := range clients {
				n, _ := sesame.Get[int](s, key(i))
				lost += rounds - n
			}
		})
		if lost != 0 {
			t.Errorf("%d of %d increments lost", lost, clients*rounds)
		}
	}},
	{"DestroyRacingATouchStaysDestroyed", func(t *testing.T, b backend) {
		needStore(t, b, "a client-side session has no server record to resurrect")
		needs[driver.DeltaStore](t, b, "driver.DeltaStore (a Save-only store may resurrect)")
		for _, write := range []bool{false, true} {
			t.Run(fmt.Sprintf("write=%v", write), func(t *testing.T) {
				m := manager(t, b, sesame.Config{TouchInterval: -1}) // every read is due a touch
				c := NewClient(t, m)
				c.Put("k", "v")
				h := hold(t, m, c.Cookie, func(s *sesame.Session) { s.Has("k") }, func(s *sesame.Session) {
					if write {
						s.Put("late", true)
					}
				})
				(&Client{Test: t, Manager: m, Cookie: c.Cookie}).Session(func(s *sesame.Session) { s.Destroy() })
				h.Release()
				if c.Has("k") || c.Has("late") {
					t.Error("the destroyed session came back")
				}
			})
		}
	}},
	{"RevokedSessionStaysRevokedAfterALateWrite", func(t *testing.T, b backend) {
		u := unique()
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Login(u("alice"))
		h := hold(t, m, c.Cookie, func(s *sesame.Session) { s.Has("k") }, func(s *sesame.Session) { s.Put("late", true) })
		_, err := m.RevokeAll(t.Context(), u("alice"), "")
		h.Release()
		c.Cookie = h.c.Cookie // the browser keeps whatever the late response sent
		if errors.Is(err, sesame.ErrNotSupported) {
			t.Skipf("not applicable: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		if c.User() != "" || c.Has("late") {
			t.Error("a write that raced RevokeAll brought the session back")
		}
	}},
	{"TokensAreNeverStored", func(t *testing.T, b backend) {
		u := unique()
		needStore(t, b, "the cookie is the session; there is no token at rest")
		d := needs[Dumper](t, b, "sesametest.Dumper")
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Login(u("alice"))
		c.Put("marker", "marker-7f3a")
		raw, err := d.Dump(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), "marker-7f3a") {
			t.Fatal("Dump does not show the stored values, so it proves nothing")
		}
		if strings.Contains(string(raw), c.Cookie) {
			t.Error("the token is stored in clear")
		}
	}},
	{"UsersSessionsCanBeListedAndRevoked", func(t *testing.T, b backend) {
		u := unique()
		m := manager(t, b, sesame.Config{})
		alice := []*Client{NewClient(t, m), NewClient(t, m), NewClient(t, m)}
		var aliceIDs []string
		for _, c := range alice {
			aliceIDs = append(aliceIDs, c.Login(u("alice")))
		}
		bob := NewClient(t, m)
		bobID := bob.Login(u("bob"))
		list, err := m.Sessions(t.Context(), u("alice"))
		if errors.Is(err, sesame.ErrNotSupported) {
			t.Logf("listing: %v", err)
		} else {
			if err != nil {
				t.Fatal(err)
			}
			if got, want := ids(list), slices.Sorted(slices.Values(aliceIDs)); !slices.Equal(got, want) {
				t.Errorf("Sessions(alice) = %v, want %v", got, want)
			}
			if err := m.Revoke(t.Context(), u("alice"), bobID); !errors.Is(err, sesame.ErrNotOwner) {
				t.Errorf("alice revoking bob's session: %v, want ErrNotOwner", err)
			}
			if err := m.Revoke(t.Context(), u("alice"), aliceIDs[0]); err != nil {
				t.Fatal(err)
			}
			if alice[0].User() != "" {
				t.Error("a revoked session still works")
			}
		}
		n, err := m.RevokeAll(t.Context(), u("alice"), aliceIDs[1])
		if errors.Is(err, sesame.ErrNotSupported) {
			t.Skipf("not applicable: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Error("RevokeAll reported no session revoked")
		}
		if alice[1].User() != u("alice") {
			t.Error("RevokeAll ended the session it was told to keep")
		}
		if alice[2].User() != "" {
			t.Error("RevokeAll left a session alive")
		}
		if bob.User() != u("bob") {
			t.Error("RevokeAll of alice ended bob's session")
		}
	}},
}

// checkDeleted checks that resp deletes the session cookie.
func checkDeleted(t *testing.T, resp *http.Response, name string) {
	t.Helper()
	line := SetCookie(resp, name)
	if !strings.Contains(line, "Max-Age=0") || !strings.Contains(line, "Expires=Thu, 01 Jan 1970") {
		t.Errorf("Set-Cookie %q does not delete the cookie (Max-Age=0 and an Expires in the past)", line)
	}
}

// manager returns a Manager on b with cfg's settings (cookies over plain
// HTTP, since the test client does not use TLS).
func manager(t *testing.T, b backend, cfg sesame.Config) *sesame.Manager {
	cfg = b.config(cfg)
	cfg.Insecure = true
	return sesame.New(cfg)
}

// checkCookie checks the attributes a new session's cookie must carry.
func checkCookie(t *testing.T, resp *http.Response, name string) {
	t.Helper()
	line := SetCookie(resp, name)
	if line == "" {
		t.Fatal("no Set-Cookie for a new session")
	}
	for _, attr := range []string{"Path=/", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(line, attr) {
			t.Errorf("Set-Cookie %q lacks %s", line, attr)
		}
	}
	if !strings.Contains(resp.Header.Get("Cache-Control"), `no-cache="Set-Cookie"`) {
		t.Errorf(`Cache-Control %q lacks no-cache="Set-Cookie"`, resp.Header.Get("Cache-Control"))
	}
	if !slices.Contains(resp.Header.Values("Vary"), "Cookie") {
		t.Errorf("Vary %q lacks Cookie", resp.Header.Values("Vary"))
	}
}

// typedValues are Put and read back with their own types.
var typedValues = map[string]any{
	"int64":  int64(1<<62 + 1),
	"int":    42,
	"string": "héllo <b>",
	"bool":   true,
	"float":  2.5,
	"time":   time.Date(2026, 11, 23, 12, 0, 0, 123456789, time.UTC),
	"slice":  []string{"a", "b"},
	"map":    map[string]int{"x": 1},
	"struct": cart{Items: []string{"apple"}, Total: 1999},
}

// cart is a user-defined type stored in sessions by the suite.
type cart struct {
	Items []string
	Total int64
}

func checkTypedValues(t *testing.T, s *sesame.Session) {
	t.Helper()
	check := func(name string, got any, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		want := typedValues[name]
		if wt, ok := want.(time.Time); ok {
			if gt := got.(time.Time); !gt.Equal(wt) {
				t.Errorf("%s = %v, want %v", name, gt, wt)
			}
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	v1, err := sesame.Lookup[int64](s, "int64")
	check("int64", v1, err)
	v2, err := sesame.Lookup[int](s, "int")
	check("int", v2, err)
	v3, err := sesame.Lookup[string](s, "string")
	check("string", v3, err)
	v4, err := sesame.Lookup[bool](s, "bool")
	check("bool", v4, err)
	v5, err := sesame.Lookup[float64](s, "float")
	check("float", v5, err)
	v6, err := sesame.Lookup[time.Time](s, "time")
	check("time", v6, err)
	v7, err := sesame.Lookup[[]string](s, "slice")
	check("slice", v7, err)
	v8, err := sesame.Lookup[map[string]int](s, "map")
	check("map", v8, err)
	v9, err := sesame.Lookup[cart](s, "struct")
	check("struct", v9, err)

	var te *sesame.TypeError
	if _, err := sesame.Lookup[int](s, "string"); !errors.As(err, &te) {
		t.Errorf("Lookup[int] of a string: %v, want a *sesame.TypeError", err)
	}
	if _, err := sesame.Lookup[int](s, "missing"); !errors.Is(err, sesame.ErrNoKey) {
		t.Errorf("Lookup of a missing key: %v, want sesame.ErrNoKey", err)
	}
}
