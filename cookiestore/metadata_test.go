package cookiestore_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/cookiestore"
	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/sesametest"
)

// previousValues are cookie values sealed (and signed) by the code before
// AuthenticatedAt and Device were added, with fixtureKey, for the cookie
// "session". They are kept, not regenerated: each holds the session
// "fixture-id" of alice, Persist, created 2026-01-02T03:04:05.006Z, last
// seen a minute later, no deadline, expiring 2200-01-01, holding cart
// ["apple","pear"].
var previousValues = map[string]string{
	"sealed": "AQJrMYL3hqIwQjzyU5oso3yQJkL8duwJS48QK0zT8_50uibzSTigk0t3FWYrNpCEs0OSl_8N5cF6ZQ_UoCHw-kqoyNrqnPE7O3djUl9bN3kxYipHrNqrGzkfs7sZvPxPmVrL5dCyYWF39V1ZLEvI",
	"signed": "AgJrMQEKZml4dHVyZS1pZAVhbGljZZyyzMrvZtzb08rvZv_f5qLioByAoI2ZvaYDAQRjYXJ0EFsiYXBwbGUiLCJwZWFyIl3j2TUq0iFx3Po21lu1xWnLEQjuyphsIyUNJAXuRDQwZQ",
}

// fixtureKey is the key "k1" whose secret is the bytes 0 to 31.
func fixtureKey() cookiestore.Key {
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = byte(i)
	}
	return cookiestore.Key{ID: "k1", Secret: secret}
}

func TestValuesSealedInThePreviousFormatStillOpen(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			// A lifetime long enough for the fixture's creation time.
			st := newStore(t, cookiestore.Options{Keys: []cookiestore.Key{fixtureKey()}, SignOnly: mode.signOnly, Lifetime: 200 * 365 * 24 * time.Hour})
			out, err := st.Open(t.Context(), "session", previousValues[mode.name])
			if err != nil {
				t.Fatalf("Open of a value in the previous format: %v", err)
			}
			rec := out.Record
			if out.ID != "fixture-id" || out.Stale || rec.User != "alice" || !rec.Persist ||
				!rec.Created.Equal(created) || !rec.LastSeen.Equal(created.Add(time.Minute)) ||
				!rec.Deadline.IsZero() || !rec.Expires.Equal(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("opened %+v, %+v", out, rec)
			}
			if !rec.AuthenticatedAt.IsZero() || rec.Device != (driver.Device{}) {
				t.Errorf("AuthenticatedAt %v, Device %+v; want both zero", rec.AuthenticatedAt, rec.Device)
			}
			if cart, err := sesame.Decode[[]string](rec.Values["cart"]); err != nil || len(cart) != 2 || cart[0] != "apple" || cart[1] != "pear" {
				t.Errorf("cart = %v, %v", cart, err)
			}
			// The same session, sealed by today's code with the new
			// fields, opens with them.
			rec.AuthenticatedAt = created
			rec.Device = driver.Device{UserAgent: "Mozilla/5.0", IP: "192.0.2.1"}
			v, err := st.Seal(t.Context(), "session", out)
			if err != nil {
				t.Fatal(err)
			}
			again, err := st.Open(t.Context(), "session", v)
			if err != nil {
				t.Fatal(err)
			}
			if !again.Record.AuthenticatedAt.Equal(created) || again.Record.Device != rec.Device {
				t.Errorf("re-sealed: AuthenticatedAt %v, Device %+v", again.Record.AuthenticatedAt, again.Record.Device)
			}
		})
	}
}

