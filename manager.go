package sesame

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Defaults used for zero Config fields. They follow the OWASP Session
// Management Cheat Sheet for a low-risk application.
const (
	DefaultName          = "session"
	DefaultLifetime      = 8 * time.Hour
	DefaultIdleTimeout   = 30 * time.Minute
	DefaultTouchInterval = time.Minute
)

// Config configures a Manager. The zero value of every field but Store and
// Sealer is a safe default, documented on the field.
type Config struct {
	// Store keeps sessions on the server. Exactly one of Store and Sealer
	// must be set.
	Store Store
	// Sealer keeps sessions in the cookie itself (see package cookiestore).
	// Exactly one of Store and Sealer must be set.
	Sealer Sealer

	// Name is the cookie name. If empty, DefaultName ("session") is used.
	// A name starting with "__Host-" requires Path "/", no Domain and a
	// Secure cookie, which New checks.
	Name string
	// Domain is the cookie's Domain attribute. If empty, the cookie is
	// host-only, which is the safest choice.
	Domain string
	// Path is the cookie's Path attribute. If empty, "/" is used.
	Path string
	// Insecure, if true, omits the Secure attribute so the cookie is sent
	// over plain HTTP. Browsers already accept Secure cookies from
	// http://localhost and http://127.0.0.1, so it is needed only for
	// development over plain HTTP on another host name or address.
	Insecure bool
	// DisableHttpOnly, if true, omits the HttpOnly attribute and lets
	// scripts read the cookie. Leave it false.
	DisableHttpOnly bool
	// SameSite is the cookie's SameSite attribute. If zero,
	// http.SameSiteLaxMode is used. http.SameSiteNoneMode requires a
	// Secure cookie.
	SameSite http.SameSite
	// Partitioned sets the Partitioned attribute (CHIPS), for a session
	// used in a third-party iframe. It requires a Secure cookie.
	Partitioned bool
	// Persist sets the default for new sessions: if true, the cookie is
	// persistent (it has Max-Age and survives a browser restart); if
	// false, it is a session-only cookie. [Session.RememberMe] overrides
	// it per session.
	Persist bool

	// Lifetime is the absolute lifetime of a session, counted from its
	// creation or last Renew. It is enforced on the server by every
	// store. If zero, DefaultLifetime (8h) is used.
	Lifetime time.Duration
	// IdleTimeout ends a session that has not been used for this long. If
	// zero, DefaultIdleTimeout (30m) is used; if negative, there is no
	// idle timeout.
	IdleTimeout time.Duration
	// TouchInterval throttles idle-timeout touches: a request that only
	// reads a session writes its new expiry to the store at most once
	// per interval. If zero, DefaultTouchInterval (1m) is used, or half
	// the idle timeout if that is shorter; if negative, every request
	// touches.
	TouchInterval time.Duration
	// FixedExpiry, if true, gives a persistent cookie an expiry fixed at
	// the absolute deadline. If false (rolling expiry), a persistent
	// cookie expires with the session's idle timeout and is sent again,
	// with the later expiry, whenever the session is touched.
	FixedExpiry bool

	// Secret, if set, keys the hash that turns a token into the session
	// ID that stores see (HMAC-SHA-256 instead of SHA-256). Then even a
	// reader of the store who also knows a token cannot link the two
	// without the secret. Changing it ends every server-side session.
	Secret []byte

	// ErrorHandler writes the response when the store fails before the
	// response has started. If nil, the error is logged and a plain 500
	// Internal Server Error is sent.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Logger receives the manager's logs. It never receives a token. If
	// nil, slog.Default() is used.
	Logger *slog.Logger
}

// Manager loads and commits sessions. It is safe for concurrent use.
type Manager struct {
	cfg    Config
	store  Store
	delta  DeltaStore // nil if store lacks it
	sealer Sealer
	hash   *hasher
	log    *slog.Logger
	cookie cookieWriter
}

// New returns a Manager for cfg. It panics if cfg is invalid: a wrong
// configuration fails once, at start-up, never per request.
func New(cfg Config) *Manager {
	m, err := newManager(cfg)
	if err != nil {
		panic(err)
	}
	return m
}

