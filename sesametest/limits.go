package sesametest

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
)

// limitTests check the Manager's limits and Login on every backend.
var limitTests = []test{
	{"SessionOverItsLimitsIsRefusedBeforeAnythingIsWritten", func(t *testing.T, b backend) {
		var got error
		m := manager(t, b, sesame.Config{MaxKeys: 3, MaxSize: 200, ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			got = err
			http.Error(w, "limit", http.StatusInternalServerError)
		}})
		c := NewClient(t, m)
		c.Session(func(s *sesame.Session) { s.Put("a", 1); s.Put("b", 2); s.Put("c", 3) })
		for _, tc := range []struct {
			limit string
			put   func(s *sesame.Session)
		}{
			{"keys", func(s *sesame.Session) { s.Has("a"); s.Put("d", 4) }},
			{"size", func(s *sesame.Session) { s.Put("a", strings.Repeat("x", 300)) }}, // over it on its own, even blind
		} {
			got = nil
			cookie := c.Cookie
			resp := c.Do(func(w http.ResponseWriter, r *http.Request) { tc.put(sesame.FromContext(r.Context())) })
			var le *sesame.LimitError
			if !errors.As(got, &le) || le.Limit != tc.limit || resp.StatusCode != http.StatusInternalServerError {
				t.Errorf("over the %s limit: status %d, error %v; want the ErrorHandler with a *sesame.LimitError", tc.limit, resp.StatusCode, got)
			}
			if SetCookie(resp, m.Name()) != "" || c.Cookie != cookie {
				t.Errorf("over the %s limit: a cookie was sent", tc.limit)
			}
			c.Session(func(s *sesame.Session) {
				if v, _ := sesame.Get[int](s, "a"); v != 1 || s.Has("d") {
					t.Errorf("over the %s limit: the session changed (a=%v, d=%v)", tc.limit, v, s.Has("d"))
				}
			})
		}
		got = nil
		fresh := NewClient(t, m)
		resp := fresh.Do(func(w http.ResponseWriter, r *http.Request) {
			sesame.FromContext(r.Context()).Put("big", strings.Repeat("x", 300))
		})
		if got == nil || SetCookie(resp, m.Name()) != "" {
			t.Errorf("a new session over the size limit: error %v, Set-Cookie %q; want an error and no cookie", got, SetCookie(resp, m.Name()))
		}
	}},
	{"LoginStartsANewLifetimeAndKeepsTheData", func(t *testing.T, b backend) {
		u := unique()
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Put("cart", "apples")
		old := c.Cookie
		var before, after time.Time
		c.Session(func(s *sesame.Session) { before = s.Info().Deadline })
		time.Sleep(20 * time.Millisecond) // the new lifetime starts this much later
		id := c.Login(u("alice"))
		c.Session(func(s *sesame.Session) {
			after = s.Info().Deadline
			if v, _ := sesame.Get[string](s, "cart"); v != "apples" || s.User() != u("alice") {
				t.Errorf("after Login: cart %q, user %q; want apples, alice", v, s.User())
			}
			if s.ID() != id {
				t.Errorf("ID after Login = %q, Login reported %q", s.ID(), id)
			}
		})
		if c.Cookie == old || c.Cookie == "" {
			t.Error("Login did not issue a new token")
		}
		if after.Sub(before) < 15*time.Millisecond {
			t.Errorf("Login kept the deadline %v (now %v); want a new lifetime", before, after)
		}
	}},
}
