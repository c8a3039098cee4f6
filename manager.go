package sesame

import (
	"context"
	"errors"
	"fmt"
	"github.com/sesame-go/sesame/driver"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Defaults used for zero Config fields. They follow the OWASP Session
// Management Cheat Sheet for a low-risk application.
const (
	// defaultName is the cookie name when the cookie cannot carry the
	// __Host- prefix (it is not Secure, or has a Domain or a Path other
	// than "/").
	defaultName = "session"
	// defaultHostName is the cookie name of the default, Secure,
	// host-only cookie on Path "/". Browsers only accept a __Host- cookie
	// that is Secure, host-only and on "/", so a sibling subdomain cannot
	// plant one of that name for this host.
	defaultHostName      = "__Host-session"
	defaultLifetime      = driver.DefaultLifetime
	defaultIdleTimeout   = 30 * time.Minute
	defaultTouchInterval = time.Minute
	defaultStoreTimeout  = 5 * time.Second
	defaultMaxSize       = 64 << 10 // bytes of encoded keys and values
	defaultMaxKeys       = 1000
)

// Config configures a Manager. The zero value of every field but Store and
// Sealer is a safe default, documented on the field.
type Config struct {
	// Store keeps sessions on the server. Exactly one of Store and Sealer
	// must be set.
	Store driver.Store
	// Sealer keeps sessions in the cookie itself (see package cookiestore).
	// Exactly one of Store and Sealer must be set. A Sealer that
	// implements driver.Lifetimed (cookiestore.Store) must report at least
	// Config.Lifetime.
	Sealer driver.Sealer

	// Name is the cookie name. If empty, "__Host-session" is used for a
	// Secure cookie with Path "/" and no Domain (the defaults), and
	// "session" otherwise. A name
	// starting with "__Host-" requires Path "/", no Domain and a Secure
	// cookie, and one starting with "__Secure-" a Secure cookie, which New
	// checks (in any case, as browsers do).
	//
	// Without the __Host- prefix, a sibling subdomain (or a page on plain
	// HTTP) can plant a cookie of the same name with Domain set to the
	// parent domain, and browsers send it first: Sesame reads the first
	// cookie of its name, so the visitor is silently given the planted
	// session (cookie tossing). Keep the default name unless the cookie
	// must span subdomains.
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
	// creation or last Login (Renew keeps it). It is enforced on the
	// server by every store. If zero, 8h is used.
	//
	// The defaults (8h absolute, 30m idle) are OWASP's for a low-risk
	// application. Published guidance for others, as Lifetime/IdleTimeout:
	// NIST SP 800-63B-4 authenticator assurance level 2, 24h/1h; level 3,
	// 12h/15m; the OWASP Session Management Cheat Sheet for a high-value
	// application, 8h/5m.
	Lifetime time.Duration
	// IdleTimeout ends a session that has not been used for this long. If
	// zero, 30m is used; if negative, there is no idle timeout.
	IdleTimeout time.Duration
	// TouchInterval throttles idle-timeout touches: a request that only
	// reads a session writes its new expiry to the store at most once
	// per interval. If zero, 1m is used, or half the idle timeout if that
	// is shorter; if negative, every request touches.
	TouchInterval time.Duration
	// FixedExpiry, if true, gives a persistent cookie an expiry fixed at
	// the absolute deadline. If false (rolling expiry), a persistent
	// cookie expires with the session's idle timeout and is sent again,
	// with the later expiry, whenever the session is touched.
	FixedExpiry bool

	// StoreTimeout bounds every store call of a request, its load and its
	// commit, and of the Manager's own methods, so that a hung store or a
	// network partition fails the request (the ErrorHandler answers)
	// instead of holding it. If zero, 5s is used; if negative, only the
	// request's context bounds the load, and nothing the commit (which
	// completes even if the client has gone).
	StoreTimeout time.Duration
	// MaxSize bounds a session's size: the bytes of its keys plus the JSON
	// encoding of its values. A commit that puts values and would leave
	// more fails with a *LimitError before anything is written. If zero,
	// 64 KiB is used; if negative, there is no limit.
	//
	// The Manager checks what it knows: the whole session when the request
	// read it, and only the request's own values on a blind write (one
	// that never read the session: one round trip on Redis). Concurrent
	// commits are each checked on their own. A handler that stores keys or
	// values chosen by the client should therefore read the session first.
	MaxSize int
	// MaxKeys bounds a session's number of keys, as MaxSize does its size.
	// If zero, 1000 is used; if negative, there is no limit.
	MaxKeys int

	// ClientIP returns the client address a session records in its
	// Device. If nil, RemoteIP (the host of r.RemoteAddr) is used. Behind
	// a reverse proxy, return the address from the header that the proxy
	// sets and overwrites, and no other: a client can send any header.
	// What it returns is kept only if it parses as an IP address.
	ClientIP func(r *http.Request) string
	// IPStorage says how much of the address is kept: IPFull (the zero
	// value, the default), IPPrefix (a /24 or /48) or IPNone.
	IPStorage IPStorage
	// DeviceLabel names a device for people from its User-Agent, such as
	// "Chrome 156 on Linux" (Info.Label). Package
	// device provides one: DeviceLabel: device.Label. If nil, or if it
	// returns "", the label is the User-Agent cut to 48 bytes, or
	// "Unknown device".
	DeviceLabel func(userAgent string) string

	// MaxSessionsPerUser caps each user's live sessions, counted when a
	// session gets its user (Login, SetUser): its (N+1)-th is handled as
	// CapPolicy says. Zero means no cap. The store must implement
	// UserCapper (memstore, sqlitestore, pgstore, redisstore do), which
	// New checks; a Sealer cannot count cookies, so New refuses a cap with
	// one.
	MaxSessionsPerUser int
	// CapPolicy says what the cap does: CapEvictOldest (the zero value)
	// ends the user's least recently seen other session; CapRefuse
	// refuses the new login, whose commit then fails with
	// ErrTooManySessions (the ErrorHandler answers; 403 by default).
	CapPolicy CapPolicy

	// Observer, if set, receives the sessions' lifecycle events (see
	// Event), and times the store calls if it also implements
	// StoreObserver. Package otelsesame provides one for OpenTelemetry.
	Observer Observer

	// Secret, if set, keys the hash that turns a token into the session
	// ID that stores see (HMAC-SHA-256 instead of SHA-256). Then even a
	// reader of the store who also knows a token cannot link the two
	// without the secret. Changing it ends every server-side session.
	Secret []byte

	// ErrorHandler writes the response when the commit fails before the
	// response has started: the store failed (a *StoreError), the session
	// is over a limit (a *LimitError), or the request carried a cookie
	// renewed away by another request and changed the session (an error
	// wrapping ErrRenewed), or a login was refused by the cap (an error
	// wrapping ErrTooManySessions). If nil, the error is logged, and a
	// plain 409 Conflict is sent for ErrRenewed, a 403 Forbidden for
	// ErrTooManySessions and a 500 Internal Server Error for the others.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Logger receives the manager's logs. It never receives a token. If
	// nil, slog.Default() is used.
	Logger *slog.Logger
}

// CapPolicy is what Config.MaxSessionsPerUser does with a user's session
// over the cap.
type CapPolicy uint8

const (
	// CapEvictOldest ends the user's least recently seen other session.
	CapEvictOldest CapPolicy = iota
	// CapRefuse refuses the new login with ErrTooManySessions.
	CapRefuse
)

// Manager loads and commits sessions. It is safe for concurrent use.
type Manager struct {
	cfg    Config
	store  driver.Store
	delta  driver.DeltaStore // nil if store lacks it
	create driver.Creator    // nil if store lacks it
	capper driver.UserCapper // nil if there is no cap
	sealer driver.Sealer
	obs    Observer      // nil if none
	sobs   StoreObserver // nil if none
	kind   string        // the store's type, for StoreObserver
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
	if cfg.Path == "" {
		cfg.Path = "/"
	}
	if cfg.Name == "" {
		cfg.Name = defaultName
		if !cfg.Insecure && cfg.Domain == "" && cfg.Path == "/" {
			cfg.Name = defaultHostName
		}
	}
	if cfg.SameSite == 0 {
		cfg.SameSite = http.SameSiteLaxMode
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = defaultLifetime
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = defaultIdleTimeout
	}
	if cfg.StoreTimeout == 0 {
		cfg.StoreTimeout = defaultStoreTimeout
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = defaultMaxSize
	}
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = defaultMaxKeys
	}
	if cfg.TouchInterval == 0 {
		cfg.TouchInterval = min(defaultTouchInterval, cfg.IdleTimeout/2)
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
	case hasPrefixFold(cfg.Name, "__Host-") && (cfg.Insecure || cfg.Domain != "" || cfg.Path != "/"):
		return nil, fmt.Errorf("sesame: cookie %q needs Secure, no Domain and Path \"/\"", cfg.Name)
	case hasPrefixFold(cfg.Name, "__Secure-") && cfg.Insecure:
		return nil, fmt.Errorf("sesame: cookie %q needs Secure", cfg.Name)
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = RemoteIP
	}
	if cfg.MaxSessionsPerUser < 0 {
		return nil, fmt.Errorf("sesame: negative MaxSessionsPerUser %d", cfg.MaxSessionsPerUser)
	}
	var capper driver.UserCapper
	if cfg.MaxSessionsPerUser > 0 {
		var ok bool
		if capper, ok = cfg.Store.(driver.UserCapper); !ok {
			return nil, fmt.Errorf("sesame: MaxSessionsPerUser needs a store that implements UserCapper: %w", ErrNotSupported)
		}
	}
	if l, ok := cfg.Sealer.(driver.Lifetimed); ok && l.Lifetime() < cfg.Lifetime {
		return nil, fmt.Errorf("sesame: the Sealer's lifetime %v is shorter than Config.Lifetime %v: it would cut sessions short; configure both alike", l.Lifetime(), cfg.Lifetime)
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
	m.delta, _ = cfg.Store.(driver.DeltaStore)
	m.create, _ = cfg.Store.(driver.Creator)
	m.capper = capper
	m.obs = cfg.Observer
	m.sobs, _ = cfg.Observer.(StoreObserver)
	if cfg.Store != nil {
		m.kind = fmt.Sprintf("%T", cfg.Store)
	} else {
		m.kind = fmt.Sprintf("%T", cfg.Sealer)
	}
	return m, nil
}

// Name returns the cookie name.
func (m *Manager) Name() string { return m.cfg.Name }

// Sessions lists the live sessions of user. The store must implement
// UserStore; otherwise the error wraps ErrNotSupported.
func (m *Manager) Sessions(ctx context.Context, user string) ([]Info, error) {
	us, ok := m.store.(driver.UserStore)
	if !ok {
		return nil, m.unsupported("listing sessions by user")
	}
	ctx, cancel := m.bound(ctx)
	defer cancel()
	list, err := m.sessions(ctx, us, user)
	if err != nil {
		err = &StoreError{Op: "sessions", Err: err}
		m.failed(ctx, err, "", user)
		return nil, err
	}
	for i := range list {
		list[i].Label = m.label(list[i].Device)
	}
	return list, nil
}

// Revoke ends the session with the given ID, which must belong to user: a
// user can only revoke their own sessions. It returns ErrNotOwner otherwise.
// If the session is being renewed meanwhile, the renewed session ends (see
// Renewer).
func (m *Manager) Revoke(ctx context.Context, user, id string) error {
	list, err := m.Sessions(ctx, user)
	if err != nil {
		return err
	}
	for _, s := range list {
		if s.ID == id {
			ctx, cancel := m.bound(ctx)
			defer cancel()
			if _, err := m.del(ctx, "manager", id); err != nil {
				err = &StoreError{Op: "delete", Err: err}
				m.failed(ctx, err, id, user)
				return err
			}
			m.event(ctx, EventRevoked, id, &driver.Record{User: user, Device: s.Device})
			return nil
		}
	}
	return ErrNotOwner
}

// RevokeAll ends every session of user except the one with ID keep (none
// if keep is ""), for example on a password change. It returns how many it
// ended. The store (or Sealer) must implement UserDeleter; otherwise the
// error wraps ErrNotSupported. With a Sealer the count is CountUnknown:
// the server cannot know how many cookies exist.
//
// Called with the context of a request whose session has a pending Renew,
// Login or Reauthenticate, a keep of that session's Session.ID (the new
// ID) keeps the session under the ID it is stored under, which the commit
// then renews: the order of the two calls does not matter.
func (m *Manager) RevokeAll(ctx context.Context, user, keep string) (int, error) {
	if s := FromContext(ctx); s != nil && s.m == m {
		keep = s.stored(keep)
	}
	var d driver.UserDeleter
	if m.store != nil {
		d, _ = m.store.(driver.UserDeleter)
	} else {
		d, _ = m.sealer.(driver.UserDeleter)
	}
	if d == nil {
		return 0, m.unsupported("revoking sessions by user")
	}
	ctx, cancel := m.bound(ctx)
	defer cancel()
	n, err := m.deleteUser(ctx, d, user, keep)
	if err != nil {
		err = &StoreError{Op: "delete user", Err: err}
		m.failed(ctx, err, keep, user)
		return n, err
	}
	if m.obs != nil {
		m.obs.Event(ctx, Event{Kind: EventRevokedAll, ID: keep, User: user, Time: time.Now(), Count: n})
	}
	return n, nil
}

// stored returns the ID that the session of keep is stored under: its
// current ID if keep is the new ID of this session's pending renewal, and
// keep otherwise.
func (s *Session) stored(keep string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if keep != "" && s.p.renew != keepID && keep == s.p.id && !s.committed && s.live() != nil {
		return s.cid
	}
	return keep
}

// bound applies Config.StoreTimeout to ctx.
func (m *Manager) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if m.cfg.StoreTimeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, m.cfg.StoreTimeout)
}

func (m *Manager) unsupported(what string) error {
	return fmt.Errorf("%w: %s by %s", ErrNotSupported, what, m.kind)
}

func (m *Manager) handleError(w http.ResponseWriter, r *http.Request, err error) {
	if m.cfg.ErrorHandler != nil {
		m.cfg.ErrorHandler(w, r, err)
		return
	}
	if errors.Is(err, ErrTooManySessions) {
		m.log.InfoContext(r.Context(), "sesame: login refused: the user has too many sessions", "method", r.Method, "path", r.URL.Path)
		http.Error(w, "too many sessions", http.StatusForbidden)
		return
	}
	if errors.Is(err, ErrRenewed) {
		m.log.WarnContext(r.Context(), "sesame: a request with a renewed-away cookie changed the session; refused", "method", r.Method, "path", r.URL.Path)
		http.Error(w, http.StatusText(http.StatusConflict), http.StatusConflict)
		return
	}
	m.log.ErrorContext(r.Context(), "sesame: session commit failed", "err", err, "method", r.Method, "path", r.URL.Path)
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}

// hasPrefixFold reports whether s starts with prefix, ignoring case, as
// browsers match cookie name prefixes.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
