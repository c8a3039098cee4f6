package redisstore

import (
	"errors"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/internal/testenv"
	"github.com/sesame-go/sesame/sesametest"
)

// within runs f and returns its response, failing t if f takes more than
// d: a request must never hang on a dead server.
func within(t *testing.T, d time.Duration, f func() *http.Response) *http.Response {
	t.Helper()
	done := make(chan *http.Response, 1)
	go func() { done <- f() }()
	select {
	case resp := <-done:
		return resp
	case <-time.After(d):
		t.Fatalf("no response within %v", d)
		return nil
	}
}

// TestOutage stops the server under a live Manager: a request that needs
// the session gets the ErrorHandler's clean 503 with a *sesame.StoreError,
// one that does not gets its 200, and once the server is back on the same
// port sessions work again with the same Manager and client. Closing the
// client then leaves no goroutine behind.
func TestOutage(t *testing.T) {
	srv := testenv.StartRedis(t, false)
	goroutines := runtime.NumGoroutine()
	rdb := redis.NewClient(&redis.Options{
		Addr:        srv.Addr,
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond,
		MaxRetries: -1, // go-redis: 0 means the default of 3 retries, -1 none
	})
	var mu sync.Mutex
	var handled []error
	m := sesame.New(sesame.Config{
		Store:    New(rdb, Options{}),
		Insecure: true,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			mu.Lock()
			handled = append(handled, err)
			mu.Unlock()
			http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
		},
	})
	c := sesametest.NewClient(t, m)
	c.Put("k", "v")
	read := func(w http.ResponseWriter, r *http.Request) { sesame.FromContext(r.Context()).Has("k") }
	ignore := func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }

	srv.Kill()
	start := time.Now()
	resp := within(t, 5*time.Second, func() *http.Response { return c.Do(read) })
	t.Logf("answer with Redis down after %v", time.Since(start).Round(time.Millisecond))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("request needing the session while Redis is down: status %d, want 503 from the ErrorHandler", resp.StatusCode)
	}
	mu.Lock()
	var se *sesame.StoreError
	if len(handled) != 1 || !errors.As(handled[0], &se) {
		t.Errorf("ErrorHandler got %v, want one error wrapping *sesame.StoreError", handled)
	} else {
		t.Logf("ErrorHandler got: %v", handled[0])
	}
	mu.Unlock()
	resp = within(t, 5*time.Second, func() *http.Response { return c.Do(ignore) })
	if resp.StatusCode != http.StatusOK {
		t.Errorf("request not touching the session while Redis is down: status %d, want 200", resp.StatusCode)
	}

	srv.Start() // same port, empty: the old session is gone, a new one works
	deadline := time.Now().Add(5 * time.Second)
	for attempt := 1; ; attempt++ {
		resp = within(t, 5*time.Second, func() *http.Response {
			return c.Do(func(w http.ResponseWriter, r *http.Request) { sesame.FromContext(r.Context()).Put("k", "again") })
		})
		if resp.StatusCode == http.StatusOK {
			t.Logf("sessions work again after the restart (attempt %d)", attempt)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart: status %d, want 200", resp.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.Session(func(s *sesame.Session) {
		if v, _ := sesame.Get[string](s, "k"); v != "again" {
			t.Errorf("k = %q after the restart, want again", v)
		}
	})

	if err := rdb.Close(); err != nil {
		t.Fatal(err)
	}
	n := runtime.NumGoroutine()
	for i := 0; i < 100 && n > goroutines; i++ {
		time.Sleep(20 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	if n > goroutines {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before the client:\n%s", n, goroutines, buf[:runtime.Stack(buf, true)])
	}
}

// TestScriptsReloadAfterFlush checks that a server whose script cache is
// empty (a restart, a failover, a new node) costs one round trip more per
// script, once: single scripts through Script.Run, pipelined ones by
// resending them with EVAL. It runs on a server of its own, since it
// flushes the script cache.
func TestScriptsReloadAfterFlush(t *testing.T) {
	srv := testenv.StartRedis(t, false)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rdb.Close() })
	rt := &roundTrips{}
	rdb.AddHook(rt)
	// No eviction check: its CONFIG GET, in the first call, is not what
	// this test counts (see TestEvictionCheckOnFirstUse).
	st := New(rdb, Options{SkipEvictionCheck: true})
	ctx := t.Context()
	now := time.Now()
	rec := &driver.Record{User: "alice", Values: map[string]any{"a": 1}, Created: now, LastSeen: now,
		Expires: now.Add(time.Hour), Deadline: now.Add(time.Hour)}
	touch := &driver.Delta{LastSeen: now, Expires: now.Add(time.Hour)}

	for _, tt := range []struct {
		name string
		want int64
		f    func() error
	}{
		{"pipelined Save (index + hash), cold", 2, func() error { return st.Save(ctx, "id1", rec) }},
		{"pipelined Save (index + hash), warm", 1, func() error { return st.Save(ctx, "id2", rec) }},
		{"Apply (Script.Run), cold", 2, func() error { _, err := st.Apply(ctx, "id1", touch); return err }},
		{"Apply (Script.Run), warm", 1, func() error { _, err := st.Apply(ctx, "id1", touch); return err }},
	} {
		var err error
		got := rt.during(func() { err = tt.f() })
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		t.Logf("%-40s %d round trip(s)", tt.name, got)
		if got != tt.want {
			t.Errorf("%s: %d round trips, want %d", tt.name, got, tt.want)
		}
	}
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := st.DeleteUser(ctx, "alice", ""); err != nil || n != 2 {
		t.Errorf("DeleteUser after SCRIPT FLUSH = %d, %v; want 2", n, err)
	}
	if err := st.LoadScripts(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rt.during(func() { must(t, st.Save(ctx, "id3", rec)) }); got != 1 {
		t.Errorf("Save after LoadScripts: %d round trips, want 1", got)
	}
	if list, err := st.Sessions(ctx, "alice"); err != nil || len(list) != 1 || list[0].ID != "id3" {
		t.Errorf("Sessions(alice) = %+v, %v; want [id3]", list, err)
	}
}
