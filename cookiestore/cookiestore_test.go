package cookiestore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
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

// modes are the two ways a Store protects a value.
var modes = []struct {
	name     string
	signOnly bool
}{{"sealed", false}, {"signed", true}}

func newKey(t testing.TB, id string) cookiestore.Key {
	t.Helper()
	k, err := cookiestore.GenerateKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newStore returns a Store on opts.Keys (a new key if none), with opts's
// other settings.
func newStore(t testing.TB, opts cookiestore.Options) *cookiestore.Store {
	t.Helper()
	if opts.Keys == nil {
		opts.Keys = []cookiestore.Key{newKey(t, "")}
	}
	st, err := cookiestore.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// mustRenew renews s, or fails t. It runs in a handler that
// sesametest.Client calls on the test's goroutine.
func mustRenew(t testing.TB, s *sesame.Session) {
	t.Helper()
	if err := s.Renew(); err != nil {
		t.Fatalf("Renew: %v", err)
	}
}

// revocations returns a memstore to keep revocation marks in.
func revocations(t testing.TB) *memstore.Store {
	ms := memstore.New(memstore.Options{})
	t.Cleanup(func() { ms.Close() })
	return ms
}

// manager returns a Manager on st that logs at debug level into log (if
// non-nil). Cookies go over plain HTTP, as the test client does not use TLS.
func manager(st driver.Sealer, cfg sesame.Config, log *bytes.Buffer) *sesame.Manager {
	cfg.Sealer, cfg.Insecure = st, true
	if log != nil {
		cfg.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return sesame.New(cfg)
}

// keyID returns the ID of the key that sealed value, from the documented
// value format: format byte, ID length, ID.
func keyID(t *testing.T, value string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.Strict().DecodeString(value)
	if err != nil || len(raw) < 2 || len(raw) < 2+int(raw[1]) {
		t.Fatalf("value %.20q... is not in the documented format (%v)", value, err)
	}
	return string(raw[2 : 2+raw[1]])
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name       string
		signOnly   bool
		revocation bool
	}{
		{"sealed", false, true},
		{"signed", true, true},
		{"sealed-without-revocation", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sesametest.RunSealer(t, func(t *testing.T) driver.Sealer {
				opts := cookiestore.Options{SignOnly: tc.signOnly}
				if tc.revocation {
					opts.Revocation = revocations(t)
				}
				return newStore(t, opts)
			})
		})
	}
}

// sealedSession returns a cookie value for a session with a user and
// values, made through a Manager on st.
func sealedSession(t *testing.T, m *sesame.Manager) string {
	t.Helper()
	c := sesametest.NewClient(t, m)
	c.Login("alice")
	c.Put("cart", []string{"apple", "pear"})
	if c.Cookie == "" {
		t.Fatal("no cookie")
	}
	return c.Cookie
}

func TestEveryByteFlipGivesAnEmptySession(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			st := newStore(t, cookiestore.Options{SignOnly: mode.signOnly})
			var log bytes.Buffer
			m := manager(st, sesame.Config{}, &log)
			good := sealedSession(t, m)
			if _, err := st.Open(t.Context(), m.Name(), good); err != nil {
				t.Fatalf("the untouched value: %v", err)
			}

			// Every byte of the decoded value (header, nonce, ciphertext,
			// tag or MAC), XORed with every non-zero byte.
			raw, _ := base64.RawURLEncoding.DecodeString(good)
			opens := 0
			for i := range raw {
				for x := 1; x < 256; x++ {
					bad := bytes.Clone(raw)
					bad[i] ^= byte(x)
					_, err := st.Open(t.Context(), m.Name(), base64.RawURLEncoding.EncodeToString(bad))
					if !errors.Is(err, driver.ErrNotFound) {
						t.Fatalf("decoded byte %d ^ %#x: Open = %v, want ErrNotFound", i, x, err)
					}
					opens++
				}
			}
			// Every character of the cookie value, replaced by every other
			// byte value (valid base64url or not).
			for i := range len(good) {
				for c := range 256 {
					if byte(c) == good[i] {
						continue
					}
					bad := []byte(good)
					bad[i] = byte(c)
					_, err := st.Open(t.Context(), m.Name(), string(bad))
					if !errors.Is(err, driver.ErrNotFound) {
						t.Fatalf("char %d = %#x: Open = %v, want ErrNotFound", i, c, err)
					}
					opens++
				}
			}
			// Truncated, extended and re-encoded values.
			var others []string
			for n := range len(good) {
				others = append(others, good[:n])
			}
			others = append(others, good+"A", good+"AAAA", "A"+good, strings.Repeat("A", 5000),
				base64.URLEncoding.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw),
				base64.RawStdEncoding.EncodeToString(raw), `"`+good+`"`, good+"=")
			for _, v := range others {
				if v == good {
					continue
				}
				_, err := st.Open(t.Context(), m.Name(), v)
				sesametest.MustNotFound(t, err, "truncated, extended or re-encoded value")
				opens++
			}
			t.Logf("%d single-byte changes of a %d-byte value (%d characters) and %d other variants: all rejected",
				len(raw)*255, len(raw), len(good), len(others))

			// Through the middleware: an empty session, a 200 and a debug
			// line, for a flip at every position.
			log.Reset()
			for i := range len(good) {
				bad := []byte(good)
				bad[i] ^= 0x01
				c := &sesametest.Client{Test: t, Manager: m, Cookie: string(bad)}
				resp := c.Do(func(w http.ResponseWriter, r *http.Request) {
					s := sesame.FromContext(r.Context())
					if s.User() != "" || s.Has("cart") || !s.IsNew() {
						t.Errorf("char %d ^ 1: the tampered cookie gave a session", i)
					}
				})
				if resp.StatusCode != http.StatusOK {
					t.Errorf("char %d ^ 1: status %d, want 200", i, resp.StatusCode)
				}
			}
			if n := strings.Count(log.String(), "session cookie rejected"); n != len(good) {
				t.Errorf("%d debug lines for %d rejected cookies:\n%s", n, len(good), log.String())
			}
			if strings.Contains(log.String(), good[:len(good)/2]) {
				t.Error("the log holds the cookie value")
			}
			first, _, _ := strings.Cut(log.String(), "\n")
			t.Logf("debug line: %s", first)
		})
	}
}

