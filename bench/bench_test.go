package bench

import (
	"context"
	"crypto/rand"
	"encoding/gob"
	"encoding/hex"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	scsmem "github.com/alexedwards/scs/v2/memstore"
	"github.com/gorilla/sessions"
	"github.com/redis/go-redis/v9"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/cookiestore"
	"github.com/sesame-go/sesame/internal/testenv"
	"github.com/sesame-go/sesame/memstore"
	"github.com/sesame-go/sesame/redisstore"
)

// The session every library holds: {user_id int, name string, roles
// [3]string}, under the same cookie name.
const (
	cookieName = "session"
	userID     = 42
	userName   = "Alice Example"
)

var roles = [3]string{"admin", "editor", "viewer"}

// scs and gorilla encode values with gob, which must know the concrete
// types stored in an interface; int and string are built in.
func init() { gob.Register([3]string{}) }

// library is one session library on one backend, as its users write a
// handler with it. Each method runs inside a request that went through
// wrap.
type library interface {
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

// subject is a library on a backend, named "backend/library" as in the
// benchmark names.
type subject struct {
	name string
	// open builds the library with fresh state, registering its cleanup on
	// b. It returns the Redis round-trip counter, or nil off Redis.
	open func(b *testing.B) (library, *tripCounter)
	// stateful reports that the session lives on the server, so an update
	// is seen by the next request carrying the same cookie. With a cookie
	// store every request carries the original cookie, so the counter read
	// is always 0.
	stateful bool
}

// subjects lists every library on every backend, each Sesame variant
// beside its anchor. gorilla has no server-side memory store and no Redis
// store of its own.
var subjects = []subject{
	{name: "memory/sesame", open: openSesameMemory, stateful: true},
	{name: "memory/scs", open: openSCSMemory, stateful: true},
	{name: "cookie/sesame", open: openSesameCookie},
	{name: "cookie/gorilla", open: openGorillaCookie},
	{name: "redis/sesame", open: openSesameRedis, stateful: true},
	{name: "redis/scs", open: openSCSRedis, stateful: true},
}

// BenchmarkUntouched serves requests without a cookie whose handler ignores
// the session. The baseline serves the same handler without any session
// middleware: the cost of a session library here is its overhead on every
// request that does not use sessions. gorilla has no middleware, so its
// cost here is the baseline's.
func BenchmarkUntouched(b *testing.B) {
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	b.Run("baseline", func(b *testing.B) {
		h := serve(b, noop, "")
		if len(h["Set-Cookie"]) != 0 {
			b.Fatal("baseline set a cookie")
		}
	})
	for _, sub := range subjects {
		if sub.name == "cookie/gorilla" {
			continue
		}
		b.Run(sub.name, func(b *testing.B) {
			lib, trips := sub.open(b)
			h := serveCounted(b, lib.wrap(noop), "", trips)
			if len(h["Set-Cookie"]) != 0 {
				b.Fatalf("%s set a cookie for an untouched session: %q", sub.name, h["Set-Cookie"])
			}
		})
	}
}

// BenchmarkRead serves requests carrying a valid cookie of a full session
// whose handler reads user_id, and fails unless it reads 42.
func BenchmarkRead(b *testing.B) {
	for _, sub := range subjects {
		b.Run(sub.name, func(b *testing.B) {
			lib, trips := sub.open(b)
			cookie := seed(b, lib)
			h := lib.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if got := lib.readUserID(w, r); got != userID {
					b.Fatalf("%s read user_id %d, want %d", sub.name, got, userID)
				}
			}))
			serveCounted(b, h, cookie, trips)
		})
	}
}

// BenchmarkCreate serves requests without a cookie whose handler puts
// user_id, so every request creates a session and sets its cookie.
func BenchmarkCreate(b *testing.B) {
	for _, sub := range subjects {
		b.Run(sub.name, func(b *testing.B) {
			lib, trips := sub.open(b)
			h := lib.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := lib.create(w, r); err != nil {
					b.Fatalf("%s create: %v", sub.name, err)
				}
			}))
			if c := cookieValue(serveCounted(b, h, "", trips)); c == "" {
				b.Fatalf("%s created no session cookie", sub.name)
			}
		})
	}
}

// BenchmarkUpdate serves requests carrying a valid cookie of a full session
// whose handler increments a counter. It fails unless the session was
// loaded and, on a server-side store, unless each request saw the previous
// one's increment.
func BenchmarkUpdate(b *testing.B) {
	for _, sub := range subjects {
		b.Run(sub.name, func(b *testing.B) {
			lib, trips := sub.open(b)
			cookie := seed(b, lib)
			done := 0
			h := lib.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n, loaded, err := lib.update(w, r)
				want := 0
				if sub.stateful {
					want = done
				}
				switch {
				case err != nil:
					b.Fatalf("%s update: %v", sub.name, err)
				case !loaded:
					b.Fatalf("%s update: the session cookie was not loaded", sub.name)
				case n != want:
					b.Fatalf("%s update: counter was %d, want %d", sub.name, n, want)
				}
				done++
			}))
			if c := cookieValue(serveCounted(b, h, cookie, trips)); c == "" {
				b.Fatalf("%s sent no cookie after an update", sub.name)
			}
		})
	}
}

