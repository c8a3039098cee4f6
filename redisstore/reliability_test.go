package redisstore

import (
	"runtime"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame/internal/outage"
	"github.com/sesame-go/sesame/internal/testenv"
)

// TestRedisKillUnderLoad kills Redis with SIGKILL while 16 clients each
// increment a counter in their own session (a read-modify-write per
// request), keeps the load on while it is dead, restarts it on the same
// port and goes on. Redis keeps what it acknowledged (a durable server).
//
// Every answer is a 200 or the ErrorHandler's clean 503, within 3s; every
// request made while Redis was dead gets the 503; soon after the restart
// every client succeeds again with the same Manager, store and go-redis
// client, still logged in; no acknowledged increment is lost, and none
// appears from nowhere (see outage.Load.Check). Closing the HTTP server,
// the HTTP client and the go-redis client then leaves no goroutine behind.
func TestRedisKillUnderLoad(t *testing.T) {
	srv := testenv.StartRedis(t, true)
	baseline := runtime.NumGoroutine()
	rdb := redis.NewClient(&redis.Options{
		Addr: srv.Addr,
		// Short timeouts, so a dead server gives a quick error, yet
		// ample for an fsync on a busy CI machine; dial once (go-redis
		// dials 5 times by default, 100ms apart); no command retries,
		// so each failure reaches the ErrorHandler.
		DialTimeout: 500 * time.Millisecond, ReadTimeout: time.Second, WriteTimeout: time.Second,
		DialerRetries: 1,
		MaxRetries:    -1,
	})
	t.Cleanup(func() { rdb.Close() })
	st := New(rdb, Options{})
	// go-redis marks its dialer failed after PoolSize failed dials in a
	// row, then probes once a second: a client may fail up to ~1s after
	// Redis is back. Allow 2s.
	load := outage.New(t, st, 2*time.Second)

	load.Start()
	time.Sleep(1500 * time.Millisecond)
	load.Outage("SIGKILL", 1500*time.Millisecond, srv.Kill, srv.Start)
	time.Sleep(3500 * time.Millisecond)
	load.Finish()
	load.Check()

	stats := rdb.PoolStats()
	t.Logf("go-redis pool, the same client throughout: %d connections now; %d hits, %d misses (new connection needed), %d timeouts",
		stats.TotalConns, stats.Hits, stats.Misses, stats.Timeouts)
	if err := rdb.Close(); err != nil {
		t.Fatal(err)
	}
	outage.CheckGoroutines(t, baseline)
}