func TestValueIsBoundToTheCookieName(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			st := newStore(t, cookiestore.Options{SignOnly: mode.signOnly})
			rec := &driver.Record{
				User: "alice", Values: map[string]any{"k": "v"}, Created: time.Now(), LastSeen: time.Now(),
				Deadline: time.Now().Add(time.Hour), Expires: time.Now().Add(time.Hour),
			}
			for _, pair := range [][2]string{{"A", "B"}, {"session", "session2"}, {"ab", "a"}, {"a", "ab"}, {"__Host-s", "s"}} {
				v, err := st.Seal(t.Context(), pair[0], driver.Sealed{ID: "id1", Record: rec})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := st.Open(t.Context(), pair[0], v); err != nil {
					t.Fatalf("Open under its own name %q: %v", pair[0], err)
				}
				_, err = st.Open(t.Context(), pair[1], v)
				sesametest.MustNotFound(t, err, "Open of a value sealed for "+pair[0]+" under "+pair[1])
			}

			// Through two Managers sharing the store and its keys.
			a := manager(st, sesame.Config{Name: "A"}, nil)
			b := manager(st, sesame.Config{Name: "B"}, nil)
			moved := &sesametest.Client{Test: t, Manager: b, Cookie: sealedSession(t, a)}
			if u := moved.User(); u != "" {
				t.Errorf("cookie A accepted as cookie B: user %q", u)
			}
		})
	}
}

func TestSignedAndSealedValuesAreNotInterchangeable(t *testing.T) {
	keys := []cookiestore.Key{newKey(t, "k1")}
	sealed := newStore(t, cookiestore.Options{Keys: keys})
	signed := newStore(t, cookiestore.Options{Keys: keys, SignOnly: true})
	vs := sealedSession(t, manager(sealed, sesame.Config{}, nil))
	vg := sealedSession(t, manager(signed, sesame.Config{}, nil))
	_, err := signed.Open(t.Context(), "session", vs)
	sesametest.MustNotFound(t, err, "a sealed value opened by a signing store")
	_, err = sealed.Open(t.Context(), "session", vg)
	sesametest.MustNotFound(t, err, "a signed value opened by a sealing store")
}

func TestReplayAfterTheAbsoluteLifetimeIsRejected(t *testing.T) {
	const lifetime = 600 * time.Millisecond
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			st := newStore(t, cookiestore.Options{SignOnly: mode.signOnly, Lifetime: lifetime})
			m := manager(st, sesame.Config{Lifetime: lifetime, IdleTimeout: -1, Persist: true}, nil)
			c := sesametest.NewClient(t, m)
			// The session is created after start (Created is kept in
			// milliseconds, rounded down: so is start), and before created.
			start := time.Now().Truncate(time.Millisecond)
			c.Put("k", 0)
			created := time.Now()
			first := c.Cookie
			for i := 1; time.Since(start) < lifetime/2; i++ { // an active session
				c.Put("k", i)
				time.Sleep(50 * time.Millisecond)
			}
			// Judged against the time measured, not the sleeps: a stalled
			// machine can only skip this check, never fail it.
			if replay := (&sesametest.Client{Test: t, Manager: m, Cookie: first}); !replay.Has("k") {
				if time.Since(start) < lifetime {
					t.Fatal("the first cookie was rejected within the lifetime")
				}
				t.Skipf("the machine stalled past the %v lifetime before the replay; cannot judge", lifetime)
			}
			time.Sleep(time.Until(created.Add(lifetime + 50*time.Millisecond)))
			// The client ignores Max-Age: it sends both cookies again.
			for name, v := range map[string]string{"first": first, "latest": c.Cookie} {
				if replay := (&sesametest.Client{Test: t, Manager: m, Cookie: v}); replay.Has("k") {
					t.Errorf("the %s cookie, replayed after the absolute lifetime, still works", name)
				}
				_, err := st.Open(t.Context(), m.Name(), v)
				sesametest.MustNotFound(t, err, "Open of the "+name+" cookie after the lifetime")
			}
		})
	}
}

func TestReplayAfterTheIdleTimeoutIsRejected(t *testing.T) {
	const idle = 400 * time.Millisecond
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			st := newStore(t, cookiestore.Options{SignOnly: mode.signOnly})
			m := manager(st, sesame.Config{IdleTimeout: idle, TouchInterval: -1, Persist: true}, nil)
			c := sesametest.NewClient(t, m)
			// The session is last seen after last (LastSeen is kept in
			// milliseconds, rounded down: so is last), and before seen.
			last := time.Now().Truncate(time.Millisecond)
			c.Put("k", "v")
			seen := time.Now()
			old := c.Cookie
			time.Sleep(idle / 2)
			// Judged against the time measured, not the sleep: a stalled
			// machine can only skip this check, never fail it.
			if replay := (&sesametest.Client{Test: t, Manager: m, Cookie: old}); !replay.Has("k") {
				if time.Since(last) < idle {
					t.Fatal("the cookie was rejected before the idle timeout")
				}
				t.Skipf("the machine stalled for over the %v idle timeout before the replay; cannot judge", idle)
			}
			time.Sleep(time.Until(seen.Add(idle + 100*time.Millisecond)))
			if replay := (&sesametest.Client{Test: t, Manager: m, Cookie: old}); replay.Has("k") {
				t.Error("a cookie replayed after the idle timeout still works")
			}
			// Open itself rejects it from the sealed expiry, whatever the
			// Manager's settings: a Manager with a long idle timeout (say,
			// after a configuration change) does not bring it back.
			_, err := st.Open(t.Context(), m.Name(), old)
			sesametest.MustNotFound(t, err, "Open after the sealed expiry")
			lenient := manager(st, sesame.Config{IdleTimeout: time.Hour}, nil)
			if replay := (&sesametest.Client{Test: t, Manager: lenient, Cookie: old}); replay.Has("k") {
				t.Error("a Manager with a longer idle timeout accepted the expired cookie")
			}
		})
	}
}

