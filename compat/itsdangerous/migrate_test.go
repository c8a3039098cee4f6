package itsdangerous

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/memstore"
	"github.com/sesame-go/sesame/sesametest"
)

func newManager(name string) *sesame.Manager {
	return sesame.New(sesame.Config{Store: memstore.New(memstore.Options{}), Insecure: true, Name: name})
}

// serveMigrated sends one request with the Cookie header cookies through
// m.Handler(mw(h)).
func serveMigrated(m *sesame.Manager, mw func(http.Handler) http.Handler, cookies string, h http.HandlerFunc) *http.Response {
	req := httptest.NewRequest(http.MethodGet, "http://example.test/", nil)
	if cookies != "" {
		req.Header.Set("Cookie", cookies)
	}
	rec := httptest.NewRecorder()
	m.Handler(mw(h)).ServeHTTP(rec, req)
	return rec.Result()
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

type seen struct {
	user string
	keys []string
}

func look(into *seen) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := sesame.FromContext(r.Context())
		into.user, into.keys = s.User(), s.Keys()
	}
}

func TestMigrateSameCookieName(t *testing.T) {
	codec := Flask("k")
	legacy, _ := codec.Encode(map[string]any{"user": "alice", "cart": []any{1, 2}})
	m := newManager("") // "session", as Flask's
	c := sesametest.NewClient(t, m)
	c.Cookie = legacy
	mw := Migrate(m, codec, MigrateOptions{})
	var got seen
	resp := c.Do(func(w http.ResponseWriter, r *http.Request) { mw(look(&got)).ServeHTTP(w, r) })
	if got.user != "alice" || strings.Join(got.keys, ",") != "cart,user" {
		t.Fatalf("migrated %+v", got)
	}
	if n := len(resp.Header["Set-Cookie"]); n != 1 || c.Cookie == legacy || c.Cookie == "" {
		t.Fatalf("want only Sesame's cookie, got %q", resp.Header["Set-Cookie"])
	}
	// The next request is Sesame's alone.
	c.Session(func(s *sesame.Session) {
		cart, err := sesame.Lookup[[]int](s, "cart")
		if s.User() != "alice" || err != nil || len(cart) != 2 {
			t.Errorf("user %q, cart %v, %v", s.User(), cart, err)
		}
	})
}

func TestMigrateOtherCookieName(t *testing.T) {
	codec := Starlette("k")
	legacy, _ := codec.Encode(map[string]any{"_user_id": "7", "theme": "dark"})
	expired := Starlette("k")
	expired.s = NewTimestampSigner("k", Options{Now: func() time.Time { return time.Now().Add(-15 * 24 * time.Hour) }})
	old, _ := expired.Encode(map[string]any{"_user_id": "8"})
	forged, _ := Starlette("not k").Encode(map[string]any{"_user_id": "9"})

	tests := []struct {
		name     string
		cookie   string
		existing bool // the visitor already has a Sesame session
		opts     MigrateOptions
		user     string
		keys     string
		expire   bool
	}{
		{"a valid legacy session is copied and expired", legacy, false, MigrateOptions{UserKey: "_user_id"}, "7", "_user_id,theme", true},
		{"values are copied without a user key", legacy, false, MigrateOptions{UserKey: "-"}, "", "_user_id,theme", true},
		{"a user key that is absent logs nobody in", legacy, false, MigrateOptions{}, "", "_user_id,theme", true},
		{"an existing Sesame session wins", legacy, true, MigrateOptions{UserKey: "_user_id"}, "zed", "", true},
		{"an expired legacy session is expired, not copied", old, false, MigrateOptions{UserKey: "_user_id"}, "", "", true},
		{"a forged legacy session is ignored", forged, false, MigrateOptions{UserKey: "_user_id"}, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newManager("sid")
			tt.opts.Cookie = "legacy"
			mw := Migrate(m, codec, tt.opts)
			cookies := "legacy=" + tt.cookie
			if tt.existing {
				resp := serveMigrated(m, mw, "", func(w http.ResponseWriter, r *http.Request) {
					_ = sesame.FromContext(r.Context()).Login("zed")
				})
				cookies += "; sid=" + cookieNamed(resp, "sid").Value
			}
			var got seen
			resp := serveMigrated(m, mw, cookies, look(&got))
			if got.user != tt.user || strings.Join(got.keys, ",") != tt.keys {
				t.Errorf("session %+v, want user %q keys %q", got, tt.user, tt.keys)
			}
			lc := cookieNamed(resp, "legacy")
			if expired := lc != nil && lc.MaxAge < 0; expired != tt.expire || (lc != nil && !expired) {
				t.Errorf("legacy cookie %v, want expired %v", lc, tt.expire)
			}
		})
	}
}

func TestMigrateKeepsWhatItCannotCopy(t *testing.T) {
	codec := Flask("k")
	legacy, _ := codec.Encode(map[string]any{"": "empty keys are not Sesame keys", "user": "alice"})
	var logs bytes.Buffer
	m := newManager("sid")
	mw := Migrate(m, codec, MigrateOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	var got seen
	resp := serveMigrated(m, mw, "session="+legacy, look(&got))
	if got.user != "" || len(got.keys) != 0 || cookieNamed(resp, "session") != nil {
		t.Errorf("session %+v, cookies %q", got, resp.Header["Set-Cookie"])
	}
	if !strings.Contains(logs.String(), "legacy session not migrated") {
		t.Errorf("no warning logged: %q", logs.String())
	}
}

func TestMigrateEmptyLegacySessionIsExpired(t *testing.T) {
	codec := Flask("k")
	legacy, _ := codec.Encode(map[string]any{})
	m := newManager("")
	var got seen
	resp := serveMigrated(m, Migrate(m, codec, MigrateOptions{}), "session="+legacy, look(&got))
	if c := cookieNamed(resp, "session"); c == nil || c.MaxAge >= 0 {
		t.Errorf("legacy cookie not expired: %q", resp.Header["Set-Cookie"])
	}
}

func TestMigrateWithoutLegacyCookie(t *testing.T) {
	m := newManager("")
	c := sesametest.NewClient(t, m)
	mw := Migrate(m, Flask("k"), MigrateOptions{})
	c.Do(func(w http.ResponseWriter, r *http.Request) {
		mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = sesame.FromContext(r.Context()).Put("a", 1)
		})).ServeHTTP(w, r)
	})
	// A Sesame cookie under the legacy name is not mistaken for Flask's.
	resp := c.Do(func(w http.ResponseWriter, r *http.Request) {
		mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !sesame.FromContext(r.Context()).Has("a") {
				t.Error("Sesame session lost")
			}
		})).ServeHTTP(w, r)
	})
	if len(resp.Header["Set-Cookie"]) != 0 {
		t.Errorf("cookies set: %q", resp.Header["Set-Cookie"])
	}
}