func TestAuthenticationTimeAndDeviceRoundTrip(t *testing.T) {
	now := time.Now()
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			st := newStore(t, cookiestore.Options{SignOnly: mode.signOnly})
			for name, rec := range map[string]*driver.Record{
				"neither": {User: "alice"},
				"both": {User: "alice", AuthenticatedAt: now.Add(-time.Hour),
					Device: driver.Device{UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0 «ünïcödé»", IP: "2001:db8::/48"}},
				"a device without a user": {Device: driver.Device{UserAgent: "curl/8.5.0"}, Values: map[string]any{"k": 1}},
			} {
				rec.Created, rec.LastSeen, rec.Deadline, rec.Expires = now.Add(-2*time.Hour), now, now.Add(time.Hour), now.Add(time.Minute)
				v, err := st.Seal(t.Context(), "session", driver.Sealed{ID: "id", Record: rec})
				if err != nil {
					t.Fatal(err)
				}
				out, err := st.Open(t.Context(), "session", v)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				got, want := out.Record.AuthenticatedAt, rec.AuthenticatedAt.Truncate(time.Millisecond)
				if !got.Equal(want) || got.IsZero() != want.IsZero() {
					t.Errorf("%s: AuthenticatedAt %v, want %v (to the millisecond)", name, got, want)
				}
				if out.Record.Device != rec.Device {
					t.Errorf("%s: Device %+v, want %+v", name, out.Record.Device, rec.Device)
				}
			}
		})
	}
}

// longUserAgent is longer than driver.MaxUserAgentLen, so the Manager keeps
// its first 256 bytes.
var longUserAgent = "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) " +
	strings.Repeat("Version/4.0 Chrome/120.0.6099.230 Mobile Safari/537.36 ", 4)

// longIP is the longest IPv6 address the Manager keeps in full.
const longIP = "2001:db8:85a3:8d3:1319:8a2e:370:7348"

func TestA256ByteUserAgentFitsBesideASmallSession(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			st := newStore(t, cookiestore.Options{SignOnly: mode.signOnly, Revocation: revocations(t)})
			m := manager(st, sesame.Config{}, nil)
			c := &sesametest.Client{Test: t, Manager: m, UserAgent: longUserAgent, RemoteAddr: "[" + longIP + "]:443"}
			c.Login("alice@example.com")
			c.Put("cart", []string{"apple", "pear"})
			c.Put("csrf", strings.Repeat("t", 43))
			var line string
			resp := c.Do(func(w http.ResponseWriter, r *http.Request) {
				sesame.FromContext(r.Context()).RememberMe(true) // the longer Set-Cookie line
			})
			if h := resp.Header.Values("Set-Cookie"); len(h) == 1 {
				line = h[0]
			}
			if line == "" || len(line) > 4096 {
				t.Fatalf("Set-Cookie %d bytes: %.80q", len(line), line)
			}
			out, err := st.Open(t.Context(), m.Name(), c.Cookie)
			if err != nil {
				t.Fatal(err)
			}
			want := driver.Device{UserAgent: longUserAgent[:driver.MaxUserAgentLen], IP: longIP}
			if out.Record.Device != want {
				t.Errorf("Device %+v, want %+v", out.Record.Device, want)
			}
			if out.Record.AuthenticatedAt.IsZero() {
				t.Error("AuthenticatedAt is zero after a Login")
			}
			t.Logf("Set-Cookie line %d bytes (value %d), of 4096", len(line), len(c.Cookie))
		})
	}
}