func TestOpenRejectsSessionsOlderThanTheLifetime(t *testing.T) {
	st := newStore(t, cookiestore.Options{Lifetime: time.Hour})
	now := time.Now()
	for name, rec := range map[string]*driver.Record{
		"expired":       {Created: now.Add(-time.Minute), LastSeen: now.Add(-time.Minute), Deadline: now.Add(time.Minute), Expires: now.Add(-time.Millisecond)},
		"past deadline": {Created: now.Add(-time.Minute), LastSeen: now, Deadline: now.Add(-time.Millisecond), Expires: now.Add(time.Minute)},
		"too old":       {Created: now.Add(-2 * time.Hour), LastSeen: now, Deadline: now.Add(time.Hour), Expires: now.Add(time.Minute)},
	} {
		rec.Values = map[string]any{"k": 1}
		v, err := st.Seal(t.Context(), "session", driver.Sealed{ID: "id", Record: rec})
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.Open(t.Context(), "session", v)
		sesametest.MustNotFound(t, err, name)
	}
}

func TestRotationKeepsSessionsAndReseals(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			k1, k2 := newKey(t, "k1"), newKey(t, "k2")
			before := newStore(t, cookiestore.Options{Keys: []cookiestore.Key{k1}, SignOnly: mode.signOnly})
			old := sealedSession(t, manager(before, sesame.Config{}, nil))
			if id := keyID(t, old); id != "k1" {
				t.Fatalf("sealed with key %q, want k1", id)
			}

			// The new key is added first; the old one stays.
			after := newStore(t, cookiestore.Options{Keys: []cookiestore.Key{k2, k1}, SignOnly: mode.signOnly})
			opened, err := after.Open(t.Context(), "session", old)
			if err != nil || !opened.Stale {
				t.Fatalf("Open with the old key: stale %v, %v; want a stale session", opened.Stale, err)
			}
			m := manager(after, sesame.Config{}, nil)
			c := &sesametest.Client{Test: t, Manager: m, Cookie: old}
			resp := c.Session(func(s *sesame.Session) { // a read-only request
				cart, _ := sesame.Get[[]string](s, "cart")
				if s.User() != "alice" || len(cart) != 2 {
					t.Errorf("after rotation: user %q, cart %v; want alice's session", s.User(), cart)
				}
			})
			if sesametest.SetCookie(resp, m.Name()) == "" || c.Cookie == old {
				t.Fatal("a value opened with the old key was not re-sealed on that response")
			}
			if id := keyID(t, c.Cookie); id != "k2" {
				t.Errorf("re-sealed with key %q, want k2", id)
			}
			if c.User() != "alice" {
				t.Error("the re-sealed cookie does not log in")
			}
			// The re-sealed value needs only the new key.
			only2 := newStore(t, cookiestore.Options{Keys: []cookiestore.Key{k2}, SignOnly: mode.signOnly})
			if s, err := only2.Open(t.Context(), "session", c.Cookie); err != nil || s.Stale || s.Record.User != "alice" {
				t.Errorf("the re-sealed value under the new key alone: %+v, %v", s, err)
			}
		})
	}
}

func TestRemovedKeyIsRejected(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			k1, k2 := newKey(t, "k1"), newKey(t, "k2")
			old := sealedSession(t, manager(newStore(t, cookiestore.Options{Keys: []cookiestore.Key{k1}, SignOnly: mode.signOnly}), sesame.Config{}, nil))
			st := newStore(t, cookiestore.Options{Keys: []cookiestore.Key{k2}, SignOnly: mode.signOnly})
			_, err := st.Open(t.Context(), "session", old)
			sesametest.MustNotFound(t, err, "Open of a value sealed with a removed key")
			c := &sesametest.Client{Test: t, Manager: manager(st, sesame.Config{}, nil), Cookie: old}
			if u := c.User(); u != "" {
				t.Errorf("a cookie sealed with a removed key logs in as %q", u)
			}
			// A key with the old ID but another secret does not open it either.
			impostor := newKey(t, "k1")
			st = newStore(t, cookiestore.Options{Keys: []cookiestore.Key{impostor}, SignOnly: mode.signOnly})
			_, err = st.Open(t.Context(), "session", old)
			sesametest.MustNotFound(t, err, "Open with another key of the same ID")
		})
	}
}

