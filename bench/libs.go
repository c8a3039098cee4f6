package bench

import (
	"context"
	"crypto/rand"
	"encoding/gob"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	scsmem "github.com/alexedwards/scs/v2/memstore"
	"github.com/gorilla/sessions"
	"github.com/redis/go-redis/v9"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/cookiestore"
	"github.com/sesame-go/sesame/memstore"
	"github.com/sesame-go/sesame/redisstore"
)

// The session every library holds: {user_id int, name string, roles
// [3]string}, under the same cookie name.
const (
	// CookieName is the name of every library's session cookie.
	CookieName = "session"
	// UserID is the user_id of the full session that Seed stores, which
	// ReadHandler requires.
	UserID   = 42
	userName = "Alice Example"
)

var roles = [3]string{"admin", "editor", "viewer"}

// scs and gorilla encode values with gob, which must know the concrete
// types stored in an interface; int and string are built in.
func init() { gob.Register([3]string{}) }

// Library is one session library on one backend, as its users write a
// handler with it. Its methods are unexported: the scenario handlers
// (UntouchedHandler, ReadHandler, CreateHandler, UpdateHandler) and Seed
// are how it is used. Each method runs inside a request that went through
// wrap.
type Library interface {
	// wrap returns the library's middleware around h (h itself for
	// gorilla, which has none).
	wrap(h http.Handler) http.Handler
	// fill stores the whole session: user_id, name and roles.
	fill(w http.ResponseWriter, r *http.Request) error
	// readUserID returns the session's user_id (-1 if it cannot tell).
	readUserID(w http.ResponseWriter, r *http.Request) int
	// create puts user_id into the session.
	create(w http.ResponseWriter, r *http.Request) error
	// update increments the session's counter. It returns the counter's
	// value before the increment and whether the session was loaded from
	// the request's cookie (not a new one).
	update(w http.ResponseWriter, r *http.Request) (before int, loaded bool, err error)
}

// The four scenarios. A handler that finds the library misbehaving answers
// 500 Internal Server Error with the reason as its body; otherwise it
// writes nothing, so the response is an empty 200.

// UntouchedHandler returns scenario S1: lib's middleware around a handler
// that ignores the session. A request without a cookie gets no cookie
// back. For gorilla, which has no middleware, it is the bare handler.
func UntouchedHandler(lib Library) http.Handler {
	return lib.wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
}

// ReadHandler returns scenario S2: it reads user_id from the session that
// the request's cookie names (one made by Seed), and fails unless it is
// UserID.
func ReadHandler(lib Library) http.Handler {
	return lib.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := lib.readUserID(w, r); got != UserID {
			fail(w, fmt.Sprintf("read user_id %d, want %d", got, UserID))
		}
	}))
}

// CreateHandler returns scenario S3: for a new visitor (no cookie) it puts
// user_id, so every request creates a session and sets its cookie.
func CreateHandler(lib Library) http.Handler {
	return lib.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := lib.create(w, r); err != nil {
			fail(w, "create: "+err.Error())
		}
	}))
}

// UpdateHandler returns scenario S4: a read-modify-write of a counter in
// the session that the request's cookie names (one made by Seed). It fails
// unless that session was loaded. If check is not nil, it is called with
// the counter's value before the increment, and an error from it fails
// the request too.
func UpdateHandler(lib Library, check func(before int) error) http.Handler {
	return lib.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, loaded, err := lib.update(w, r)
		switch {
		case err != nil:
			fail(w, "update: "+err.Error())
		case !loaded:
			fail(w, "update: the session cookie was not loaded")
		case check != nil:
			if err := check(n); err != nil {
				fail(w, "update: "+err.Error())
			}
		}
	}))
}

// fail answers 500 with msg.
func fail(w http.ResponseWriter, msg string) {
	http.Error(w, msg, http.StatusInternalServerError)
}

// Seed creates a full session (user_id, name and roles) through lib's
// middleware and returns the value of its cookie, named CookieName.
func Seed(lib Library) (string, error) {
	rec := httptest.NewRecorder()
	var err error
	lib.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err = lib.fill(w, r)
	})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if err != nil {
		return "", fmt.Errorf("seeding the session: %w", err)
	}
	c := CookieValue(rec.Header())
	if c == "" {
		return "", fmt.Errorf("seeding the session set no cookie (status %d)", rec.Code)
	}
	return c, nil
}

