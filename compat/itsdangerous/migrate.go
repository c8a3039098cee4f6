package itsdangerous

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/sesame-go/sesame"
)

// MigrateOptions configures Migrate. Every zero value is a documented
// default.
type MigrateOptions struct {
	// Cookie is the name of the legacy session cookie. If empty, "session"
	// is used, the default of Flask and Starlette.
	Cookie string
	// UserKey is the legacy session key that holds the logged-in user. If
	// its value is a non-empty string, the Sesame session is logged in as
	// that user (Session.Login). If empty, "user" is used; Flask-Login
	// uses "_user_id". Set it to "-" to log nobody in.
	UserKey string
	// Key, if set, names the Sesame key of each legacy key (return "" to
	// drop the value); if nil, a value keeps its key.
	Key func(legacy string) string
	// Path and Domain are those of the legacy cookie, used to expire it.
	// If Path is empty, "/" is used.
	Path, Domain string
	// Logger receives a warning when a legacy session cannot be copied. If
	// nil, slog.Default() is used.
	Logger *slog.Logger
}

// Migrate returns middleware that moves Python sessions into Sesame, one
// visitor at a time. It must run inside m.Handler, so that
// sesame.FromContext works:
//
//	h := m.Handler(itsdangerous.Migrate(m, itsdangerous.Flask(key), itsdangerous.MigrateOptions{})(mux))
//
// On a request that carries a legacy cookie which c decodes, and whose
// Sesame session is empty (no user, no values), it Puts every legacy value
// into the session (as json.RawMessage, so that sesame.Get decodes it into
// any type), then Logs in the user named by UserKey, if any, before
// calling next. Sesame's commit then sets its own cookie.
//
// When the legacy cookie has Sesame's name ("session" when the Sesame
// cookie is not Secure, as Flask's and Starlette's), Sesame ignores its
// value, which is not one of its tokens, and its new cookie replaces the
// legacy one. When the names differ, Migrate expires the legacy cookie
// (Max-Age=0) once decoded, whether it was copied or the visitor already
// had a Sesame session; it also expires a legacy cookie that has expired.
// A cookie that does not verify is left alone, as is one whose values
// cannot be copied (the warning goes to Logger) or any cookie when the
// Sesame session failed to load.
//
// Migrate panics if m or c is nil.
func Migrate(m *sesame.Manager, c Codec, o MigrateOptions) func(http.Handler) http.Handler {
	if m == nil || c == nil {
		panic("itsdangerous: Migrate with a nil Manager or Codec")
	}
	if o.Cookie == "" {
		o.Cookie = "session"
	}
	if o.UserKey == "" {
		o.UserKey = "user"
	}
	if o.Path == "" {
		o.Path = "/"
	}
	sameName := o.Cookie == m.Name()
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("itsdangerous: Migrate(...)(nil)")
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ck, err := r.Cookie(o.Cookie)
			if err != nil {
				next.ServeHTTP(w, r)
				return
			}
			vals, _, err := c.Decode(ck.Value)
			switch {
			case errors.Is(err, ErrExpired):
				if !sameName {
					o.expire(w)
				}
				next.ServeHTTP(w, r)
				return
			case err != nil:
				next.ServeHTTP(w, r)
				return
			}
			s := sesame.FromContext(r.Context())
			if s == nil {
				o.logger().WarnContext(r.Context(), "itsdangerous: Migrate runs outside sesame's Manager.Handler")
				next.ServeHTTP(w, r)
				return
			}
			if s.Err() != nil { // the store failed: leave everything for later
				next.ServeHTTP(w, r)
				return
			}
			if s.User() == "" && len(s.Keys()) == 0 {
				if err := o.adopt(s, vals); err != nil {
					o.logger().WarnContext(r.Context(), "itsdangerous: legacy session not migrated", "err", err)
					_ = s.Clear()
					next.ServeHTTP(w, r) // keep the legacy cookie
					return
				}
				if sameName && len(vals) > 0 {
					next.ServeHTTP(w, r) // Sesame's cookie replaces the legacy one
					return
				}
			}
			if !sameName || len(vals) == 0 {
				o.expire(w)
			}
			next.ServeHTTP(w, r)
		})
	}
}

func (o *MigrateOptions) adopt(s *sesame.Session, vals map[string]any) error {
	for k, v := range vals {
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if o.Key != nil {
			if k = o.Key(k); k == "" {
				continue
			}
		}
		if err := s.Put(k, json.RawMessage(raw)); err != nil {
			return err
		}
	}
	if u, ok := vals[o.UserKey].(string); ok && u != "" && o.UserKey != "-" {
		return s.Login(u)
	}
	return nil
}

func (o *MigrateOptions) expire(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: o.Cookie, Path: o.Path, Domain: o.Domain, MaxAge: -1, HttpOnly: true})
}

func (o *MigrateOptions) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}