func TestOversizeSessionFailsBeforeAnythingIsSent(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			st := newStore(t, cookiestore.Options{SignOnly: mode.signOnly})
			var got []error
			m := sesame.New(sesame.Config{Sealer: st, Insecure: true, ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				got = append(got, err)
				http.Error(w, "session too large", http.StatusInternalServerError)
			}})
			big := strings.Repeat("0123456789abcdef", 5000/16)
			for _, existing := range []bool{false, true} {
				got = nil
				c := sesametest.NewClient(t, m)
				if existing {
					c.Login("alice")
				}
				before := c.Cookie
				resp := c.Do(func(w http.ResponseWriter, r *http.Request) {
					sesame.FromContext(r.Context()).Put("big", big)
					w.Write([]byte("handler body"))
				})
				if len(got) != 1 {
					t.Fatalf("existing=%v: the ErrorHandler ran %d times, want once", existing, len(got))
				}
				var tooLarge *sesame.LimitError
				if !errors.As(got[0], &tooLarge) {
					t.Fatalf("existing=%v: ErrorHandler got %v, want a *sesame.LimitError", existing, got[0])
				}
				if tooLarge.Limit != "cookie" || tooLarge.Max != 4096 || tooLarge.Got <= 4096 {
					t.Errorf("existing=%v: error %+v", existing, tooLarge)
				}
				if h := resp.Header.Values("Set-Cookie"); len(h) != 0 {
					t.Errorf("existing=%v: Set-Cookie sent: %.80q", existing, h)
				}
				if body := readBody(resp); resp.StatusCode != 500 || strings.Contains(body, "handler body") {
					t.Errorf("existing=%v: status %d, body %q; want only the ErrorHandler's answer", existing, resp.StatusCode, body)
				}
				if c.Cookie != before {
					t.Errorf("existing=%v: the client's cookie changed", existing)
				}
				t.Logf("existing=%v: %v", existing, tooLarge)
			}

			// A session just under the limit is still sent whole, beside
			// the largest Device (a 256-byte User-Agent, an IPv6 address).
			got = nil
			c := sesametest.NewClient(t, m)
			c.UserAgent, c.RemoteAddr = longUserAgent, "["+longIP+"]:443"
			c.Login("alice")
			c.Session(func(s *sesame.Session) { s.Put("big", big[:2500]); s.RememberMe(true) })
			if len(got) != 0 || c.Cookie == "" {
				t.Fatalf("a session with 2500 bytes of values failed: %v", got)
			}
			c.Session(func(s *sesame.Session) {
				if v, _ := sesame.Get[string](s, "big"); v != big[:2500] {
					t.Error("the 2500-byte value did not come back whole")
				}
				if d := s.Info().Device; len(d.UserAgent) != driver.MaxUserAgentLen || d.IP != longIP {
					t.Errorf("Device %+v, want the 256-byte User-Agent and %s", d, longIP)
				}
			})
		})
	}
}

func readBody(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestValuesComeBackAsRawJSONWithTheirTypes(t *testing.T) {
	st := newStore(t, cookiestore.Options{})
	now := time.Now()
	when := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	rec := &driver.Record{
		User: "alice", Persist: true, Created: now, LastSeen: now, Deadline: now.Add(time.Hour), Expires: now.Add(time.Minute),
		Values: map[string]any{"id": int64(1<<62 + 1), "when": when, "raw": json.RawMessage(`{"a":[1,2]}`), "nil": nil},
	}
	v, err := st.Seal(t.Context(), "session", driver.Sealed{ID: "the-id", Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	out, err := st.Open(t.Context(), "session", v)
	if err != nil {
		t.Fatal(err)
	}
	if out.ID != "the-id" || out.Stale || out.Record.User != "alice" || !out.Record.Persist {
		t.Errorf("opened %+v", out)
	}
	for name, pair := range map[string][2]time.Time{
		"Created": {rec.Created, out.Record.Created}, "LastSeen": {rec.LastSeen, out.Record.LastSeen},
		"Deadline": {rec.Deadline, out.Record.Deadline}, "Expires": {rec.Expires, out.Record.Expires},
	} {
		if d := pair[0].Sub(pair[1]); d < 0 || d >= time.Millisecond {
			t.Errorf("%s: sealed %v, opened %v; want it within a millisecond, never later", name, pair[0], pair[1])
		}
	}
	for k, v := range out.Record.Values {
		if _, ok := v.(json.RawMessage); !ok {
			t.Errorf("value %q is a %T, want json.RawMessage", k, v)
		}
	}
	if id, err := sesame.Decode[int64](out.Record.Values["id"]); err != nil || id != 1<<62+1 {
		t.Errorf("id = %v, %v", id, err)
	}
	if w, err := sesame.Decode[time.Time](out.Record.Values["when"]); err != nil || !w.Equal(when) {
		t.Errorf("when = %v, %v", w, err)
	}
	if raw := out.Record.Values["raw"].(json.RawMessage); string(raw) != `{"a":[1,2]}` {
		t.Errorf("raw = %s", raw)
	}
	if p, err := sesame.Decode[*int](out.Record.Values["nil"]); err != nil || p != nil {
		t.Errorf("nil = %v, %v", p, err)
	}
}

func TestSealRejectsWhatItCannotSeal(t *testing.T) {
	st := newStore(t, cookiestore.Options{})
	now := time.Now()
	rec := func(vals map[string]any) *driver.Record {
		return &driver.Record{Created: now, LastSeen: now, Deadline: now.Add(time.Hour), Expires: now.Add(time.Hour), Values: vals}
	}
	for name, in := range map[string]driver.Sealed{
		"a value that is not JSON": {ID: "id", Record: rec(map[string]any{"f": func() {}})},
		"no ID":                    {Record: rec(map[string]any{"k": 1})},
		"no Record":                {ID: "id"},
	} {
		if v, err := st.Seal(t.Context(), "session", in); err == nil {
			t.Errorf("Seal of %s succeeded: %.20q", name, v)
		}
	}
}

func TestRevokeAllLogsOutTheUsersOtherCookies(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			marks := revocations(t)
			st := newStore(t, cookiestore.Options{SignOnly: mode.signOnly, Revocation: marks})
			m := manager(st, sesame.Config{}, nil)
			alice := []*sesametest.Client{sesametest.NewClient(t, m), sesametest.NewClient(t, m), sesametest.NewClient(t, m)}
			var ids []string
			for _, c := range alice {
				ids = append(ids, c.Login("alice"))
			}
			bob := sesametest.NewClient(t, m)
			bob.Login("bob")
			stolen := alice[2].Cookie // a copy kept by an attacker

			start := time.Now()
			n, err := m.RevokeAll(t.Context(), "alice", ids[1])
			if err != nil {
				t.Fatal(err)
			}
			if n != driver.CountUnknown {
				t.Errorf("RevokeAll returned %d, want driver.CountUnknown", n)
			}
			for i, want := range []string{"", "alice", ""} {
				if got := (alice[i]).User(); got != want {
					t.Errorf("alice's device %d: user %q, want %q", i, got, want)
				}
			}
			if bob.User() != "bob" {
				t.Error("revoking alice ended bob's session")
			}
			if c := (&sesametest.Client{Test: t, Manager: m, Cookie: stolen}); c.User() != "" {
				t.Error("a copy of a revoked cookie still works")
			}

			// The mark: Before rounded up to the next millisecond, kept for
			// the lifetime.
			r, err := marks.Revocation(t.Context(), "alice", "")
			if err != nil {
				t.Fatal(err)
			}
			if !r.Before.After(start) || r.Before.Sub(start) > 50*time.Millisecond || r.Before.Truncate(time.Millisecond) != r.Before {
				t.Errorf("mark Before %v: want the next millisecond after %v", r.Before, start)
			}
			if r.Keep != ids[1] || !r.Expires.Equal(r.Before.Add(driver.DefaultLifetime)) {
				t.Errorf("mark %+v: want Keep %s and Expires Before+%v", r, ids[1], driver.DefaultLifetime)
			}

			// Logging in again after the revocation works.
			again := sesametest.NewClient(t, m)
			again.Login("alice")
			if again.User() != "alice" {
				t.Error("a login right after RevokeAll was revoked")
			}
		})
	}
}