// CookieValue returns the value of the session cookie (CookieName) set in
// the response header h, or "" if h sets none or deletes it.
func CookieValue(h http.Header) string {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == CookieName && c.MaxAge >= 0 {
			return c.Value
		}
	}
	return ""
}

// Sesame.

type sesameLib struct{ m *sesame.Manager }

// newSesame returns Sesame with its defaults (8h lifetime, 30m idle timeout
// touched at most once a minute, Secure cookie), except that cookies are
// persistent, as they are by default in scs and gorilla, and named as the
// other libraries' are.
func newSesame(cfg sesame.Config) sesameLib {
	cfg.Persist = true
	cfg.Name = CookieName
	return sesameLib{sesame.New(cfg)}
}

func (l sesameLib) wrap(h http.Handler) http.Handler { return l.m.Handler(h) }

func (l sesameLib) fill(_ http.ResponseWriter, r *http.Request) error {
	s := sesame.FromContext(r.Context())
	if err := s.Put("user_id", UserID); err != nil {
		return err
	}
	if err := s.Put("name", userName); err != nil {
		return err
	}
	return s.Put("roles", roles)
}

func (l sesameLib) readUserID(_ http.ResponseWriter, r *http.Request) int {
	id, ok := sesame.Get[int](sesame.FromContext(r.Context()), "user_id")
	if !ok {
		return -1
	}
	return id
}

func (l sesameLib) create(_ http.ResponseWriter, r *http.Request) error {
	return sesame.FromContext(r.Context()).Put("user_id", UserID)
}

func (l sesameLib) update(_ http.ResponseWriter, r *http.Request) (int, bool, error) {
	s := sesame.FromContext(r.Context())
	n, _ := sesame.Get[int](s, "counter")
	err := s.Put("counter", n+1)
	return n, !s.IsNew(), err
}

// NewSesameMemory returns Sesame on a fresh memstore, and the func that
// closes the store.
func NewSesameMemory() (Library, func(), error) {
	st := memstore.New(memstore.Options{})
	return newSesame(sesame.Config{Store: st}), func() { st.Close() }, nil
}

// NewSesameCookie returns Sesame on a cookiestore with one fresh random
// key. Its close func does nothing.
func NewSesameCookie() (Library, func(), error) {
	key, err := cookiestore.GenerateKey("bench")
	if err != nil {
		return nil, nil, err
	}
	st, err := cookiestore.New(cookiestore.Options{Keys: []cookiestore.Key{key}})
	if err != nil {
		return nil, nil, err
	}
	return newSesame(sesame.Config{Sealer: st}), func() {}, nil
}

// NewSesameRedis returns Sesame on a redisstore over rdb whose keys start
// with prefix, with its scripts loaded. Its close func does nothing: the
// caller owns rdb and the keys.
func NewSesameRedis(ctx context.Context, rdb *redis.Client, prefix string) (Library, func(), error) {
	st := redisstore.New(rdb, redisstore.Options{Prefix: prefix})
	if err := st.LoadScripts(ctx); err != nil {
		return nil, nil, err
	}
	return newSesame(sesame.Config{Store: st}), func() {}, nil
}

// scs.

type scsLib struct{ sm *scs.SessionManager }

// newSCS returns scs with its defaults (24h lifetime, no idle timeout,
// persistent cookies, gob codec) on store.
func newSCS(store scs.Store) scsLib {
	sm := scs.New()
	sm.Store = store
	return scsLib{sm}
}

func (l scsLib) wrap(h http.Handler) http.Handler { return l.sm.LoadAndSave(h) }

func (l scsLib) fill(_ http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	l.sm.Put(ctx, "user_id", UserID)
	l.sm.Put(ctx, "name", userName)
	l.sm.Put(ctx, "roles", roles)
	return nil
}

func (l scsLib) readUserID(_ http.ResponseWriter, r *http.Request) int {
	return l.sm.GetInt(r.Context(), "user_id")
}

func (l scsLib) create(_ http.ResponseWriter, r *http.Request) error {
	l.sm.Put(r.Context(), "user_id", UserID)
	return nil
}

func (l scsLib) update(_ http.ResponseWriter, r *http.Request) (int, bool, error) {
	ctx := r.Context()
	n := l.sm.GetInt(ctx, "counter")
	l.sm.Put(ctx, "counter", n+1)
	return n, l.sm.Token(ctx) != "", nil
}

