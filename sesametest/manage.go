package sesametest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
)

// This file tests what lets people see and manage their sessions: device
// metadata, step-up freshness, atomic updates, the per-user cap and the
// lifecycle events.

// Two clients, told apart by their User-Agent and address.
const (
	uaOne = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
	uaTwo = "Mozilla/5.0 (iPhone; CPU iPhone OS 19_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/19.0 Mobile/15E148 Safari/604.1 ☃"
)

func mustLoad(t *testing.T, st driver.Store, id string) *driver.Record {
	t.Helper()
	rec, err := st.Load(t.Context(), id)
	if err != nil {
		t.Fatalf("Load(%s): %v", id, err)
	}
	return rec
}

func checkMeta(t *testing.T, what string, rec *driver.Record, auth time.Time, dev sesame.Device) {
	t.Helper()
	if d := rec.AuthenticatedAt.Sub(auth).Abs(); d > time.Millisecond {
		t.Errorf("%s: AuthenticatedAt %v, want %v", what, rec.AuthenticatedAt, auth)
	}
	if rec.Device != dev {
		t.Errorf("%s: Device %+v, want %+v", what, rec.Device, dev)
	}
}

// manageTests run through a Manager, on server stores and Sealers alike.
var manageTests = []test{
	{"DeviceIsRecordedAtCreationAndLogin", func(t *testing.T, b backend) {
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.UserAgent, c.RemoteAddr = uaOne, "192.0.2.1:4711"
		c.Put("a", 1)
		one := sesame.Device{UserAgent: uaOne, IP: "192.0.2.1"}
		checkDevice(t, c, "after creation", one)
		c.UserAgent, c.RemoteAddr = uaTwo, "[2001:db8::2]:4711"
		c.Put("b", 2)
		checkDevice(t, c, "after a write from another client", one)
		c.Login(unique()("alice"))
		checkDevice(t, c, "after Login", sesame.Device{UserAgent: uaTwo, IP: "2001:db8::2"})

		for _, tc := range []struct {
			storage sesame.IPStorage
			addr    string
			want    string
		}{
			{sesame.IPPrefix, "192.0.2.77:1", "192.0.2.0/24"},
			{sesame.IPPrefix, "[2001:db8:aa:bb::1]:1", "2001:db8:aa::/48"},
			{sesame.IPNone, "192.0.2.77:1", ""},
		} {
			m := manager(t, b, sesame.Config{IPStorage: tc.storage})
			c := &Client{Test: t, Manager: m, UserAgent: strings.Repeat("x", 300), RemoteAddr: tc.addr}
			c.Put("a", 1)
			checkDevice(t, c, fmt.Sprintf("IPStorage %d", tc.storage), sesame.Device{UserAgent: strings.Repeat("x", driver.MaxUserAgentLen), IP: tc.want})
		}
	}},
	{"FreshnessSurvivesRenewAndTouches", func(t *testing.T, b backend) {
		m := manager(t, b, sesame.Config{TouchInterval: -1}) // every request touches
		c := NewClient(t, m)
		c.Session(func(s *sesame.Session) {
			if err := s.Reauthenticate(); !errors.Is(err, sesame.ErrNoUser) {
				t.Errorf("Reauthenticate of a session without a user: %v, want ErrNoUser", err)
			}
		})
		before := time.Now()
		c.Login(unique()("alice"))
		at := authAt(t, c)
		if at.Before(before.Add(-time.Millisecond)) || at.After(time.Now()) {
			t.Fatalf("AuthenticatedAt %v after a Login at %v", at, before)
		}
		c.Put("k", 1)
		c.Has("k") // a touch
		c.Session(func(s *sesame.Session) {
			if err := s.Renew(); err != nil {
				t.Fatal(err)
			}
		})
		if got := authAt(t, c); !got.Equal(at) {
			t.Errorf("AuthenticatedAt moved from %v to %v on a write, a touch and a Renew", at, got)
		}
		c.Session(func(s *sesame.Session) {
			if !s.Fresh(time.Hour) || s.Fresh(time.Nanosecond) {
				t.Errorf("Fresh(1h), Fresh(1ns) = %v, %v; want true, false", s.Fresh(time.Hour), s.Fresh(time.Nanosecond))
			}
		})
		waitPast(at)
		old := c.Cookie
		c.Session(func(s *sesame.Session) {
			if err := s.Reauthenticate(); err != nil {
				t.Fatal(err)
			}
		})
		if c.Cookie == old {
			t.Error("Reauthenticate kept the token")
		}
		if got := authAt(t, c); !got.After(at) {
			t.Errorf("AuthenticatedAt %v after Reauthenticate, want after %v", got, at)
		}
		if c.User() == "" {
			t.Error("Reauthenticate lost the user")
		}

		guard := sesame.RequireFresh(time.Hour, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		strict := sesame.RequireFresh(time.Nanosecond, nil)(guard)
		if resp := c.Do(guard.ServeHTTP); resp.StatusCode != http.StatusOK {
			t.Errorf("RequireFresh(1h) of a fresh login: status %d, want 200", resp.StatusCode)
		}
		if resp := c.Do(strict.ServeHTTP); resp.StatusCode != http.StatusForbidden {
			t.Errorf("RequireFresh(1ns): status %d, want 403", resp.StatusCode)
		}
		if resp := NewClient(t, m).Do(guard.ServeHTTP); resp.StatusCode != http.StatusForbidden {
			t.Errorf("RequireFresh of an anonymous session: status %d, want 403", resp.StatusCode)
		}
	}},
	{"UpdateReturnsTheNewValue", func(t *testing.T, b backend) {
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		_, atomic := b.impl().(driver.Updater)
		for want := 1; want <= 3; want++ {
			c.Session(func(s *sesame.Session) {
				got, err := sesame.Update(s, "n", func(n int) (int, error) { return n + 1, nil })
				if want > 1 && b.store != nil && !atomic {
					if !errors.Is(err, sesame.ErrNotSupported) {
						t.Fatalf("Update of a stored session on a store without Updater: %v, want ErrNotSupported", err)
					}
					t.Skip("the store lacks driver.Updater: Update works on new sessions only")
				}
				if err != nil || got != want {
					t.Fatalf("Update: %d, %v; want %d", got, err, want)
				}
				if v, _ := sesame.Get[int](s, "n"); v != want {
					t.Errorf("Get after Update: %d, want %d", v, want)
				}
			})
		}
		c.Put("s", "text")
		c.Session(func(s *sesame.Session) {
			var te *sesame.TypeError
			if _, err := sesame.Update(s, "s", func(n int) (int, error) { return n + 1, nil }); !errors.As(err, &te) {
				t.Errorf("Update[int] of a string: %v, want a *TypeError", err)
			}
			boom := errors.New("boom")
			if _, err := sesame.Update(s, "n", func(n int) (int, error) { return 0, boom }); !errors.Is(err, boom) {
				t.Errorf("Update whose func fails: %v, want its error", err)
			}
		})
		c.Session(func(s *sesame.Session) {
			if v, _ := sesame.Get[int](s, "n"); v != 3 {
				t.Errorf("after a failed Update n = %d, want 3", v)
			}
		})
	}},
	{"EventsNameTheSessionAndNeverTheToken", func(t *testing.T, b backend) {
		obs := &recorder{}
		m := manager(t, b, sesame.Config{Observer: obs})
		u := unique()
		c := NewClient(t, m)
		tokens := map[string]bool{}
		seen := func() { tokens[c.Cookie] = true }
		var id string
		step := func(want sesame.EventKind, f func(s *sesame.Session) error) {
			t.Helper()
			obs.reset()
			c.Session(func(s *sesame.Session) {
				before := s.ID()
				if err := f(s); err != nil {
					t.Fatal(err)
				}
				if id = s.ID(); id == "" {
					id = before // destroyed
				}
			})
			seen()
			obs.expect(t, want, id)
		}
		step(sesame.EventCreated, func(s *sesame.Session) error { return s.Put("a", 1) })
		step(sesame.EventLoggedIn, func(s *sesame.Session) error { return s.Login(u("alice")) })
		step(sesame.EventRenewed, (*sesame.Session).Renew)
		step(sesame.EventReauthenticated, (*sesame.Session).Reauthenticate)
		step(sesame.EventDestroyed, (*sesame.Session).Destroy)

		if _, ok := b.impl().(driver.UserStore); ok {
			other := NewClient(t, m)
			oid := other.Login(u("alice"))
			tokens[other.Cookie] = true
			obs.reset()
			if err := m.Revoke(t.Context(), u("alice"), oid); err != nil {
				t.Fatal(err)
			}
			obs.expect(t, sesame.EventRevoked, oid)
		}
		if _, ok := b.impl().(driver.UserDeleter); ok {
			obs.reset()
			switch _, err := m.RevokeAll(t.Context(), u("alice"), ""); {
			case errors.Is(err, sesame.ErrNotSupported): // a Sealer without revocations
			case err != nil:
				t.Fatal(err)
			default:
				obs.expect(t, sesame.EventRevokedAll, "")
			}
		}
		obs.mu.Lock()
		defer obs.mu.Unlock()
		for _, e := range obs.all {
			s := fmt.Sprintf("%+v", e)
			for tok := range tokens {
				if tok != "" && strings.Contains(s, tok) {
					t.Errorf("event %s holds a token", e.Kind)
				}
			}
		}
	}},
}

func checkDevice(t *testing.T, c *Client, what string, want sesame.Device) {
	t.Helper()
	var got sesame.Device
	var label string
	c.Session(func(s *sesame.Session) { got, label = s.Info().Device, s.Info().Label })
	if got != want {
		t.Errorf("%s: Device %+v, want %+v", what, got, want)
	}
	if label == "" {
		t.Errorf("%s: empty DeviceLabel", what)
	}
}

func authAt(t *testing.T, c *Client) time.Time {
	t.Helper()
	var at time.Time
	c.Session(func(s *sesame.Session) { at = s.Info().AuthenticatedAt })
	if at.IsZero() {
		t.Fatal("AuthenticatedAt is zero for a logged-in session")
	}
	return at
}

// waitPast waits until the clock, at the millisecond precision stores
// keep, has passed t.
func waitPast(t time.Time) {
	for !time.Now().Truncate(time.Millisecond).After(t) {
		time.Sleep(time.Millisecond)
	}
}

// recorder is an Observer that keeps every event.
type recorder struct {
	mu  sync.Mutex
	all []sesame.Event
	cur []sesame.Event
}

func (r *recorder) Event(_ context.Context, e sesame.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, e)
	r.cur = append(r.cur, e)
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cur = nil
}

// expect fails t unless the events since the last reset include one of
// kind for the session id ("" for any).
func (r *recorder) expect(t *testing.T, kind sesame.EventKind, id string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.cur {
		if e.Kind == kind && (id == "" || e.ID == id) {
			return
		}
	}
	t.Errorf("no %s event for session %.8s; got %+v", kind, id, r.cur)
}