func TestExpiredSessionsAreReportedAsExpired(t *testing.T) {
	now := time.Now()
	past := []struct {
		name string
		rec  *driver.Record
	}{
		{"past its expiry", &driver.Record{Created: now.Add(-time.Minute), LastSeen: now.Add(-time.Minute), Deadline: now.Add(time.Minute), Expires: now.Add(-time.Millisecond)}},
		{"past its deadline", &driver.Record{Created: now.Add(-time.Minute), LastSeen: now, Deadline: now.Add(-time.Millisecond), Expires: now.Add(time.Minute)}},
		{"older than the lifetime", &driver.Record{Created: now.Add(-2 * time.Hour), LastSeen: now, Deadline: now.Add(time.Hour), Expires: now.Add(time.Minute)}},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			marks := newSpy(t)
			st := newStore(t, cookiestore.Options{SignOnly: mode.signOnly, Lifetime: time.Hour, Revocation: marks})
			for _, tc := range past {
				tc.rec.User, tc.rec.Values = "alice", map[string]any{"k": 1}
				v, err := st.Seal(t.Context(), "session", driver.Sealed{ID: "id", Record: tc.rec})
				if err != nil {
					t.Fatal(err)
				}
				marks.count()
				_, err = st.Open(t.Context(), "session", v)
				if !errors.Is(err, driver.ErrNotFound) || !errors.Is(err, driver.ErrExpired) {
					t.Errorf("%s: Open = %v, want an error wrapping ErrNotFound and ErrExpired", tc.name, err)
				}
				if reads, _ := marks.count(); reads != 0 {
					t.Errorf("%s: Open read the revocation mark of an expired session %d times", tc.name, reads)
				}
				// Tampered, it is a forgery: not known to be expired.
				_, err = st.Open(t.Context(), "session", tamper(v))
				mustNotFoundAlone(t, err, tc.name+", tampered")
			}

			// A live session: tampered, for another cookie name, and
			// revoked, each ErrNotFound alone.
			live := sesametest.Record("alice", map[string]any{"k": 1})
			v, err := st.Seal(t.Context(), "session", driver.Sealed{ID: "live", Record: live})
			if err != nil {
				t.Fatal(err)
			}
			_, err = st.Open(t.Context(), "other", v)
			mustNotFoundAlone(t, err, "a live value under another name")
			_, err = st.Open(t.Context(), "session", tamper(v))
			mustNotFoundAlone(t, err, "a tampered live value")
			if err := st.Revoke(t.Context(), driver.Sealed{ID: "live", Record: live}); err != nil {
				t.Fatal(err)
			}
			_, err = st.Open(t.Context(), "session", v)
			mustNotFoundAlone(t, err, "a revoked value")
		})
	}
}

// tamper returns v with the last byte of its tag (or MAC) flipped.
func tamper(v string) string {
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		panic(err)
	}
	raw[len(raw)-1] ^= 1
	return base64.RawURLEncoding.EncodeToString(raw)
}

func mustNotFoundAlone(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, driver.ErrNotFound) || errors.Is(err, driver.ErrExpired) {
		t.Errorf("%s: Open = %v, want an error wrapping ErrNotFound and not ErrExpired", what, err)
	}
}

// events is an Observer that keeps the kinds of the events it gets, and
// the last expired event.
type events struct {
	mu      sync.Mutex
	kinds   []sesame.EventKind
	expired sesame.Event
}

func (e *events) Event(_ context.Context, ev sesame.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.kinds = append(e.kinds, ev.Kind)
	if ev.Kind == sesame.EventExpired {
		e.expired = ev
	}
}

func (e *events) take() []sesame.EventKind {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := e.kinds
	e.kinds = nil
	return k
}

