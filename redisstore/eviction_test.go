package redisstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/internal/testenv"
)

// TestCheckEviction checks CheckEviction on the shared servers (which run
// noeviction), on a private one that may evict, and on private ones where
// CONFIG is renamed away or denied by an ACL, which it tolerates.
func TestCheckEviction(t *testing.T) {
	t.Run("standalone", func(t *testing.T) {
		if err := New(standalone(t), Options{}).CheckEviction(t.Context()); err != nil {
			t.Errorf("CheckEviction on the shared server = %v, want nil (noeviction)", err)
		}
	})
	t.Run("cluster", func(t *testing.T) {
		if err := New(cluster(t), Options{}).CheckEviction(t.Context()); err != nil {
			t.Errorf("CheckEviction on the shared Cluster = %v, want nil (noeviction on every master)", err)
		}
	})
	t.Run("volatile-lru", func(t *testing.T) {
		srv := testenv.StartRedis(t, false, "--maxmemory-policy", "volatile-lru")
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
		t.Cleanup(func() { rdb.Close() })
		err := New(rdb, Options{}).CheckEviction(t.Context())
		if !errors.Is(err, ErrEvictionPolicy) || !strings.Contains(err.Error(), `"volatile-lru"`) || !strings.Contains(err.Error(), srv.Addr) {
			t.Errorf("CheckEviction under volatile-lru = %v, want ErrEvictionPolicy naming the policy and the server", err)
		}
		t.Logf("CheckEviction: %v", err)

		// An ACL user that may not run CONFIG: the check cannot tell.
		if err := rdb.Do(t.Context(), "acl", "setuser", "app", "on", ">secret", "~*", "+@all", "-config").Err(); err != nil {
			t.Fatal(err)
		}
		app := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "app", Password: "secret"})
		t.Cleanup(func() { app.Close() })
		if err := New(app, Options{}).CheckEviction(t.Context()); err != nil {
			t.Errorf("CheckEviction without the CONFIG permission = %v, want nil (tolerated)", err)
		}
	})
	t.Run("config-renamed", func(t *testing.T) {
		srv := testenv.StartRedis(t, false, "--maxmemory-policy", "allkeys-lru", "--rename-command", "CONFIG", "")
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
		t.Cleanup(func() { rdb.Close() })
		if err := rdb.ConfigGet(t.Context(), "maxmemory-policy").Err(); err == nil {
			t.Fatal("CONFIG still works: the server did not rename it")
		} else {
			t.Logf("CONFIG GET on the server: %v", err)
		}
		if err := New(rdb, Options{}).CheckEviction(t.Context()); err != nil {
			t.Errorf("CheckEviction with CONFIG disabled = %v, want nil (tolerated)", err)
		}
	})
}