// discard is a reusable ResponseWriter, so benchmarks measure the session
// work rather than a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// serve runs h for every iteration of b on a fresh copy of one GET request
// carrying the session cookie (none if cookie is ""), and returns the
// headers of the last response. A fresh request matters: gorilla stores
// its registry in the request it is given, so a reused request would hand
// it the session decoded by the previous iteration. Copying the template
// into one *http.Request allocates nothing, so the copy costs every
// library, and the baseline, the same few nanoseconds.
func serve(b *testing.B, h http.Handler, cookie string) http.Header {
	return serveCounted(b, h, cookie, nil)
}

// serveCounted is serve, reporting the Redis round trips per request
// counted by trips, if not nil.
func serveCounted(b *testing.B, h http.Handler, cookie string, trips *tripCounter) http.Header {
	b.Helper()
	tmpl := httptest.NewRequest(http.MethodGet, "/", nil)
	if cookie != "" {
		tmpl.Header.Set("Cookie", cookieName+"="+cookie)
	}
	req := new(http.Request)
	w := &discard{h: make(http.Header)}
	var start int64
	var server *serverTime
	var before serverStats
	var sent map[string]int64
	if trips != nil {
		server = newServerTime(b)
		before = server.stats(b)
		start, sent = trips.n.Load(), trips.sentSoFar()
	}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		*req = *tmpl
		h.ServeHTTP(w, req)
	}
	if trips != nil {
		b.ReportMetric(float64(trips.n.Load()-start)/float64(b.N), "roundtrips/op")
		server.report(b, before, sent, trips.sentSoFar())
	}
	return w.h
}

// seed creates a full session through lib's middleware and returns its
// cookie value.
func seed(b *testing.B, lib library) string {
	b.Helper()
	rec := httptest.NewRecorder()
	var err error
	lib.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err = lib.fill(w, r)
	})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if err != nil {
		b.Fatalf("seeding the session: %v", err)
	}
	c := cookieValue(rec.Header())
	if c == "" {
		b.Fatalf("seeding the session set no cookie (status %d)", rec.Code)
	}
	return c
}

