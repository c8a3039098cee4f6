package demo

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/sesame-go/sesame"
)

//go:embed index.html
var indexHTML []byte

// maxBody bounds every request body the API reads.
const maxBody = 64 << 10

// What an anonymous visitor may store: maxAnonKeys values of at most
// maxAnonValue bytes of JSON each.
const (
	maxAnonKeys  = 16
	maxAnonValue = 1 << 10
)

// DefaultFresh is how recently the user must have logged in or
// reauthenticated to log out all their other devices, unless
// Options.Fresh says otherwise.
const DefaultFresh = 5 * time.Minute

// Options are the demo's own rules, beyond the Manager's configuration.
type Options struct {
	// Fresh is how recently the user must have logged in or
	// reauthenticated (Session.Fresh) for POST /api/sessions/revoke with
	// {"all":true}. If zero, DefaultFresh is used.
	Fresh time.Duration
	// Inner, if set, wraps the routes inside the session middleware: for
	// example compat/itsdangerous.Migrate, which adopts a Flask or
	// Starlette session on its first visit.
	Inner func(http.Handler) http.Handler
}

// New returns the demo's routes behind m's session middleware, with the
// default Options.
func New(m *sesame.Manager) http.Handler { return Options{}.New(m) }

// Routes registers the demo's routes on mux, for m's sessions, with the
// default Options. Their handlers expect to run behind m.Handler.
func Routes(mux *http.ServeMux, m *sesame.Manager) { Options{}.Routes(mux, m) }

// New returns the demo's routes behind m's session middleware, behind
// cross-origin protection: a browser's cross-origin POST, PUT or DELETE
// (by its Sec-Fetch-Site or Origin header) gets 403 before it reaches the
// session, which stops login CSRF (a cross-site form or text/plain POST
// to /api/login that would log the visitor in as the attacker).
func (o Options) New(m *sesame.Manager) http.Handler {
	mux := http.NewServeMux()
	o.Routes(mux, m)
	var h http.Handler = mux
	if o.Inner != nil {
		h = o.Inner(h)
	}
	return http.NewCrossOriginProtection().Handler(m.Handler(h))
}

// Routes registers the demo's routes on mux, for m's sessions. Their
// handlers expect to run behind m.Handler, and behind a
// http.CrossOriginProtection, as New puts them.
func (o Options) Routes(mux *http.ServeMux, m *sesame.Manager) {
	fresh := o.Fresh
	if fresh == 0 {
		fresh = DefaultFresh
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(indexHTML)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("POST /api/login", login)
	mux.HandleFunc("GET /api/me", me)
	mux.HandleFunc("POST /api/reauth", reauth)
	mux.HandleFunc("POST /api/counter", counter)
	mux.HandleFunc("PUT /api/values/{key}", putValue)
	mux.HandleFunc("GET /api/values/{key}", getValue)
	mux.HandleFunc("GET /api/sessions", sessions(m))
	mux.HandleFunc("POST /api/sessions/revoke", revoke(m, fresh))
	mux.HandleFunc("POST /api/logout", logout)
}

func login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		User     string `json:"user"`
		Remember bool   `json:"remember"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.User == "" || len(in.User) > 64 {
		writeError(w, http.StatusBadRequest, "user must be 1 to 64 bytes")
		return
	}
	s := sesame.FromContext(r.Context())
	// A new token (against session fixation), the user, a new lifetime.
	if err := s.Login(in.User); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	// Optionally, a persistent cookie ("remember me").
	if in.Remember {
		if err := s.RememberMe(true); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"user": in.User})
}

func me(w http.ResponseWriter, r *http.Request) {
	s := sesame.FromContext(r.Context())
	if s.User() == "" {
		writeError(w, http.StatusUnauthorized, "not logged in")
		return
	}
	writeMe(w, s)
}

// writeMe answers with the body of GET /api/me.
func writeMe(w http.ResponseWriter, s *sesame.Session) {
	n, _ := sesame.Get[int](s, "counter")
	in := s.Info()
	writeJSON(w, http.StatusOK, map[string]any{
		"user": in.User, "counter": n,
		"created": in.Created, "last_seen": in.LastSeen, "expires": in.Expires,
		"authenticated_at": in.AuthenticatedAt, "device": in.Label,
	})
}

// reauth stands for a password prompt before a sensitive action: a real
// app would check the password; the demo takes the user's name.
func reauth(w http.ResponseWriter, r *http.Request) {
	var in struct {
		User string `json:"user"`
	}
	if !decode(w, r, &in) {
		return
	}
	s := sesame.FromContext(r.Context())
	switch {
	case s.User() == "":
		writeError(w, http.StatusUnauthorized, "not logged in")
		return
	case in.User != s.User():
		writeError(w, http.StatusForbidden, "wrong user")
		return
	}
	// A new AuthenticatedAt, and a new token.
	if err := s.Reauthenticate(); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeMe(w, s)
}

func counter(w http.ResponseWriter, r *http.Request) {
	s := sesame.FromContext(r.Context())
	// Atomic in the store: two tabs clicking at once both count.
	n, err := sesame.Update(s, "counter", func(n int) (int, error) { return n + 1, nil })
	switch {
	case errors.Is(err, sesame.ErrRenewed):
		writeError(w, http.StatusConflict, "the session was renewed meanwhile; try again")
	case errors.Is(err, sesame.ErrNotSupported):
		writeError(w, http.StatusNotImplemented, "this store cannot update values atomically")
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, map[string]int{"counter": n})
	}
}

func putValue(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Value json.RawMessage `json:"value"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.Value == nil {
		writeError(w, http.StatusBadRequest, `body must be {"value": any JSON}`)
		return
	}
	s := sesame.FromContext(r.Context())
	// An anonymous visitor may keep only a little: a few small values.
	// The session is read first, so the Manager's limits (Config.MaxSize,
	// Config.MaxKeys) see all of it.
	key := "v:" + r.PathValue("key")
	if s.User() == "" && (len(in.Value) > maxAnonValue || !s.Has(key) && len(s.Keys()) >= maxAnonKeys) {
		writeError(w, http.StatusRequestEntityTooLarge, "log in to store more")
		return
	}
	if err := s.Put(key, in.Value); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]json.RawMessage{"value": in.Value})
}

