package redisstore

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame/internal/outage"
	"github.com/sesame-go/sesame/internal/testenv"
)

// durableServer is a redis-server of the test's own, on a free loopback
// port, that keeps what it acknowledged through a SIGKILL: an append-only
// file, fsynced before every reply (appendfsync always), in a temporary
// directory. Without it a killed Redis forgets everything, and "no
// acknowledged write is lost" could not hold.
type durableServer struct {
	t    *testing.T
	addr string
	dir  string
	cmd  *exec.Cmd
}

// startDurableServer starts a durableServer, killed when the test ends, or
// skips t (fails it in CI) if there is no redis-server.
func startDurableServer(t *testing.T) *durableServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		testenv.Unavailable(t, "the redis-server binary", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &durableServer{t: t, addr: addr, dir: t.TempDir()}
	s.start()
	t.Cleanup(s.kill)
	return s
}

// start runs the server on its port and directory, where it reloads what
// the append-only file holds, and waits until it answers.
func (s *durableServer) start() {
	s.t.Helper()
	_, port, _ := net.SplitHostPort(s.addr)
	s.cmd = exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", s.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "",
		"--logfile", filepath.Join(s.dir, "redis.log"))
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	probe := redis.NewClient(&redis.Options{Addr: s.addr, MaxRetries: -1, DialerRetries: 1})
	defer probe.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		err := probe.Ping(s.t.Context()).Err() // a LOADING error until the file is read
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.kill()
			s.t.Fatalf("redis-server on %s did not answer within 10s: %v\n%s", s.addr, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends the server SIGKILL, if it runs, and waits for it to exit.
func (s *durableServer) kill() {
	if s.cmd != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// TestRedisKillUnderLoad kills Redis with SIGKILL while 16 clients each
// increment a counter in their own session (a read-modify-write per
// request), keeps the load on while it is dead, restarts it on the same
// port and goes on. Redis keeps what it acknowledged (see durableServer).
//
// Every answer is a 200 or the ErrorHandler's clean 503, within 3s; every
// request made while Redis was dead gets the 503; soon after the restart
// every client succeeds again with the same Manager, store and go-redis
// client, still logged in; no acknowledged increment is lost, and none
// appears from nowhere (see outage.Load.Check). Closing the HTTP server,
// the HTTP client and the go-redis client then leaves no goroutine behind.
func TestRedisKillUnderLoad(t *testing.T) {
	srv := startDurableServer(t)
	baseline := runtime.NumGoroutine()
	rdb := redis.NewClient(&redis.Options{
		Addr: srv.addr,
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
	load.Outage("SIGKILL", 1500*time.Millisecond, srv.kill, srv.start)
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