func TestRenewRightAfterRevokeAllSurvives(t *testing.T) {
	// A password change: revoke every other session, then renew this one,
	// in the same request, within the same millisecond.
	st := newStore(t, cookiestore.Options{Revocation: revocations(t)})
	m := manager(st, sesame.Config{}, nil)
	for i := range 20 {
		c := sesametest.NewClient(t, m)
		c.Login("alice")
		c.Session(func(s *sesame.Session) {
			if _, err := m.RevokeAll(t.Context(), "alice", s.ID()); err != nil {
				t.Fatal(err)
			}
			mustRenew(t, s)
		})
		if c.User() != "alice" {
			t.Fatalf("round %d: the session renewed after RevokeAll was revoked", i)
		}
	}
}

// spyMarks is a real RevocationStore (a memstore) that counts its calls,
// records its Denys, can fail every call with fail, and can pause a Deny
// until the test lets it go on.
type spyMarks struct {
	*memstore.Store
	mu            sync.Mutex
	reads, writes int
	denied        map[string]time.Time // every Deny's id and expiry
	fail          error
	// pause, if set, is called by the next Deny before it runs, once.
	pause func()
}

func newSpy(t testing.TB) *spyMarks {
	return &spyMarks{Store: revocations(t), denied: map[string]time.Time{}}
}

func (c *spyMarks) Revocation(ctx context.Context, user string, ids ...string) (driver.Revocation, error) {
	c.mu.Lock()
	c.reads++
	err := c.fail
	c.mu.Unlock()
	if err != nil {
		return driver.Revocation{}, err
	}
	return c.Store.Revocation(ctx, user, ids...)
}

func (c *spyMarks) SetRevocation(ctx context.Context, user string, r driver.Revocation) error {
	c.mu.Lock()
	c.writes++
	err := c.fail
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return c.Store.SetRevocation(ctx, user, r)
}

func (c *spyMarks) Deny(ctx context.Context, user, id string, renewed bool, expires time.Time) (bool, error) {
	c.mu.Lock()
	c.writes++
	err, pause := c.fail, c.pause
	c.pause = nil
	c.denied[id] = expires
	c.mu.Unlock()
	if pause != nil {
		pause()
	}
	if err != nil {
		return false, err
	}
	return c.Store.Deny(ctx, user, id, renewed, expires)
}

// count returns the reads and writes since the last count.
func (c *spyMarks) count() (reads, writes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reads, writes = c.reads, c.writes
	c.reads, c.writes = 0, 0
	return reads, writes
}

func (c *spyMarks) setFail(err error) {
	c.mu.Lock()
	c.fail = err
	c.mu.Unlock()
}

func (c *spyMarks) denial(id string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.denied[id]
	return until, ok
}

func TestRevocationCostsWhatTheDocSays(t *testing.T) {
	marks := newSpy(t)
	m := manager(newStore(t, cookiestore.Options{Revocation: marks}), sesame.Config{}, nil)
	anon, user := sesametest.NewClient(t, m), sesametest.NewClient(t, m)
	anon.Put("k", 1)
	user.Login("alice")
	marks.count()
	for _, tc := range []struct {
		name          string
		c             *sesametest.Client
		h             func(w http.ResponseWriter, r *http.Request)
		reads, writes int
	}{
		{"untouched", user, func(w http.ResponseWriter, r *http.Request) {}, 0, 0},
		{"session without a user", anon, func(w http.ResponseWriter, r *http.Request) { sesame.FromContext(r.Context()).Has("k") }, 0, 0},
		{"renew of a session without a user", anon, func(w http.ResponseWriter, r *http.Request) { mustRenew(t, sesame.FromContext(r.Context())) }, 0, 0},
		{"session with a user", user, func(w http.ResponseWriter, r *http.Request) {
			s := sesame.FromContext(r.Context())
			s.Has("k")
			s.User()
			s.Put("k", 2)
		}, 1, 0},
		{"renew of a session with a user", user, func(w http.ResponseWriter, r *http.Request) { mustRenew(t, sesame.FromContext(r.Context())) }, 2, 1},
		{"login of a session with a user", user, func(w http.ResponseWriter, r *http.Request) { sesame.FromContext(r.Context()).Login("alice") }, 2, 1},
		{"destroy of a session with a user", user, func(w http.ResponseWriter, r *http.Request) { sesame.FromContext(r.Context()).Destroy() }, 1, 1},
		{"destroy of a session without a user", anon, func(w http.ResponseWriter, r *http.Request) { sesame.FromContext(r.Context()).Destroy() }, 0, 0},
	} {
		if resp := tc.c.Do(tc.h); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", tc.name, resp.StatusCode)
		}
		if r, w := marks.count(); r != tc.reads || w != tc.writes {
			t.Errorf("%s: %d revocation reads and %d writes, want %d and %d", tc.name, r, w, tc.reads, tc.writes)
		}
	}
	if _, err := m.RevokeAll(t.Context(), "alice", ""); err != nil {
		t.Fatal(err)
	}
	if r, w := marks.count(); r != 0 || w != 1 {
		t.Errorf("RevokeAll: %d revocation reads and %d writes, want 0 and 1", r, w)
	}
}