func TestTheManagerFiresExpiredForAnExpiredCookieOnly(t *testing.T) {
	st := newStore(t, cookiestore.Options{})
	var seen events
	m := manager(st, sesame.Config{Observer: &seen}, nil)
	now := time.Now()
	rec := &driver.Record{User: "alice", Created: now.Add(-time.Hour), LastSeen: now.Add(-time.Hour), Deadline: now.Add(time.Hour), Expires: now.Add(-time.Second)}
	expired, err := st.Seal(t.Context(), m.Name(), driver.Sealed{ID: "id", Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	forged := tamper(expired)
	for _, tc := range []struct {
		name, cookie string
		want         int
	}{{"expired", expired, 1}, {"forged", forged, 0}} {
		c := &sesametest.Client{Test: t, Manager: m, Cookie: tc.cookie}
		if user := c.User(); user != "" {
			t.Errorf("%s cookie: user %q, want none", tc.name, user)
		}
		n := 0
		for _, k := range seen.take() {
			if k == sesame.EventExpired {
				n++
			}
		}
		if n != tc.want {
			t.Errorf("%s cookie: %d expired events, want %d", tc.name, n, tc.want)
		}
	}
	if seen.expired.ID != "id" || seen.expired.User != "alice" {
		t.Errorf("the expired event names session %q of %q, want \"id\" of \"alice\"", seen.expired.ID, seen.expired.User)
	}
}

func TestAPerUserCapIsRefusedWithACookieStore(t *testing.T) {
	st := newStore(t, cookiestore.Options{Revocation: revocations(t)})
	defer func() {
		err, _ := recover().(error)
		if !errors.Is(err, driver.ErrNotSupported) {
			t.Errorf("sesame.New with MaxSessionsPerUser and a cookie store: panic %v, want an error wrapping ErrNotSupported", err)
		}
	}()
	sesame.New(sesame.Config{Sealer: st, MaxSessionsPerUser: 3})
	t.Error("sesame.New accepted MaxSessionsPerUser with a cookie store")
}

// An Update is a read-modify-write of the request's own cookie: applied in
// sequence, each sees the last.
func TestUpdatesInSequenceAccumulateInTheCookie(t *testing.T) {
	st := newStore(t, cookiestore.Options{})
	m := manager(st, sesame.Config{}, nil)
	c := sesametest.NewClient(t, m)
	for range 5 {
		c.Session(func(s *sesame.Session) {
			if _, err := sesame.Update(s, "n", func(n int) (int, error) { return n + 1, nil }); err != nil {
				t.Fatal(err)
			}
		})
	}
	out, err := st.Open(t.Context(), m.Name(), c.Cookie)
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := out.Record.Values["n"].(json.RawMessage); string(raw) != "5" {
		t.Errorf("n = %s after 5 Updates, want 5", raw)
	}
}

func TestAUsersSessionsCannotBeListedOrRevokedOneByOne(t *testing.T) {
	st := newStore(t, cookiestore.Options{Revocation: revocations(t)})
	m := manager(st, sesame.Config{}, nil)
	c := sesametest.NewClient(t, m)
	c.Login("alice")
	if list, err := m.Sessions(t.Context(), "alice"); !errors.Is(err, driver.ErrNotSupported) {
		t.Errorf("Sessions = %v, %v; want an error wrapping ErrNotSupported", list, err)
	}
	if err := m.Revoke(t.Context(), "alice", "any-id"); !errors.Is(err, driver.ErrNotSupported) {
		t.Errorf("Revoke = %v; want an error wrapping ErrNotSupported", err)
	}
}

func TestReauthenticateCarriesTheNewTimeAndDeniesTheOldCookie(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			st := newStore(t, cookiestore.Options{SignOnly: mode.signOnly, Revocation: revocations(t)})
			m := manager(st, sesame.Config{}, nil)
			c := sesametest.NewClient(t, m)
			c.Login("alice")
			before, err := st.Open(t.Context(), m.Name(), c.Cookie)
			if err != nil {
				t.Fatal(err)
			}
			old := c.Cookie
			time.Sleep(5 * time.Millisecond) // a later millisecond
			c.Session(func(s *sesame.Session) {
				if err := s.Reauthenticate(); err != nil {
					t.Fatal(err)
				}
			})
			after, err := st.Open(t.Context(), m.Name(), c.Cookie)
			if err != nil {
				t.Fatal(err)
			}
			if !after.Record.AuthenticatedAt.After(before.Record.AuthenticatedAt) || after.ID == before.ID {
				t.Errorf("after Reauthenticate: ID %.8s, AuthenticatedAt %v; before: %.8s, %v",
					after.ID, after.Record.AuthenticatedAt, before.ID, before.Record.AuthenticatedAt)
			}
			_, err = st.Open(t.Context(), m.Name(), old)
			mustNotFoundAlone(t, err, "the cookie from before Reauthenticate")
		})
	}
}