// cookieValue returns the value of the session cookie set in h, or "".
func cookieValue(h http.Header) string {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == cookieName && c.MaxAge >= 0 {
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
	cfg.Name = cookieName
	return sesameLib{sesame.New(cfg)}
}

func (l sesameLib) wrap(h http.Handler) http.Handler { return l.m.Handler(h) }

func (l sesameLib) fill(_ http.ResponseWriter, r *http.Request) error {
	s := sesame.FromContext(r.Context())
	if err := s.Put("user_id", userID); err != nil {
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
	return sesame.FromContext(r.Context()).Put("user_id", userID)
}

func (l sesameLib) update(_ http.ResponseWriter, r *http.Request) (int, bool, error) {
	s := sesame.FromContext(r.Context())
	n, _ := sesame.Get[int](s, "counter")
	err := s.Put("counter", n+1)
	return n, !s.IsNew(), err
}

func openSesameMemory(b *testing.B) (library, *tripCounter) {
	st := memstore.New(memstore.Options{})
	b.Cleanup(func() { st.Close() })
	return newSesame(sesame.Config{Store: st}), nil
}

func openSesameCookie(b *testing.B) (library, *tripCounter) {
	key, err := cookiestore.GenerateKey("bench")
	if err != nil {
		b.Fatal(err)
	}
	st, err := cookiestore.New(cookiestore.Options{Keys: []cookiestore.Key{key}})
	if err != nil {
		b.Fatal(err)
	}
	return newSesame(sesame.Config{Sealer: st}), nil
}

func openSesameRedis(b *testing.B) (library, *tripCounter) {
	rdb, prefix, trips := openRedis(b)
	st := redisstore.New(rdb, redisstore.Options{Prefix: prefix})
	if err := st.LoadScripts(b.Context()); err != nil {
		b.Fatal(err)
	}
	return newSesame(sesame.Config{Store: st}), trips
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
	l.sm.Put(ctx, "user_id", userID)
	l.sm.Put(ctx, "name", userName)
	l.sm.Put(ctx, "roles", roles)
	return nil
}

func (l scsLib) readUserID(_ http.ResponseWriter, r *http.Request) int {
	return l.sm.GetInt(r.Context(), "user_id")
}

func (l scsLib) create(_ http.ResponseWriter, r *http.Request) error {
	l.sm.Put(r.Context(), "user_id", userID)
	return nil
}

func (l scsLib) update(_ http.ResponseWriter, r *http.Request) (int, bool, error) {
	ctx := r.Context()
	n := l.sm.GetInt(ctx, "counter")
	l.sm.Put(ctx, "counter", n+1)
	return n, l.sm.Token(ctx) != "", nil
}

func openSCSMemory(b *testing.B) (library, *tripCounter) {
	st := scsmem.New()
	b.Cleanup(st.StopCleanup)
	return newSCS(st), nil
}

func openSCSRedis(b *testing.B) (library, *tripCounter) {
	rdb, prefix, trips := openRedis(b)
	return newSCS(goredisstore.NewWithPrefix(rdb, prefix)), trips
}

// gorilla.

type gorillaLib struct{ store *sessions.CookieStore }

func (l gorillaLib) wrap(h http.Handler) http.Handler { return h }

func (l gorillaLib) fill(w http.ResponseWriter, r *http.Request) error {
	s, err := l.store.Get(r, cookieName)
	if err != nil {
		return err
	}
	s.Values["user_id"] = userID
	s.Values["name"] = userName
	s.Values["roles"] = roles
	return s.Save(r, w)
}

// readUserID only reads: gorilla's users call Save only after a change.
func (l gorillaLib) readUserID(_ http.ResponseWriter, r *http.Request) int {
	s, err := l.store.Get(r, cookieName)
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
	s, err := l.store.Get(r, cookieName)
	if err != nil {
		return err
	}
	s.Values["user_id"] = userID
	return s.Save(r, w)
}

func (l gorillaLib) update(w http.ResponseWriter, r *http.Request) (int, bool, error) {
	s, err := l.store.Get(r, cookieName)
	if err != nil {
		return 0, false, err
	}
	n, _ := s.Values["counter"].(int)
	s.Values["counter"] = n + 1
	return n, !s.IsNew, s.Save(r, w)
}

// openGorillaCookie returns gorilla's CookieStore with a 32-byte hash key
// (HMAC-SHA-256) and a 32-byte block key (AES-256): signed and encrypted,
// the nearest to Sesame's sealed cookies. Its other settings are its
// defaults (30-day persistent cookies, gob codec).
func openGorillaCookie(b *testing.B) (library, *tripCounter) {
	hashKey, blockKey := make([]byte, 32), make([]byte, 32)
	rand.Read(hashKey)
	rand.Read(blockKey)
	return gorillaLib{sessions.NewCookieStore(hashKey, blockKey)}, nil
}

// Redis.

// openRedis connects to the test Redis (SESAME_REDIS_URL, or
// redis://127.0.0.1:6379/0) with a round-trip counter, and returns the
// client and a random key prefix whose keys are deleted after b. It skips
// b if Redis is unreachable (and fails it when CI=true).
func openRedis(b *testing.B) (*redis.Client, string, *tripCounter) {
	b.Helper()
	url := testenv.RedisURL()
	opts, err := redis.ParseURL(url)
	if err != nil {
		b.Fatalf("SESAME_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		testenv.Unavailable(b, "Redis at "+url, err)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	prefix := "sesame-bench-" + hex.EncodeToString(rnd[:]) + ":"
	b.Cleanup(func() {
		deletePrefix(b, rdb, prefix)
		rdb.Close()
	})
	trips := &tripCounter{}
	rdb.AddHook(trips)
	return rdb, prefix, trips
}

// deletePrefix deletes every key starting with prefix.
func deletePrefix(b *testing.B, rdb *redis.Client, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	flush := func() {
		if len(keys) > 0 {
			if err := rdb.Unlink(ctx, keys...).Err(); err != nil {
				b.Logf("deleting bench keys: %v", err)
			}
			keys = keys[:0]
		}
	}
	for iter.Next(ctx) {
		if keys = append(keys, iter.Val()); len(keys) == 1000 {
			flush()
		}
	}
	flush()
	if err := iter.Err(); err != nil {
		b.Logf("scanning bench keys: %v", err)
	}
}

// tripCounter is a go-redis hook that counts round trips: one per command
// sent alone, one per pipeline or transaction. It also counts the commands
// sent, by name, as Redis sees them at the top level: a transaction as its
// MULTI and EXEC (EXEC's time includes the commands it runs).
type tripCounter struct {
	n    atomic.Int64
	mu   sync.Mutex
	sent map[string]int64
}

func (c *tripCounter) count(cmds ...redis.Cmder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sent == nil {
		c.sent = make(map[string]int64)
	}
	if len(cmds) > 1 && cmds[0].Name() == "multi" {
		cmds = []redis.Cmder{cmds[0], cmds[len(cmds)-1]}
	}
	for _, cmd := range cmds {
		c.sent[cmd.Name()]++
	}
}

// sentSoFar returns a copy of the counts of commands sent.
func (c *tripCounter) sentSoFar() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.sent)
}

func (c *tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		c.count(cmd)
		return next(ctx, cmd)
	}
}

func (c *tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		c.count(cmds...)
		return next(ctx, cmds)
	}
}