// NewSCSMemory returns scs on a fresh scs memstore, and the func that stops
// the store's cleanup goroutine.
func NewSCSMemory() (Library, func(), error) {
	st := scsmem.New()
	return newSCS(st), st.StopCleanup, nil
}

// NewSCSRedis returns scs on a goredisstore over rdb whose keys start with
// prefix. Its close func does nothing: the caller owns rdb and the keys.
func NewSCSRedis(rdb *redis.Client, prefix string) (Library, func(), error) {
	return newSCS(goredisstore.NewWithPrefix(rdb, prefix)), func() {}, nil
}

// gorilla.

type gorillaLib struct{ store *sessions.CookieStore }

func (l gorillaLib) wrap(h http.Handler) http.Handler { return h }

func (l gorillaLib) fill(w http.ResponseWriter, r *http.Request) error {
	s, err := l.store.Get(r, CookieName)
	if err != nil {
		return err
	}
	s.Values["user_id"] = UserID
	s.Values["name"] = userName
	s.Values["roles"] = roles
	return s.Save(r, w)
}

// readUserID only reads: gorilla's users call Save only after a change.
func (l gorillaLib) readUserID(_ http.ResponseWriter, r *http.Request) int {
	s, err := l.store.Get(r, CookieName)
	if err != nil {
		return -1
	}
	id, ok := s.Values["user_id"].(int)
	if !ok {
		return -1
	}
	return id
}

func (l gorillaLib) create(w http.ResponseWriter, r *http.Request) error {
	s, err := l.store.Get(r, CookieName)
	if err != nil {
		return err
	}
	s.Values["user_id"] = UserID
	return s.Save(r, w)
}

func (l gorillaLib) update(w http.ResponseWriter, r *http.Request) (int, bool, error) {
	s, err := l.store.Get(r, CookieName)
	if err != nil {
		return 0, false, err
	}
	n, _ := s.Values["counter"].(int)
	s.Values["counter"] = n + 1
	return n, !s.IsNew, s.Save(r, w)
}

// NewGorillaCookie returns gorilla's CookieStore with a fresh random 32-byte
// hash key (HMAC-SHA-256) and 32-byte block key (AES-256): signed and
// encrypted, the nearest to Sesame's sealed cookies. Its other settings are
// its defaults (30-day persistent cookies, gob codec). Its close func does
// nothing.
func NewGorillaCookie() (Library, func(), error) {
	hashKey, blockKey := make([]byte, 32), make([]byte, 32)
	rand.Read(hashKey) // never fails: crypto/rand crashes instead
	rand.Read(blockKey)
	return gorillaLib{sessions.NewCookieStore(hashKey, blockKey)}, func() {}, nil
}

// Subject names a library on a backend, as the benchmarks name them:
// Backend "memory", "cookie" or "redis"; Library "sesame", "scs" or
// "gorilla".
type Subject struct {
	Backend, Library string
}

// Name returns "backend/library", as in the benchmark names.
func (s Subject) Name() string { return s.Backend + "/" + s.Library }

// Subjects lists every library on every backend, each Sesame variant
// followed by its anchor. gorilla has no server-side memory store and no
// Redis store of its own.
var Subjects = []Subject{
	{"memory", "sesame"}, {"memory", "scs"},
	{"cookie", "sesame"}, {"cookie", "gorilla"},
	{"redis", "sesame"}, {"redis", "scs"},
}

// OpenSubject builds the library of sub with fresh state, by the New
// function of that subject. rdb and prefix are used, and rdb required, only
// on the redis backend.
func OpenSubject(ctx context.Context, sub Subject, rdb *redis.Client, prefix string) (Library, func(), error) {
	switch sub {
	case Subject{"memory", "sesame"}:
		return NewSesameMemory()
	case Subject{"memory", "scs"}:
		return NewSCSMemory()
	case Subject{"cookie", "sesame"}:
		return NewSesameCookie()
	case Subject{"cookie", "gorilla"}:
		return NewGorillaCookie()
	case Subject{"redis", "sesame"}, Subject{"redis", "scs"}:
		if rdb == nil {
			return nil, nil, errors.New("bench: a Redis subject needs a Redis client")
		}
		if sub.Library == "sesame" {
			return NewSesameRedis(ctx, rdb, prefix)
		}
		return NewSCSRedis(rdb, prefix)
	}
	return nil, nil, fmt.Errorf("bench: no subject %s", sub.Name())
}