// TestEvictionCheckOnFirstUse checks the check that the store runs by
// itself: once, in its first call (concurrent first calls wait for the
// one check), never again, logged through Options.Logger: an error naming
// the server and its policy if it may evict, a warning that says how to
// skip the check if CONFIG GET is refused, nothing under noeviction, and
// no session ID or user ever. SkipEvictionCheck turns it off, and a call
// of CheckEviction makes it needless.
func TestEvictionCheckOnFirstUse(t *testing.T) {
	now := time.Now()
	rec := &driver.Record{User: "alice-the-user", Values: map[string]any{"a": 1}, Created: now, LastSeen: now,
		Expires: now.Add(time.Hour), Deadline: now.Add(time.Hour)}
	const secret = "secret-session-id"
	// client returns a client of srv that counts its CONFIG commands and
	// round trips.
	client := func(t *testing.T, opts *redis.Options) (*redis.Client, *atomic.Int64, *roundTrips) {
		rdb := redis.NewClient(opts)
		t.Cleanup(func() { rdb.Close() })
		var configs atomic.Int64
		rdb.AddHook(&onCommand{f: func(cmd redis.Cmder) {
			if cmd.Name() == "config" {
				configs.Add(1)
			}
		}})
		rt := &roundTrips{}
		rdb.AddHook(rt)
		return rdb, &configs, rt
	}
	// logged parses the JSON log records in buf.
	logged := func(t *testing.T, buf *testenv.Buffer) []map[string]any {
		t.Helper()
		out := buf.String()
		if strings.Contains(out, secret) || strings.Contains(out, "alice-the-user") {
			t.Errorf("the log names a session ID or a user:\n%s", out)
		}
		var recs []map[string]any
		for line := range strings.Lines(out) {
			var r map[string]any
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			recs = append(recs, r)
		}
		return recs
	}
	newStore := func(rdb redis.UniversalClient, opts Options) (*Store, *testenv.Buffer) {
		buf := &testenv.Buffer{}
		opts.Logger = slog.New(slog.NewJSONHandler(buf, nil))
		return New(rdb, opts), buf
	}

	t.Run("allkeys-lru", func(t *testing.T) {
		srv := testenv.StartRedis(t, false, "--maxmemory-policy", "allkeys-lru")
		rdb, configs, rt := client(t, &redis.Options{Addr: srv.Addr})
		ctx := t.Context()
		st, buf := newStore(rdb, Options{})
		if got := rt.during(func() { st.Load(ctx, secret) }); got != 2 || configs.Load() != 1 {
			t.Errorf("first call: %d round trips, %d CONFIG GETs; want 2 (the check, then HGETALL) and 1", got, configs.Load())
		}
		for range 3 {
			if got := rt.during(func() { st.Load(ctx, secret) }); got != 1 {
				t.Errorf("a later Load: %d round trips, want 1: the check must not run again", got)
			}
		}
		must(t, st.Save(ctx, secret, rec))
		recs := logged(t, buf)
		if len(recs) != 1 || recs[0]["level"] != "ERROR" || recs[0]["server"] != srv.Addr || recs[0]["policy"] != "allkeys-lru" ||
			!strings.Contains(fmt.Sprint(recs[0]["msg"]), "noeviction") {
			t.Errorf("log = %v, want one error naming the server %s, the policy allkeys-lru and the fix", recs, srv.Addr)
		}
		t.Logf("logged: %s", buf.String())

		// Concurrent first calls share one check.
		st, buf = newStore(rdb, Options{})
		configs.Store(0)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				if err := st.Save(ctx, fmt.Sprint(secret, i), rec); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := configs.Load(); n != 1 || len(logged(t, buf)) != 1 {
			t.Errorf("8 concurrent first calls sent %d CONFIG GETs and logged %q; want 1 and one record", n, buf.String())
		}

		// SkipEvictionCheck: no CONFIG GET, no log.
		st, buf = newStore(rdb, Options{SkipEvictionCheck: true})
		configs.Store(0)
		if got := rt.during(func() { st.Load(ctx, secret) }); got != 1 || configs.Load() != 0 || buf.String() != "" {
			t.Errorf("with SkipEvictionCheck: %d round trips, %d CONFIG GETs, log %q; want 1, 0 and none", got, configs.Load(), buf.String())
		}

		// CheckEviction, called first, makes the check needless.
		st, buf = newStore(rdb, Options{})
		if err := st.CheckEviction(ctx); !errors.Is(err, ErrEvictionPolicy) {
			t.Errorf("CheckEviction = %v, want ErrEvictionPolicy", err)
		}
		configs.Store(0)
		if got := rt.during(func() { st.Load(ctx, secret) }); got != 1 || configs.Load() != 0 || buf.String() != "" {
			t.Errorf("after CheckEviction: %d round trips, %d CONFIG GETs, log %q; want 1, 0 and none", got, configs.Load(), buf.String())
		}

		// A nil Logger is slog.Default(), when the record is logged.
		prev := slog.Default()
		t.Cleanup(func() { slog.SetDefault(prev) })
		var def testenv.Buffer
		slog.SetDefault(slog.New(slog.NewJSONHandler(&def, nil)))
		New(rdb, Options{}).Load(ctx, secret)
		slog.SetDefault(prev)
		if recs := logged(t, &def); len(recs) != 1 || recs[0]["level"] != "ERROR" {
			t.Errorf("with a nil Logger, slog.Default() got %q; want the error", def.String())
		}
	})

	t.Run("config-refused", func(t *testing.T) {
		renamed := testenv.StartRedis(t, false, "--maxmemory-policy", "allkeys-lru", "--rename-command", "CONFIG", "")
		acl := testenv.StartRedis(t, false, "--maxmemory-policy", "allkeys-lru")
		admin, _, _ := client(t, &redis.Options{Addr: acl.Addr})
		if err := admin.Do(t.Context(), "acl", "setuser", "app", "on", ">secret", "~*", "+@all", "-config").Err(); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name string
			opts *redis.Options
		}{
			{"renamed away", &redis.Options{Addr: renamed.Addr}},
			{"denied by an ACL", &redis.Options{Addr: acl.Addr, Username: "app", Password: "secret"}},
		} {
			rdb, configs, rt := client(t, tt.opts)
			st, buf := newStore(rdb, Options{})
			must(t, st.Save(t.Context(), secret, rec))
			if got := rt.during(func() { st.Load(t.Context(), secret) }); got != 1 || configs.Load() != 1 {
				t.Errorf("%s: a later Load took %d round trips (%d CONFIG GETs in all); want 1 (and 1)", tt.name, got, configs.Load())
			}
			recs := logged(t, buf)
			if len(recs) != 1 || recs[0]["level"] != "WARN" || recs[0]["server"] != tt.opts.Addr ||
				!strings.Contains(fmt.Sprint(recs[0]["msg"]), "SkipEvictionCheck") {
				t.Errorf("CONFIG %s: log = %v, want one warning naming the server and SkipEvictionCheck", tt.name, recs)
			}
			t.Logf("CONFIG %s: %s", tt.name, buf.String())
		}
	})

	t.Run("noeviction", func(t *testing.T) {
		st, buf := newStore(standalone(t), Options{})
		st.Load(t.Context(), secret)
		if buf.String() != "" {
			t.Errorf("the shared server, under noeviction: log %q, want none", buf.String())
		}
		var configs atomic.Int64
		rdb := redis.NewClusterClient(cluster(t).Options())
		t.Cleanup(func() { rdb.Close() })
		rdb.OnNewNode(func(node *redis.Client) {
			node.AddHook(&onCommand{f: func(cmd redis.Cmder) {
				if cmd.Name() == "config" {
					configs.Add(1)
				}
			}})
		})
		st, buf = newStore(rdb, Options{})
		for range 3 {
			st.Load(t.Context(), secret)
		}
		if n := configs.Load(); n != 3 || buf.String() != "" {
			t.Errorf("the shared Cluster: %d CONFIG GETs, log %q; want one per master (3) and none", n, buf.String())
		}
	})
}
