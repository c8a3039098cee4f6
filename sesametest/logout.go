package sesametest

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
)

// renewals are the calls that give a session a new ID, as an attacker
// holding a copy of the cookie may make them.
var renewals = []struct {
	name string
	do   func(s *sesame.Session, user string) error
}{
	{"Renew", func(s *sesame.Session, _ string) error { return s.Renew() }},
	{"Reauthenticate", func(s *sesame.Session, _ string) error { return s.Reauthenticate() }},
	{"Login", func(s *sesame.Session, user string) error { return s.Login(user) }},
}

// logouts are the forms of a logout handler: one that only destroys the
// session (the README's), and one that reads it first (a CSRF check, say).
var logouts = []struct {
	name string
	read bool
}{
	{"DestroyOnly", false},
	{"ReadThenDestroy", true},
}

// renewWith renews the session of c's cookie in a request of its own, and
// fails t unless it answers 200 with a new cookie.
func renewWith(t *testing.T, c *Client, user string, do func(*sesame.Session, string) error) {
	t.Helper()
	before := c.Cookie
	c.Session(func(s *sesame.Session) {
		if err := do(s, user); err != nil {
			t.Fatal(err)
		}
	})
	if c.Cookie == "" || c.Cookie == before {
		t.Fatal("the renewal sent no new cookie")
	}
}