func TestRevocationStoreFailureIsAServerError(t *testing.T) {
	marks := newSpy(t)
	st := newStore(t, cookiestore.Options{Revocation: marks})
	var got error
	m := sesame.New(sesame.Config{Sealer: st, Insecure: true, ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}})
	c := sesametest.NewClient(t, m)
	c.Login("alice")
	login := c.Cookie
	down := errors.New("revocation store down")
	marks.setFail(down)

	// Every request that needs the RevocationStore fails with the
	// ErrorHandler's answer and sends no cookie: the load of a session
	// with a user (Open), a Renew (Seal) and a Destroy (Revoke).
	for name, h := range map[string]func(s *sesame.Session){
		"load":    func(s *sesame.Session) { s.User() },
		"renew":   func(s *sesame.Session) { mustRenew(t, s) },
		"destroy": func(s *sesame.Session) { s.Destroy() },
		"blind":   func(s *sesame.Session) { s.Put("k", 1) },
	} {
		got = nil
		resp := (&sesametest.Client{Test: t, Manager: m, Cookie: login}).Do(func(w http.ResponseWriter, r *http.Request) {
			h(sesame.FromContext(r.Context()))
			w.Write([]byte("handler body"))
		})
		if resp.StatusCode != http.StatusServiceUnavailable || errors.Is(got, driver.ErrNotFound) || !errors.Is(got, down) {
			t.Errorf("%s: status %d, ErrorHandler got %v; want the ErrorHandler's answer for a store error", name, resp.StatusCode, got)
		}
		if h := resp.Header.Values("Set-Cookie"); len(h) != 0 {
			t.Errorf("%s: a failed revocation check set %q", name, h)
		}
	}
	_, err := st.Open(t.Context(), m.Name(), login)
	if err == nil || errors.Is(err, driver.ErrNotFound) || !errors.Is(err, down) {
		t.Errorf("Open with a failing RevocationStore: %v, want an error wrapping its failure, not ErrNotFound", err)
	}
	// The Seal of a renewal, directly: a failing mark read or Deny gives
	// no value.
	opened := driver.Sealed{ID: "old", Record: &driver.Record{
		User: "alice", Created: time.Now(), LastSeen: time.Now(), Deadline: time.Now().Add(time.Hour), Expires: time.Now().Add(time.Hour),
	}}
	v, err := st.Seal(t.Context(), m.Name(), driver.Sealed{ID: "new", Record: opened.Record, Prev: &opened})
	if v != "" || !errors.Is(err, down) || errors.Is(err, driver.ErrNotFound) {
		t.Errorf("Seal of a renewal with a failing RevocationStore: %q, %v", v, err)
	}
	marks.setFail(nil)
	if (&sesametest.Client{Test: t, Manager: m, Cookie: login}).User() != "alice" {
		t.Error("the session did not survive the RevocationStore's outage")
	}
}

// opened opens the cookie value v with st, or fails t.
func opened(t *testing.T, st *cookiestore.Store, m *sesame.Manager, v string) driver.Sealed {
	t.Helper()
	s, err := st.Open(t.Context(), m.Name(), v)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestCopyOfTheCookieTakenBeforeDestroyIsRejected(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			marks := newSpy(t)
			st := newStore(t, cookiestore.Options{SignOnly: mode.signOnly, Revocation: marks})
			m := manager(st, sesame.Config{}, nil)
			c, other := sesametest.NewClient(t, m), sesametest.NewClient(t, m)
			c.Login("alice")
			other.Login("alice")
			c.Put("cart", "apples") // re-sealed: two copies of one session ID
			copies := []string{c.Cookie}
			c.Put("cart", "pears")
			copies = append(copies, c.Cookie)
			session := opened(t, st, m, c.Cookie)

			resp := c.Session(func(s *sesame.Session) { s.Destroy() })
			if c.Cookie != "" || !strings.Contains(sesametest.SetCookie(resp, m.Name()), "Max-Age=0") {
				t.Errorf("Destroy did not delete the cookie: %q", sesametest.SetCookie(resp, m.Name()))
			}
			for i, v := range copies {
				_, err := st.Open(t.Context(), m.Name(), v)
				if !errors.Is(err, driver.ErrNotFound) || !strings.Contains(fmt.Sprint(err), "revoked") {
					t.Errorf("copy %d: Open after Destroy = %v, want the revoked error", i, err)
				}
				replay := &sesametest.Client{Test: t, Manager: m, Cookie: v}
				if u := replay.User(); u != "" || replay.Has("cart") {
					t.Errorf("copy %d: logged in as %q after Destroy", i, u)
				}
			}
			until, ok := marks.denial(session.ID)
			if !ok || !until.Equal(session.Record.Deadline) {
				t.Errorf("the destroyed ID is denied until %v (%v), want its deadline %v", until, ok, session.Record.Deadline)
			}
			if other.User() != "alice" {
				t.Error("Destroy of one session ended the user's other session")
			}
		})
	}
}

// holdRequest runs a request with cookie whose handler runs first, then
// waits for the returned release function, then runs then. release
// returns the client, which holds the response's cookie.
func holdRequest(t *testing.T, m *sesame.Manager, cookie string, first, then func(s *sesame.Session)) (release func() *sesametest.Client) {
	c := &sesametest.Client{Test: t, Manager: m, Cookie: cookie}
	started, cont, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		c.Do(func(w http.ResponseWriter, r *http.Request) {
			s := sesame.FromContext(r.Context())
			first(s)
			close(started)
			<-cont
			then(s)
		})
	}()
	<-started
	return func() *sesametest.Client {
		close(cont)
		<-done
		return c
	}
}

