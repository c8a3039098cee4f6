package sesametest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
)

// held is a request paused inside its handler: it runs first, reports that
// it has, waits for Release, then runs then. The interleaving of a race is
// forced with channels, never left to timing.
type held struct {
	c       *Client
	started chan struct{}
	release chan struct{}
	done    chan struct{}
	resp    *http.Response
}

// hold starts a request with cookie, paused between first and then.
func hold(t *testing.T, m *sesame.Manager, cookie string, first, then func(s *sesame.Session)) *held {
	h := &held{
		c:       &Client{Test: t, Manager: m, Cookie: cookie},
		started: make(chan struct{}),
		release: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go func() {
		defer close(h.done)
		h.resp = h.c.Do(func(w http.ResponseWriter, r *http.Request) {
			s := sesame.FromContext(r.Context())
			if first != nil {
				first(s)
			}
			close(h.started)
			<-h.release
			if then != nil {
				then(s)
			}
		})
	}()
	<-h.started
	return h
}

// Release lets the request finish and returns its response.
func (h *held) Release() *http.Response {
	close(h.release)
	<-h.done
	return h.resp
}

// readUser loads the session, as a handler that checks the login does.
func readUser(s *sesame.Session) { s.User() }

// renew renews the session, ignoring the error a conflict may give.
func renew(s *sesame.Session) { s.Renew() }

// revokeAll revokes every session of user, or skips t if the backend
// cannot.
func revokeAll(t *testing.T, m *sesame.Manager, user string) {
	t.Helper()
	_, err := m.RevokeAll(t.Context(), user, "")
	if errors.Is(err, sesame.ErrNotSupported) {
		t.Skipf("not applicable: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// loggedIn returns a client logged in as user, whose session holds a
// secret.
func loggedIn(t *testing.T, m *sesame.Manager, user string) *Client {
	c := NewClient(t, m)
	c.Login(user)
	c.Put("secret", "s")
	return c
}

// loggedOut fails t if any of the named cookies still opens a session that
// is logged in or holds the secret.
func loggedOut(t *testing.T, m *sesame.Manager, after string, cookies map[string]string) {
	t.Helper()
	for name, cookie := range cookies {
		if cookie == "" {
			continue
		}
		cc := &Client{Test: t, Manager: m, Cookie: cookie}
		if got := cc.User(); got != "" || cc.Has("secret") {
			t.Errorf("the %s cookie is logged in as %q after %s", name, got, after)
		}
	}
}

// raceTests force the interleavings that a logout, a revocation or a
// second request can have with a commit, and check the documented outcome
// of each. They run through a Manager, on server stores and Sealers alike.
var raceTests = []test{
	{"RenewRacingRevokeAllDoesNotResurrect", func(t *testing.T, b backend) {
		// A handler with a copy of the cookie reads the session, then the
		// user logs out everywhere, then the handler renews.
		u := unique()
		m := manager(t, b, sesame.Config{})
		c := loggedIn(t, m, u("alice"))
		h := hold(t, m, c.Cookie, readUser, renew)
		revokeAll(t, m, u("alice"))
		h.Release()
		loggedOut(t, m, "RevokeAll raced a Renew", map[string]string{"renewed": h.c.Cookie, "original": c.Cookie})
	}},
	{"RenewRacingDestroyDoesNotResurrect", func(t *testing.T, b backend) {
		u := unique()
		m := manager(t, b, sesame.Config{})
		c := loggedIn(t, m, u("alice"))
		h := hold(t, m, c.Cookie, readUser, renew)
		(&Client{Test: t, Manager: m, Cookie: c.Cookie}).Session(func(s *sesame.Session) { s.Destroy() })
		h.Release()
		if b.sealer != nil && !revokesOneSession(t, b) {
			t.Skip("not applicable: the Sealer cannot revoke a single session (no RevocationStore)")
		}
		loggedOut(t, m, "a Destroy raced a Renew", map[string]string{"renewed": h.c.Cookie, "destroyed": c.Cookie})
	}},
	{"DestroyedSessionCookieIsDeadOnReplay", func(t *testing.T, b backend) {
		// Logout sticks: a copy of the cookie taken before the logout no
		// longer opens the session, on a Sealer too.
		u := unique()
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Login(u("alice"))
		stolen := c.Cookie
		c.Session(func(s *sesame.Session) { s.Destroy() })
		if b.sealer != nil {
			if _, err := m.RevokeAll(t.Context(), u("nobody"), ""); errors.Is(err, sesame.ErrNotSupported) {
				t.Skipf("not applicable: %v", err)
			}
		}
		if got := (&Client{Test: t, Manager: m, Cookie: stolen}).User(); got != "" {
			t.Errorf("a copy of the cookie is still logged in as %q after Destroy", got)
		}
	}},
	{"ParallelRenewsLeaveOneSession", func(t *testing.T, b backend) {
		needStore(t, b, "every renewed cookie carries its own copy of the session")
		u := unique()
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Login(u("alice"))
		var hs []*held
		for range 8 {
			hs = append(hs, hold(t, m, c.Cookie, readUser, renew))
		}
		var wg sync.WaitGroup
		for _, h := range hs {
			wg.Go(func() { h.Release() })
		}
		wg.Wait()
		live := 0
		for _, h := range hs {
			if h.c.Cookie != "" && h.c.Cookie != c.Cookie && (&Client{Test: t, Manager: m, Cookie: h.c.Cookie}).User() == u("alice") {
				live++
			}
		}
		if (&Client{Test: t, Manager: m, Cookie: c.Cookie}).User() != "" {
			t.Error("the original cookie still works after it was renewed")
		}
		if live != 1 {
			t.Errorf("8 parallel Renews of one session left %d live sessions, want exactly 1", live)
		}
		if list, err := m.Sessions(t.Context(), u("alice")); err == nil && len(list) != 1 {
			t.Errorf("Sessions(alice) lists %d sessions after 8 parallel Renews, want 1", len(list))
		}
	}},
	{"DoubleSubmittedLoginLogsIn", func(t *testing.T, b backend) {
		// Two login requests with the same pre-login cookie (a double
		// click): whichever response the browser keeps, it is logged in.
		u := unique()
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Put("cart", "apples")
		login := func(s *sesame.Session) {
			if err := s.Login(u("alice")); err != nil {
				t.Errorf("Login: %v", err)
			}
		}
		h1 := hold(t, m, c.Cookie, readUser, login)
		h2 := hold(t, m, c.Cookie, readUser, login)
		for i, h := range []*held{h1, h2} {
			resp := h.Release()
			if resp.StatusCode != http.StatusOK || h.c.Cookie == "" || h.c.Cookie == c.Cookie {
				t.Errorf("login %d: status %d, new cookie %v", i+1, resp.StatusCode, h.c.Cookie != c.Cookie)
				continue
			}
			if got := (&Client{Test: t, Manager: m, Cookie: h.c.Cookie}).User(); got != u("alice") {
				t.Errorf("login %d: the cookie it sent is logged in as %q", i+1, got)
			}
		}
	}},
	{"RenewLoopAgainstRevokeAllNeverSurvives", func(t *testing.T, b backend) {
		// The review's hammer: a client renews in a loop while RevokeAll
		// fires at a random moment. The random timing only varies the
		// interleaving; any survival is a failure.
		trials := 150
		if testing.Short() {
			trials = 30
		}
		m := manager(t, b, sesame.Config{})
		survived := 0
		for i := range trials {
			user := unique()("alice")
			c := NewClient(t, m)
			c.Login(user)
			var wg sync.WaitGroup
			start := make(chan struct{})
			wg.Go(func() {
				<-start
				time.Sleep(rand.N(3 * time.Millisecond))
				revokeAll(t, m, user)
			})
			wg.Go(func() {
				<-start
				end := time.Now().Add(6 * time.Millisecond)
				for time.Now().Before(end) && c.Cookie != "" {
					c.Do(func(w http.ResponseWriter, r *http.Request) {
						s := sesame.FromContext(r.Context())
						if s.User() != "" {
							s.Renew()
						}
					})
				}
			})
			close(start)
			wg.Wait()
			if t.Skipped() {
				return
			}
			if c.Cookie != "" && c.User() != "" {
				survived++
				t.Logf("trial %d: the renewed chain survived RevokeAll", i)
			}
		}
		if survived > 0 {
			t.Errorf("the session survived RevokeAll in %d of %d trials", survived, trials)
		}
	}},
	{"RenewKeepsTheDeadline", func(t *testing.T, b backend) {
		m := manager(t, b, sesame.Config{IdleTimeout: -1}) // Expires is then the deadline
		c := NewClient(t, m)
		var before, after time.Time
		c.Session(func(s *sesame.Session) { s.Put("k", 1) })
		c.Session(func(s *sesame.Session) { before = s.Info().Expires })
		time.Sleep(20 * time.Millisecond) // a Renew that restarted the lifetime would move it by this much
		c.Session(func(s *sesame.Session) { s.Renew() })
		c.Session(func(s *sesame.Session) { after = s.Info().Expires })
		if before.IsZero() || after.Sub(before).Abs() > 5*time.Millisecond {
			t.Errorf("the deadline moved from %v to %v at Renew; it must stay", before, after)
		}
	}},
	{"RequestWithThePreRenewCookieChangesNothing", func(t *testing.T, b backend) {
		needStore(t, b, "a Sealer's old cookie is its own copy of the session")
		needs[driver.Renewer](t, b, "driver.Renewer (without it an old cookie cannot be told from an unknown one)")
		u := unique()
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Put("cart", "apples")
		old := c.Cookie
		c.Login(u("alice"))
		// A read-only request sent before the browser stored the new cookie.
		resp := (&Client{Test: t, Manager: m, Cookie: old}).Do(func(w http.ResponseWriter, r *http.Request) {
			s := sesame.FromContext(r.Context())
			if s.Has("cart") || s.User() != "" {
				t.Error("a request with the pre-renew cookie sees the renewed session")
			}
		})
		if h := resp.Header.Values("Set-Cookie"); len(h) > 0 {
			t.Errorf("a read-only request with the pre-renew cookie sent Set-Cookie %q", h)
		}
		// A blind write with the old cookie.
		var putErr error
		resp = (&Client{Test: t, Manager: m, Cookie: old}).Do(func(w http.ResponseWriter, r *http.Request) {
			putErr = sesame.FromContext(r.Context()).Put("late", true)
		})
		if h := resp.Header.Values("Set-Cookie"); len(h) > 0 {
			t.Errorf("a blind write with the pre-renew cookie sent Set-Cookie %q, which would replace the new cookie", h)
		}
		if putErr == nil && resp.StatusCode == http.StatusOK {
			t.Error("a blind write with the pre-renew cookie was accepted; want a typed error")
		}
		// A read-modify-write with the old cookie.
		resp = (&Client{Test: t, Manager: m, Cookie: old}).Do(func(w http.ResponseWriter, r *http.Request) {
			s := sesame.FromContext(r.Context())
			s.Has("cart")
			putErr = s.Put("late", true)
		})
		if h := resp.Header.Values("Set-Cookie"); len(h) > 0 {
			t.Errorf("a write with the pre-renew cookie sent Set-Cookie %q", h)
		}
		if putErr == nil && resp.StatusCode == http.StatusOK {
			t.Error("a write with the pre-renew cookie was accepted; want a typed error")
		}
		c.Session(func(s *sesame.Session) {
			if s.Has("late") || s.User() != u("alice") {
				t.Errorf("the renewed session changed: late=%v user=%q", s.Has("late"), s.User())
			}
		})
	}},
	{"UnknownCookieOnAnUnchangedRequestIsLeftAlone", func(t *testing.T, b backend) {
		m := manager(t, b, sesame.Config{})
		for _, cookie := range []string{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "garbage"} {
			resp := (&Client{Test: t, Manager: m, Cookie: cookie}).Do(func(w http.ResponseWriter, r *http.Request) {
				sesame.FromContext(r.Context()).Has("k")
			})
			if h := resp.Header.Values("Set-Cookie"); len(h) > 0 {
				t.Errorf("a read of an unknown cookie %q sent Set-Cookie %q", cookie, h)
			}
		}
	}},
	{"EmptyingASessionKeepsAConcurrentKey", func(t *testing.T, b backend) {
		needStore(t, b, "each concurrent request sends back its own cookie, so the last writer wins")
		needs[driver.DeltaStore](t, b, "driver.DeltaStore (a Save-only store is last-writer-wins)")
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Put("flash", "saved")
		a := hold(t, m, c.Cookie, func(s *sesame.Session) { s.Has("flash") }, func(s *sesame.Session) { sesame.Pop[string](s, "flash") })
		(&Client{Test: t, Manager: m, Cookie: c.Cookie}).Put("cart", "apples")
		resp := a.Release()
		if line := SetCookie(resp, m.Name()); strings.Contains(line, "Max-Age=0") {
			t.Errorf("the pop deleted the cookie of a session that still holds cart: %q", line)
		}
		if !c.Has("cart") {
			t.Error("emptying the session of flash deleted the cart a concurrent request added")
		}
	}},
	{"RememberMeChangesAlwaysSendTheCookie", func(t *testing.T, b backend) {
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Put("k", 1)
		tok := c.Cookie
		// A blind RememberMe(true): the handler never reads the session.
		resp := c.Session(func(s *sesame.Session) { s.RememberMe(true) })
		line := SetCookie(resp, m.Name())
		if !strings.Contains(line, "Max-Age=") || strings.Contains(line, "Max-Age=0") {
			t.Errorf("RememberMe(true) sent %q, want a persistent cookie", line)
		}
		if b.store != nil && c.Cookie != tok {
			t.Error("RememberMe changed the token")
		}
		resp = c.Session(func(s *sesame.Session) { s.RememberMe(false) })
		line = SetCookie(resp, m.Name())
		if line == "" || strings.Contains(line, "Max-Age") || strings.Contains(line, "Expires") {
			t.Errorf("RememberMe(false) sent %q, want a session-only cookie", line)
		}
		if !c.Has("k") {
			t.Error("the session lost its value")
		}
	}},
	{"VaryIsSetWhenTheSessionIsReadAfterTheResponseStarted", func(t *testing.T, b backend) {
		u := unique()
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Login(u("alice"))
		for _, cookie := range []string{c.Cookie, ""} {
			resp := (&Client{Test: t, Manager: m, Cookie: cookie}).Do(func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte("<html><head></head><body>")) // the template's head goes first
				fmt.Fprintf(w, "hello %s", sesame.FromContext(r.Context()).User())
			})
			if !slices.Contains(resp.Header.Values("Vary"), "Cookie") {
				t.Errorf("cookie %v: a response that shows the session lacks Vary: Cookie (Vary %q)", cookie != "", resp.Header.Values("Vary"))
			}
		}
	}},
	{"ModifyingAValueReadFromTheSessionIsSafe", func(t *testing.T, b backend) {
		// Parallel get-modify-put of a map value: a store that hands out
		// its stored map would crash with concurrent map writes, or race.
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Put("m", map[string]int{"a": 1})
		// Every request reads the map, then all modify their copy at once.
		var hs []*held
		for i := range 8 {
			var v map[string]int
			hs = append(hs, hold(t, m, c.Cookie, func(s *sesame.Session) {
				v, _ = sesame.Get[map[string]int](s, "m")
			}, func(s *sesame.Session) {
				if v == nil {
					v = map[string]int{}
				}
				for j := range 100 {
					v[key(i)] = j
				}
				s.Put("m", v)
			}))
		}
		release := make(chan struct{})
		var wg sync.WaitGroup
		for _, h := range hs {
			wg.Go(func() { <-release; h.Release() })
		}
		close(release)
		wg.Wait()
		check := func(c *Client) {
			c.Session(func(s *sesame.Session) {
				if v, _ := sesame.Get[map[string]int](s, "m"); v["a"] != 1 || len(v) != 2 {
					t.Errorf("m = %v after parallel updates; want a:1 and one request's key (the last writer's)", v)
				}
			})
		}
		if b.sealer == nil {
			check(c)
			return
		}
		for _, h := range hs { // each cookie holds its own copy
			check(h.c)
		}
	}},
	{"KeysAndUsersAreValidatedTheSameEverywhere", func(t *testing.T, b backend) {
		u := unique()
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Session(func(s *sesame.Session) {
			for _, bad := range []string{"k\xff", "k\x00", "", "\xc3"} {
				if err := s.Put(bad, 1); err == nil {
					t.Errorf("Put(%q) succeeded; want a typed error", bad)
				}
			}
			for _, bad := range []string{"u\xff", "u\x00"} {
				if err := s.SetUser(bad); err == nil {
					t.Errorf("SetUser(%q) succeeded; want a typed error", bad)
				}
			}
		})
		odd := []string{"ключ", "k\u2028", `"quoted"`, "a.b[0]", "$x", "k\\n", "k\x01", "emoji 🍏", "v:x", "u", strings.Repeat("x", 200)}
		c.Session(func(s *sesame.Session) {
			for i, k := range odd {
				if err := s.Put(k, i); err != nil {
					t.Errorf("Put(%q): %v", k, err)
				}
			}
			s.SetUser(u("用户 \u2028"))
		})
		c.Put("other", true) // a delta commit beside the odd keys
		c.Session(func(s *sesame.Session) {
			want := append(slices.Clone(odd), "other")
			slices.Sort(want)
			if got := s.Keys(); !slices.Equal(got, want) {
				t.Errorf("keys = %q, want %q", got, want)
			}
			for i, k := range odd {
				if v, err := sesame.Lookup[int](s, k); err != nil || v != i {
					t.Errorf("Lookup(%q) = %v, %v; want %d", k, v, err, i)
				}
			}
			if s.User() != u("用户 \u2028") {
				t.Errorf("user = %q", s.User())
			}
		})
	}},
}

// revokesOneSession reports whether b's Manager can make a single cookie
// session's copies invalid, as Destroy needs on a Sealer.
func revokesOneSession(t *testing.T, b backend) bool {
	_, err := sesame.New(b.config(sesame.Config{Insecure: true})).RevokeAll(t.Context(), "sesametest-probe", "")
	return !errors.Is(err, sesame.ErrNotSupported)
}