func newManager(cfg Config) (*Manager, error) {
	if (cfg.Store == nil) == (cfg.Sealer == nil) {
		return nil, errors.New("sesame: Config needs exactly one of Store and Sealer")
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Path == "" {
		cfg.Path = "/"
	}
	if cfg.SameSite == 0 {
		cfg.SameSite = http.SameSiteLaxMode
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = DefaultLifetime
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.TouchInterval == 0 {
		cfg.TouchInterval = min(DefaultTouchInterval, cfg.IdleTimeout/2)
	}
	switch {
	case cfg.Lifetime < 0:
		return nil, fmt.Errorf("sesame: negative Lifetime %v", cfg.Lifetime)
	case (&http.Cookie{Name: cfg.Name, Value: "x"}).Valid() != nil:
		return nil, fmt.Errorf("sesame: invalid cookie name %q", cfg.Name)
	case cfg.Insecure && cfg.SameSite == http.SameSiteNoneMode:
		return nil, errors.New("sesame: SameSite=None requires a Secure cookie")
	case cfg.Insecure && cfg.Partitioned:
		return nil, errors.New("sesame: Partitioned requires a Secure cookie")
	case len(cfg.Name) > 7 && cfg.Name[:7] == "__Host-" && (cfg.Insecure || cfg.Domain != "" || cfg.Path != "/"):
		return nil, fmt.Errorf("sesame: cookie %q needs Secure, no Domain and Path \"/\"", cfg.Name)
	case len(cfg.Name) > 9 && cfg.Name[:9] == "__Secure-" && cfg.Insecure:
		return nil, fmt.Errorf("sesame: cookie %q needs Secure", cfg.Name)
	}
	m := &Manager{
		cfg:    cfg,
		store:  cfg.Store,
		sealer: cfg.Sealer,
		hash:   newHasher(cfg.Secret),
		log:    cfg.Logger,
		cookie: newCookieWriter(http.Cookie{
			Name:        cfg.Name,
			Domain:      cfg.Domain,
			Path:        cfg.Path,
			Secure:      !cfg.Insecure,
			HttpOnly:    !cfg.DisableHttpOnly,
			SameSite:    cfg.SameSite,
			Partitioned: cfg.Partitioned,
		}),
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	m.delta, _ = cfg.Store.(DeltaStore)
	return m, nil
}

// Name returns the cookie name.
func (m *Manager) Name() string { return m.cfg.Name }

// expiry returns a session's idle expiry if it is seen at now.
func (m *Manager) idleExpiry(now time.Time) time.Time {
	if m.cfg.IdleTimeout < 0 {
		return time.Time{} // no idle timeout: the deadline alone applies
	}
	return now.Add(m.cfg.IdleTimeout)
}

// live reports whether rec is still live at now, by the manager's own
// settings, whatever the store says.
func (m *Manager) live(rec *Record, now time.Time) bool {
	if !now.Before(rec.Expires) || !now.Before(rec.Created.Add(m.cfg.Lifetime)) {
		return false
	}
	return m.cfg.IdleTimeout < 0 || now.Before(rec.LastSeen.Add(m.cfg.IdleTimeout))
}

// Sessions lists the live sessions of user. The store must implement
// UserStore; otherwise the error wraps ErrNotSupported.
func (m *Manager) Sessions(ctx context.Context, user string) ([]Info, error) {
	us, ok := m.store.(UserStore)
	if !ok {
		return nil, m.unsupported("listing sessions by user")
	}
	list, err := us.Sessions(ctx, user)
	if err != nil {
		return nil, &StoreError{Op: "sessions", Err: err}
	}
	return list, nil
}

// Revoke ends the session with the given ID, which must belong to user: a
// user can only revoke their own sessions. It returns ErrNotOwner otherwise.
func (m *Manager) Revoke(ctx context.Context, user, id string) error {
	list, err := m.Sessions(ctx, user)
	if err != nil {
		return err
	}
	for _, s := range list {
		if s.ID == id {
			if err := m.store.Delete(ctx, id); err != nil {
				return &StoreError{Op: "delete", Err: err}
			}
			return nil
		}
	}
	return ErrNotOwner
}

// RevokeAll ends every session of user except the one with ID keep (none
// if keep is ""), for example on a password change. It returns how many it
// ended. With a Sealer it needs the sealer to implement UserStore's
// DeleteUser (see package cookiestore), and the count is -1: the server
// cannot know how many cookies exist.
func (m *Manager) RevokeAll(ctx context.Context, user, keep string) (int, error) {
	type deleter interface {
		DeleteUser(ctx context.Context, user, keep string) (int, error)
	}
	var d deleter
	if m.store != nil {
		d, _ = m.store.(deleter)
	} else {
		d, _ = m.sealer.(deleter)
	}
	if d == nil {
		return 0, m.unsupported("revoking sessions by user")
	}
	n, err := d.DeleteUser(ctx, user, keep)
	if err != nil {
		return n, &StoreError{Op: "delete user", Err: err}
	}
	return n, nil
}

func (m *Manager) unsupported(what string) error {
	var name string
	if m.store != nil {
		name = fmt.Sprintf("%T", m.store)
	} else {
		name = fmt.Sprintf("%T", m.sealer)
	}
	return fmt.Errorf("%w: %s by %s", ErrNotSupported, what, name)
}

func (m *Manager) handleError(w http.ResponseWriter, r *http.Request, err error) {
	if m.cfg.ErrorHandler != nil {
		m.cfg.ErrorHandler(w, r, err)
		return
	}
	m.log.ErrorContext(r.Context(), "sesame: session store failed", "err", err, "method", r.Method, "path", r.URL.Path)
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}