func TestRenewRacingRevokeAllGivesNoLiveCookie(t *testing.T) {
	// The two places a RevokeAll can land in a renewal: after the request
	// opened the session and before its commit (Seal's mark read sees it),
	// or inside the commit, after Seal read the mark (the renewed cookie
	// keeps the old creation time, so the mark revokes it).
	for _, mode := range modes {
		for _, where := range []string{"before the commit", "inside Seal, after its mark read"} {
			t.Run(mode.name+"/"+where, func(t *testing.T) {
				marks := newSpy(t)
				st := newStore(t, cookiestore.Options{SignOnly: mode.signOnly, Revocation: marks})
				m := manager(st, sesame.Config{}, nil)
				c := sesametest.NewClient(t, m)
				c.Login("alice")
				c.Put("secret", "s")
				revoke := func() {
					if _, err := m.RevokeAll(context.Background(), "alice", ""); err != nil {
						t.Error(err)
					}
				}
				var release func() *sesametest.Client
				if where == "before the commit" {
					release = holdRequest(t, m, c.Cookie, readUser, renewing(t))
					revoke()
				} else {
					marks.mu.Lock()
					marks.pause = revoke // the Deny runs after Seal's mark read
					marks.mu.Unlock()
					release = holdRequest(t, m, c.Cookie, readUser, renewing(t))
				}
				renewed := release()
				if where == "before the commit" && renewed.Cookie != c.Cookie {
					t.Error("the renewal of a session revoked since it was opened sent a cookie; Seal must refuse it")
				}
				if where != "before the commit" {
					marks.mu.Lock()
					paused := marks.pause == nil
					marks.mu.Unlock()
					if !paused {
						t.Fatal("the renewal never reached its Deny")
					}
					if renewed.Cookie == c.Cookie {
						t.Fatal("the renewal sent no cookie; this interleaving needs one")
					}
				}
				for name, v := range map[string]string{"renewed": renewed.Cookie, "original": c.Cookie} {
					if v == "" {
						continue
					}
					cc := &sesametest.Client{Test: t, Manager: m, Cookie: v}
					if u := cc.User(); u != "" || cc.Has("secret") {
						t.Errorf("the %s cookie is logged in as %q after RevokeAll raced a Renew", name, u)
					}
				}
			})
		}
	}
}

func readUser(s *sesame.Session) { s.User() }

// renewing returns a function that renews a session and reports a failure
// to t with Error, as it runs on holdRequest's goroutine.
func renewing(t *testing.T) func(s *sesame.Session) {
	return func(s *sesame.Session) {
		if err := s.Renew(); err != nil {
			t.Errorf("Renew: %v", err)
		}
	}
}

func TestRenewOfTheKeptSessionStaysKept(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			marks := newSpy(t)
			st := newStore(t, cookiestore.Options{SignOnly: mode.signOnly, Revocation: marks})
			m := manager(st, sesame.Config{}, nil)
			kept, other := sesametest.NewClient(t, m), sesametest.NewClient(t, m)
			keptID := kept.Login("alice")
			other.Login("alice")
			stolen := other.Cookie
			before := opened(t, st, m, kept.Cookie)

			// "Log out my other devices", from another request.
			if _, err := m.RevokeAll(t.Context(), "alice", keptID); err != nil {
				t.Fatal(err)
			}
			r, _ := marks.Store.Revocation(t.Context(), "alice", "")
			pre := []string{kept.Cookie}
			for i := range 3 {
				kept.Session(func(s *sesame.Session) { mustRenew(t, s) })
				pre = append(pre, kept.Cookie)
				now := opened(t, st, m, kept.Cookie)
				if now.ID == before.ID || now.Record.User != "alice" {
					t.Fatalf("renewal %d: %+v", i, now)
				}
				if now.Record.Created.Before(r.Before) {
					t.Errorf("renewal %d: Created %v is before the mark %v: the next RevokeAll check revokes it", i, now.Record.Created, r.Before)
				}
				if !now.Record.Deadline.Equal(before.Record.Deadline) {
					t.Errorf("renewal %d: the deadline moved from %v to %v", i, before.Record.Deadline, now.Record.Deadline)
				}
			}
			if kept.User() != "alice" {
				t.Error("the kept session was revoked by its own renewal")
			}
			if other.User() != "" || (&sesametest.Client{Test: t, Manager: m, Cookie: stolen}).User() != "" {
				t.Error("the other device's session survived RevokeAll")
			}
			// The pre-renewal copies of the kept session are denied.
			for i, v := range pre[:len(pre)-1] {
				if u := (&sesametest.Client{Test: t, Manager: m, Cookie: v}).User(); u != "" {
					t.Errorf("the kept session's cookie before renewal %d still logs in as %q", i, u)
				}
			}
			// Being kept once gives no immunity from the next RevokeAll.
			if _, err := m.RevokeAll(t.Context(), "alice", ""); err != nil {
				t.Fatal(err)
			}
			if kept.User() != "" {
				t.Error("the kept session's renewal survived a later RevokeAll")
			}
		})
	}
}