func getValue(w http.ResponseWriter, r *http.Request) {
	v, ok := sesame.Get[json.RawMessage](sesame.FromContext(r.Context()), "v:"+r.PathValue("key"))
	if !ok {
		writeError(w, http.StatusNotFound, "no such value")
		return
	}
	writeJSON(w, http.StatusOK, map[string]json.RawMessage{"value": v})
}

// Device is one session in the answer of GET /api/sessions.
type Device struct {
	ID       string    `json:"id"`     // the session's ID (sesame.Info.ID), not its token
	Label    string    `json:"device"` // its device for people (sesame.Info.Label), never empty
	IP       string    `json:"ip"`     // its client address (sesame.Info.Device.IP), as the Manager keeps it; may be ""
	Created  time.Time `json:"created"`
	LastSeen time.Time `json:"last_seen"`
	Current  bool      `json:"current"` // the session of the request that asked
}

func sessions(m *sesame.Manager) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := sesame.FromContext(r.Context())
		if s.User() == "" {
			writeError(w, http.StatusUnauthorized, "not logged in")
			return
		}
		list, err := m.Sessions(r.Context(), s.User())
		if errors.Is(err, sesame.ErrNotSupported) {
			// A cookie-only session has no server-side list: show this one.
			in := s.Info()
			list, err = []sesame.Info{{ID: in.ID, Created: in.Created, LastSeen: in.LastSeen, Device: in.Device, Label: in.Label}}, nil
		}
		if err != nil {
			writeError(w, http.StatusInternalServerError, "listing sessions failed")
			return
		}
		out := make([]Device, 0, len(list))
		for _, info := range list {
			out = append(out, Device{
				ID: info.ID, Label: info.Label, IP: info.Device.IP,
				Created: info.Created, LastSeen: info.LastSeen, Current: info.ID == s.ID(),
			})
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func revoke(m *sesame.Manager, fresh time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			ID  string `json:"id"`
			All bool   `json:"all"`
		}
		if !decode(w, r, &in) {
			return
		}
		s := sesame.FromContext(r.Context())
		user := s.User()
		if user == "" {
			writeError(w, http.StatusUnauthorized, "not logged in")
			return
		}
		var err error
		n := 1
		switch {
		case in.All:
			// Logging out every other device is sensitive: it needs a
			// recent login or reauthentication (POST /api/reauth).
			if !s.Fresh(fresh) {
				writeError(w, http.StatusForbidden, "reauthentication required")
				return
			}
			n, err = m.RevokeAll(r.Context(), user, s.ID())
		case in.ID != "":
			err = m.Revoke(r.Context(), user, in.ID)
		default:
			writeError(w, http.StatusBadRequest, `body must be {"id":"..."} or {"all":true}`)
			return
		}
		switch {
		case errors.Is(err, sesame.ErrNotOwner):
			writeError(w, http.StatusNotFound, "no such session")
		case errors.Is(err, sesame.ErrNotSupported):
			writeError(w, http.StatusNotImplemented, "this store cannot revoke sessions")
		case err != nil:
			writeError(w, http.StatusInternalServerError, "revoking failed")
		default:
			writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
		}
	}
}

func logout(w http.ResponseWriter, r *http.Request) {
	sesame.FromContext(r.Context()).Destroy()
	w.WriteHeader(http.StatusNoContent)
}

// Observer is a sesame.Observer that logs each session lifecycle event at
// Info, with its kind, the session ID (a hash of the token: sesame never
// hands an Observer a token), the user and the device's label. It is safe
// for concurrent use.
type Observer struct {
	// Logger receives the events. If nil, slog.Default() is used.
	Logger *slog.Logger
	// Label names a device from its User-Agent, as Config.DeviceLabel
	// does (give both the same function). If nil, or if it returns "",
	// the label is the User-Agent, or "Unknown device" without one. An
	// event that carries no device (revoked_all, store_failed) has the
	// label "".
	Label func(userAgent string) string
}

// Event logs e.
func (o *Observer) Event(ctx context.Context, e sesame.Event) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	attrs := []slog.Attr{
		slog.String("kind", string(e.Kind)), slog.String("id", e.ID),
		slog.String("user", e.User), slog.String("device", o.label(e.Device)),
	}
	if e.Kind == sesame.EventRevokedAll {
		attrs = append(attrs, slog.Int("count", e.Count))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("err", e.Err.Error()))
	}
	log.LogAttrs(ctx, slog.LevelInfo, "session event", attrs...)
}

func (o *Observer) label(d sesame.Device) string {
	switch {
	case d == sesame.Device{}:
		return ""
	case o.Label != nil:
		if l := o.Label(d.UserAgent); l != "" {
			return l
		}
	}
	if d.UserAgent == "" {
		return "Unknown device"
	}
	return d.UserAgent
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