// logoutTests check that a logout ends the session in every interleaving
// with a renewal made elsewhere, however many renewals: the headline
// promise. They run on server stores and Sealers alike.
var logoutTests = []test{
	{"DestroyAfterARenewalElsewhereEndsTheRenewedSession", func(t *testing.T, b backend) {
		// The victim's logout carries the cookie from before another
		// request (an attacker's copy, or another tab) renewed it. The
		// logout must succeed, delete the cookie, and end the session
		// under its new ID.
		renewalKnown(t, b)
		for _, rn := range renewals {
			for _, lo := range logouts {
				t.Run(rn.name+"/"+lo.name, func(t *testing.T) {
					u := unique()
					m := manager(t, b, sesame.Config{})
					victim := loggedIn(t, m, u("alice"))
					attacker := &Client{Test: t, Manager: m, Cookie: victim.Cookie}
					renewWith(t, attacker, u("alice"), rn.do)
					resp := victim.Do(func(w http.ResponseWriter, r *http.Request) {
						s := sesame.FromContext(r.Context())
						if lo.read {
							s.User()
						}
						if err := s.Destroy(); err != nil {
							t.Errorf("Destroy: %v", err)
						}
					})
					if resp.StatusCode != http.StatusOK {
						t.Errorf("logout answered %d, want 200", resp.StatusCode)
					}
					checkDeleted(t, resp, m.Name())
					loggedOut(t, m, "a logout with the pre-renewal cookie", map[string]string{"renewed": attacker.Cookie})
				})
			}
		}
	}},
	{"DestroyLoadedBeforeARenewalEndsTheRenewedSession", func(t *testing.T, b backend) {
		// The logout reads the session while it is live, then another
		// request renews it and commits, then the logout destroys it.
		renewalKnown(t, b)
		for _, rn := range renewals {
			t.Run(rn.name, func(t *testing.T) {
				u := unique()
				m := manager(t, b, sesame.Config{})
				victim := loggedIn(t, m, u("alice"))
				attacker := &Client{Test: t, Manager: m, Cookie: victim.Cookie}
				h := hold(t, m, victim.Cookie, readUser, func(s *sesame.Session) { s.Destroy() })
				renewWith(t, attacker, u("alice"), rn.do)
				resp := h.Release()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("logout answered %d, want 200", resp.StatusCode)
				}
				checkDeleted(t, resp, m.Name())
				loggedOut(t, m, "a logout loaded before a renewal", map[string]string{"renewed": attacker.Cookie})
			})
		}
	}},
	{"LogoutAndRevokeAllEndAChainOf1000Renewals", func(t *testing.T, b backend) {
		// An attacker with a copy of the cookie renews it 1,000 times
		// while the victim's logout, which read the session first, runs.
		renewalKnown(t, b)
		const k = 1000
		for _, end := range []string{"Destroy", "RevokeAll"} {
			t.Run(end, func(t *testing.T) {
				u := unique()
				m := manager(t, b, sesame.Config{})
				victim := loggedIn(t, m, u("alice"))
				attacker := &Client{Test: t, Manager: m, Cookie: victim.Cookie}
				var h *held
				if end == "Destroy" {
					h = hold(t, m, victim.Cookie, readUser, func(s *sesame.Session) { s.Destroy() })
				}
				first := attacker.Cookie
				for range k {
					renewWith(t, attacker, "", renewals[0].do)
				}
				if end == "Destroy" {
					if resp := h.Release(); resp.StatusCode != http.StatusOK {
						t.Fatalf("logout after %d renewals answered %d, want 200", k, resp.StatusCode)
					}
				} else {
					revokeAll(t, m, u("alice"))
				}
				loggedOut(t, m, fmt.Sprintf("%s after %d renewals", end, k), map[string]string{"last": attacker.Cookie, "first": first})
			})
		}
	}},
	{"UpdateRacingALogoutDoesNotResurrect", func(t *testing.T, b backend) {
		// A request reads the session, a logout or a RevokeAll ends it,
		// then the request updates a value: the update fails and the
		// session stays ended. And the other way: a logout that read the
		// session before an Update committed still ends it.
		needStore(t, b, "Update of a Sealer's session is this cookie's own read-modify-write")
		needs[driver.Updater](t, b, "driver.Updater")
		inc := func(n int) (int, error) { return n + 1, nil }
		for _, end := range []string{"Destroy", "RevokeAll"} {
			t.Run(end+"/UpdateAfter", func(t *testing.T) {
				u := unique()
				m := manager(t, b, sesame.Config{})
				c := loggedIn(t, m, u("alice"))
				var err error
				h := hold(t, m, c.Cookie, readUser, func(s *sesame.Session) { _, err = sesame.Update(s, "n", inc) })
				if end == "Destroy" {
					(&Client{Test: t, Manager: m, Cookie: c.Cookie}).Session(func(s *sesame.Session) { s.Destroy() })
				} else {
					revokeAll(t, m, u("alice"))
				}
				h.Release()
				if !errors.Is(err, driver.ErrNotFound) {
					t.Errorf("Update after the session ended = %v, want ErrNotFound", err)
				}
				loggedOut(t, m, end+" before an Update", map[string]string{"updated": h.c.Cookie, "original": c.Cookie})
			})
			t.Run(end+"/UpdateBefore", func(t *testing.T) {
				u := unique()
				m := manager(t, b, sesame.Config{})
				c := loggedIn(t, m, u("alice"))
				var h *held
				if end == "Destroy" {
					h = hold(t, m, c.Cookie, readUser, func(s *sesame.Session) { s.Destroy() })
				}
				(&Client{Test: t, Manager: m, Cookie: c.Cookie}).Session(func(s *sesame.Session) {
					if _, err := sesame.Update(s, "n", inc); err != nil {
						t.Fatal(err)
					}
				})
				if end == "Destroy" {
					h.Release()
				} else {
					revokeAll(t, m, u("alice"))
				}
				loggedOut(t, m, end+" after an Update", map[string]string{"original": c.Cookie})
			})
		}
	}},
	{"UpdateOfARenewedAwayCookieIsRefused", func(t *testing.T, b backend) {
		// A request with the pre-renewal cookie must not act on a value it
		// invented: Update reports ErrRenewed, and the session is intact.
		renewalKnown(t, b)
		if b.store != nil {
			needs[driver.Updater](t, b, "driver.Updater")
		}
		u := unique()
		m := manager(t, b, sesame.Config{})
		c := loggedIn(t, m, u("alice"))
		c.Put("n", 7)
		old := c.Cookie
		renewWith(t, c, "", renewals[0].do)
		late := &Client{Test: t, Manager: m, Cookie: old}
		var got int
		var err error
		late.Do(func(w http.ResponseWriter, r *http.Request) {
			got, err = sesame.Update(sesame.FromContext(r.Context()), "n", func(n int) (int, error) { return n + 1, nil })
		})
		if !errors.Is(err, sesame.ErrRenewed) {
			t.Errorf("Update with a renewed-away cookie = %d, %v; want ErrRenewed", got, err)
		}
		if late.Cookie != old {
			t.Error("the refused request sent a cookie")
		}
		var n int
		c.Session(func(s *sesame.Session) { n, _ = sesame.Get[int](s, "n") })
		if n != 7 {
			t.Errorf("n = %d after the refused Update, want 7", n)
		}
	}},
	{"LateWriteWithThePreRenewalCookieKeepsTheNewCookie", func(t *testing.T, b backend) {
		// A write that carries the cookie from before a renewal (a slow
		// request sent before it) is refused with no Set-Cookie, so it
		// never replaces the renewed cookie and logs nobody out.
		renewalKnown(t, b)
		for _, read := range []bool{false, true} {
			t.Run(fmt.Sprintf("read=%v", read), func(t *testing.T) {
				u := unique()
				m := manager(t, b, sesame.Config{})
				c := loggedIn(t, m, u("alice"))
				old := c.Cookie
				renewWith(t, c, "", renewals[0].do)
				var err error
				resp := (&Client{Test: t, Manager: m, Cookie: old}).Do(func(w http.ResponseWriter, r *http.Request) {
					s := sesame.FromContext(r.Context())
					if read {
						s.User()
					}
					err = s.Put("late", 1)
				})
				switch {
				case read && !errors.Is(err, sesame.ErrRenewed):
					// Known at the Put: refused there.
					t.Errorf("Put after reading a renewed-away session = %v, want ErrRenewed", err)
				case !read && resp.StatusCode != http.StatusConflict:
					// Known at the commit: refused there.
					t.Errorf("blind late write answered %d, want 409", resp.StatusCode)
				}
				if line := SetCookie(resp, m.Name()); line != "" {
					t.Errorf("late write sent Set-Cookie %q, which replaces the renewed cookie", line)
				}
				if c.User() != u("alice") || c.Has("late") {
					t.Error("the renewed session lost its login, or took the late write")
				}
			})
		}
	}},
	{"SetUserToAnotherUserIsNotFresh", func(t *testing.T, b backend) {
		// The new user never counts as fresh on the previous user's login.
		for _, read := range []bool{false, true} {
			t.Run(fmt.Sprintf("read=%v", read), func(t *testing.T) {
				u := unique()
				m := manager(t, b, sesame.Config{})
				c := NewClient(t, m)
				c.Login(u("alice"))
				c.Session(func(s *sesame.Session) {
					if read {
						s.User()
					}
					s.SetUser(u("bob"))
				})
				c.Session(func(s *sesame.Session) {
					if s.User() != u("bob") {
						t.Fatalf("user %q, want bob", s.User())
					}
					if at := s.Info().AuthenticatedAt; !at.IsZero() || s.Fresh(time.Hour) {
						t.Errorf("bob is fresh on alice's login: AuthenticatedAt %v", at)
					}
				})
				c.Session(func(s *sesame.Session) { s.SetUser(u("bob")) }) // the same user: no change
				c.Session(func(s *sesame.Session) { s.Reauthenticate() })
				c.Session(func(s *sesame.Session) { s.SetUser(u("bob")) })
				c.Session(func(s *sesame.Session) {
					if !s.Fresh(time.Hour) {
						t.Error("setting the same user again cleared the reauthentication")
					}
				})
			})
		}
	}},
	{"RevokeAllKeepingTheIDOfAPendingRenewalKeepsTheDevice", func(t *testing.T, b backend) {
		// "Log out my other devices" in the request that also renews this
		// session: Session.ID is the new ID, and the device stays.
		for _, rn := range renewals {
			for _, first := range []string{"renewal", "revoke"} {
				t.Run(rn.name+"/"+first+"First", func(t *testing.T) {
					u := unique()
					m := manager(t, b, sesame.Config{})
					this, other := loggedIn(t, m, u("alice")), loggedIn(t, m, u("alice"))
					this.Do(func(w http.ResponseWriter, r *http.Request) {
						s := sesame.FromContext(r.Context())
						if first == "revoke" {
							s.User()
						} else if err := rn.do(s, u("alice")); err != nil {
							t.Fatal(err)
						}
						if _, err := m.RevokeAll(r.Context(), u("alice"), s.ID()); errors.Is(err, sesame.ErrNotSupported) {
							t.Skipf("not applicable: %v", err)
						} else if err != nil {
							t.Fatal(err)
						}
						if first == "revoke" {
							if err := rn.do(s, u("alice")); err != nil {
								t.Fatal(err)
							}
						}
					})
					if this.User() != u("alice") {
						t.Error("the device that asked was logged out")
					}
					loggedOut(t, m, "RevokeAll", map[string]string{"other": other.Cookie})
				})
			}
		}
	}},
}

// renewalKnown skips t on a backend that cannot tell a renewed-away
// cookie from an unknown one: a Store without Renewer (see Renewer), or a
// Sealer that cannot revoke a single session.
func renewalKnown(t *testing.T, b backend) {
	t.Helper()
	if b.store != nil {
		needs[driver.Renewer](t, b, "driver.Renewer")
	} else if !revokesOneSession(t, b) {
		t.Skip("not applicable: the Sealer cannot revoke a single session (no RevocationStore)")
	}
}