func TestDenyListIsBoundedByExpiry(t *testing.T) {
	const lifetime = 400 * time.Millisecond
	marks := newSpy(t)
	st := newStore(t, cookiestore.Options{Revocation: marks, Lifetime: lifetime})
	m := manager(st, sesame.Config{Lifetime: lifetime}, nil)
	c := sesametest.NewClient(t, m)
	c.Login("alice")
	first := opened(t, st, m, c.Cookie)
	c.Session(func(s *sesame.Session) { mustRenew(t, s) }) // denies first.ID, as renewed away
	second := opened(t, st, m, c.Cookie)
	if second.Origin != first.ID {
		t.Fatalf("the renewed session's origin is %q, want the first ID %q", second.Origin, first.ID)
	}
	r, err := marks.Store.Revocation(t.Context(), "alice", first.ID, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	if renewed, ok := r.Denied[first.ID]; !ok || !renewed || len(r.Denied) != 1 {
		t.Errorf("after a Renew: Denied = %v, want the first ID, as renewed away", r.Denied)
	}
	c.Session(func(s *sesame.Session) { s.Destroy() }) // denies the origin, first.ID, as revoked
	r, err = marks.Store.Revocation(t.Context(), "alice", first.ID, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	if renewed, ok := r.Denied[first.ID]; !ok || renewed || len(r.Denied) != 1 {
		t.Errorf("after a Destroy: Denied = %v, want the origin, as revoked", r.Denied)
	}
	if !marks.denied[first.ID].Equal(first.Record.Deadline) {
		t.Errorf("the origin is denied until %v, want the session's deadline %v", marks.denied[first.ID], first.Record.Deadline)
	}
	time.Sleep(time.Until(first.Record.Deadline.Add(20 * time.Millisecond)))
	r, err = marks.Store.Revocation(t.Context(), "alice", first.ID, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Denied) != 0 {
		t.Errorf("after the sessions' deadline the deny list still holds %v", r.Denied)
	}

	// A Manager with a longer lifetime than the store's would have its
	// sessions cut short: sesame.New refuses it.
	defer func() {
		if r := recover(); r == nil {
			t.Error("sesame.New accepted a Manager whose lifetime is longer than the cookie store's")
		}
	}()
	manager(st, sesame.Config{Lifetime: time.Hour}, nil)
}

func TestSealAndRevokeDirectly(t *testing.T) {
	now := time.Now()
	rec := func(user string) *driver.Record {
		return &driver.Record{User: user, Created: now, LastSeen: now, Deadline: now.Add(time.Hour), Expires: now.Add(time.Hour), Values: map[string]any{"k": 1}}
	}
	marks := newSpy(t)
	st := newStore(t, cookiestore.Options{Revocation: marks})
	prev := driver.Sealed{ID: "old", Record: rec("alice")}
	if err := st.Revoke(t.Context(), prev); err != nil {
		t.Fatal(err)
	}
	_, err := st.Seal(t.Context(), "session", driver.Sealed{ID: "new", Record: rec("alice"), Prev: &prev})
	sesametest.MustNotFound(t, err, "Seal of the renewal of a revoked session")
	if _, ok := marks.denial("new"); ok {
		t.Error("a refused renewal denied something")
	}
	// A session without a user cannot be revoked: nothing is written.
	marks.count()
	anon := driver.Sealed{ID: "anon", Record: rec("")}
	if err := st.Revoke(t.Context(), anon); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Seal(t.Context(), "session", driver.Sealed{ID: "anon2", Record: rec(""), Prev: &anon}); err != nil {
		t.Fatal(err)
	}
	if r, w := marks.count(); r != 0 || w != 0 {
		t.Errorf("a session without a user cost %d reads and %d writes", r, w)
	}
	// Without a RevocationStore, Revoke does nothing and succeeds.
	plain := newStore(t, cookiestore.Options{})
	if err := plain.Revoke(t.Context(), prev); err != nil {
		t.Errorf("Revoke without Options.Revocation: %v, want nil", err)
	}
	v, err := plain.Seal(t.Context(), "session", driver.Sealed{ID: "new", Record: rec("alice"), Prev: &prev})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Open(t.Context(), "session", v); err != nil {
		t.Errorf("a renewal without Options.Revocation: %v", err)
	}
}

func TestRevokeAllWithoutARevocationStoreIsNotSupported(t *testing.T) {
	m := manager(newStore(t, cookiestore.Options{}), sesame.Config{}, nil)
	if _, err := m.RevokeAll(t.Context(), "alice", ""); !errors.Is(err, driver.ErrNotSupported) {
		t.Errorf("RevokeAll without Options.Revocation: %v, want ErrNotSupported", err)
	}
}

func TestNewRejectsABadRing(t *testing.T) {
	k := newKey(t, "a")
	for name, keys := range map[string][]cookiestore.Key{
		"empty":        nil,
		"short secret": {{ID: "a", Secret: make([]byte, 16)}},
		"bad ID":       {{ID: "a b", Secret: k.Secret}},
		"duplicate ID": {k, {ID: "a", Secret: make([]byte, 32)}},
	} {
		if _, err := cookiestore.New(cookiestore.Options{Keys: keys}); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestFullDenyListFallsBackToAMark(t *testing.T) {
	// A user's denied IDs are bounded: past driver.MaxDenied renewals the
	// store sets a mark instead, which ends the user's other sessions,
	// keeps the renewed one, and starts the count again.
	marks := newSpy(t)
	st := newStore(t, cookiestore.Options{Revocation: marks})
	m := manager(st, sesame.Config{}, nil)
	c, other := sesametest.NewClient(t, m), sesametest.NewClient(t, m)
	c.Login("alice")
	other.Login("alice")
	var early []string
	for i := range driver.MaxDenied + 1 {
		if i < 3 {
			early = append(early, c.Cookie)
		}
		c.Session(func(s *sesame.Session) { mustRenew(t, s) })
	}
	if c.User() != "alice" {
		t.Fatal("the renewal that filled the deny list logged its own session out")
	}
	if other.User() != "" {
		t.Error("the user's other session survived the mark that replaced the full deny list")
	}
	for i, v := range early {
		if u := (&sesametest.Client{Test: t, Manager: m, Cookie: v}).User(); u != "" {
			t.Errorf("the cookie before renewal %d still logs in as %q", i, u)
		}
	}
	r, err := marks.Store.Revocation(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if r.Before.IsZero() {
		t.Fatal("no mark after the deny list filled up")
	}
	// The count started again: the next renewals deny, and the session
	// that was kept by the mark stays kept through them.
	before := c.Cookie
	c.Session(func(s *sesame.Session) { mustRenew(t, s) })
	if c.User() != "alice" {
		t.Error("a renewal after the mark logged the session out")
	}
	late := &sesametest.Client{Test: t, Manager: m, Cookie: before}
	resp := late.Do(func(w http.ResponseWriter, r *http.Request) { sesame.FromContext(r.Context()).Put("late", 1) })
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("a late write with the cookie renewed after the mark answered %d, want 409 (its ID denied as renewed)", resp.StatusCode)
	}
}
