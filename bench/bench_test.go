package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesame-go/sesame/internal/testenv"
)

// subject is a library on a backend, named "backend/library" as in the
// benchmark names.
type subject struct {
	name string
	// open builds the library with fresh state, registering its cleanup on
	// b. It returns the Redis round-trip counter, or nil off Redis.
	open func(b *testing.B) (Library, *tripCounter)
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
			h := serveCounted(b, UntouchedHandler(lib), "", trips)
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
			serveCounted(b, ReadHandler(lib), cookie, trips)
		})
	}
}

// BenchmarkCreate serves requests without a cookie whose handler puts
// user_id, so every request creates a session and sets its cookie.
func BenchmarkCreate(b *testing.B) {
	for _, sub := range subjects {
		b.Run(sub.name, func(b *testing.B) {
			lib, trips := sub.open(b)
			if c := CookieValue(serveCounted(b, CreateHandler(lib), "", trips)); c == "" {
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
			h := UpdateHandler(lib, func(n int) error {
				want := 0
				if sub.stateful {
					want = done
				}
				if n != want {
					return fmt.Errorf("counter was %d, want %d", n, want)
				}
				done++
				return nil
			})
			if c := CookieValue(serveCounted(b, h, cookie, trips)); c == "" {
				b.Fatalf("%s sent no cookie after an update", sub.name)
			}
		})
	}
}

// discard is a reusable ResponseWriter, so benchmarks measure the session
// work rather than a recorder. It keeps only the status of an error
// response and its body, the reason a scenario handler gives.
type discard struct {
	h    http.Header
	code int
	msg  []byte
}

func (d *discard) Header() http.Header { return d.h }

func (d *discard) Write(p []byte) (int, error) {
	if d.code >= 400 {
		d.msg = append(d.msg, p...)
	}
	return len(p), nil
}

func (d *discard) WriteHeader(code int) { d.code = code }

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
// counted by trips, if not nil. It fails b at the first error response
// (a status of 400 or more), with the reason the handler wrote.
func serveCounted(b *testing.B, h http.Handler, cookie string, trips *tripCounter) http.Header {
	b.Helper()
	tmpl := httptest.NewRequest(http.MethodGet, "/", nil)
	if cookie != "" {
		tmpl.Header.Set("Cookie", CookieName+"="+cookie)
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
		w.code = 0
		*req = *tmpl
		h.ServeHTTP(w, req)
		if w.code >= 400 {
			b.Fatalf("status %d: %s", w.code, bytes.TrimSpace(w.msg))
		}
	}
	if trips != nil {
		b.ReportMetric(float64(trips.n.Load()-start)/float64(b.N), "roundtrips/op")
		server.report(b, before, sent, trips.sentSoFar())
	}
	return w.h
}

// seed creates a full session through lib's middleware (Seed) and returns
// its cookie value.
func seed(b *testing.B, lib Library) string {
	b.Helper()
	c, err := Seed(lib)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// The subjects, built with fresh state and their cleanup registered on b.

func openSesameMemory(b *testing.B) (Library, *tripCounter) {
	return opened(b)(NewSesameMemory())
}

func openSCSMemory(b *testing.B) (Library, *tripCounter) {
	return opened(b)(NewSCSMemory())
}

func openSesameCookie(b *testing.B) (Library, *tripCounter) {
	return opened(b)(NewSesameCookie())
}

func openGorillaCookie(b *testing.B) (Library, *tripCounter) {
	return opened(b)(NewGorillaCookie())
}

func openSesameRedis(b *testing.B) (Library, *tripCounter) {
	rdb, prefix, trips := openRedis(b)
	lib, _ := opened(b)(NewSesameRedis(b.Context(), rdb, prefix))
	return lib, trips
}

func openSCSRedis(b *testing.B) (Library, *tripCounter) {
	rdb, prefix, trips := openRedis(b)
	lib, _ := opened(b)(NewSCSRedis(rdb, prefix))
	return lib, trips
}

// opened returns a func that takes what a New function returns, fails b on
// its error, registers its close func on b, and returns the library with
// no round-trip counter.
func opened(b *testing.B) func(Library, func(), error) (Library, *tripCounter) {
	return func(lib Library, closeLib func(), err error) (Library, *tripCounter) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(closeLib)
		return lib, nil
	}
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
