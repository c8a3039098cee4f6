//go:build unix

package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/internal/outage"
	"github.com/sesame-go/sesame/internal/testenv"
	"github.com/sesame-go/sesame/sesametest"
)

// pgServer is a PostgreSQL instance of the test's own: a new cluster
// (initdb) in a temporary directory, serving on a free port of 127.0.0.1
// with fsync on. It is never the shared server on 5432, which other tests
// use meanwhile.
type pgServer struct {
	t    *testing.T
	bin  string // the directory of initdb and postgres
	dir  string // the data directory's parent, also the socket directory
	port string
	// cred runs the server as the postgres OS user when the test runs as
	// root, since initdb and postgres refuse to run as root.
	cred *syscall.Credential
	cmd  *exec.Cmd
}

// postgresBin returns the directory of the PostgreSQL server binaries:
// that of postgres in PATH, else the newest /usr/lib/postgresql/*/bin
// (Debian keeps them off PATH).
func postgresBin() (string, error) {
	if p, err := exec.LookPath("postgres"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(a) - version(b) })
	for _, d := range slices.Backward(dirs) {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no postgres in PATH nor /usr/lib/postgresql/*/bin/{postgres,initdb}")
}

// version returns the major version in a path /usr/lib/postgresql/N/bin.
func version(bin string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bin)))
	return n
}

// startPostgres initialises and starts a pgServer, killed and removed when
// the test ends, or skips t (fails it in CI) if the server binaries, or
// for root the postgres OS user, are missing.
func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	bin, err := postgresBin()
	if err != nil {
		testenv.Unavailable(t, "the PostgreSQL server binaries", err)
	}
	s := &pgServer{t: t, bin: bin}
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			testenv.Unavailable(t, "the postgres OS user (as root, the test runs PostgreSQL as it)", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Not t.TempDir: its parent is private to the test's user, and the
	// server may run as another. The socket path must also stay short.
	s.dir, err = os.MkdirTemp("", "sesame-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(s.dir) })
	if err := os.Chown(s.dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, s.port, _ = net.SplitHostPort(ln.Addr().String())
	ln.Close()
	// --no-sync only skips initdb's final flush of the new cluster's
	// files; the server itself runs with fsync on.
	initdb := s.command("initdb", "-D", s.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	s.start()
	t.Cleanup(s.crash)
	return s
}

func (s *pgServer) data() string { return filepath.Join(s.dir, "data") }

// dsn returns the server's address, over TCP on 127.0.0.1.
func (s *pgServer) dsn() string {
	return "postgres://postgres@127.0.0.1:" + s.port + "/postgres?sslmode=disable"
}

// command returns a command running the named server binary as the
// server's user.
func (s *pgServer) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	return cmd
}

// start runs the server on its port and data directory, where it first
// recovers from a crash if there was one, and waits until it accepts
// connections.
func (s *pgServer) start() {
	s.t.Helper()
	logPath := filepath.Join(s.dir, "postgres.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	defer logf.Close()
	s.cmd = s.command("postgres", "-D", s.data(), "-p", s.port, "-k", s.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=on", "-c", "synchronous_commit=on",
		"-c", "max_connections=40", "-c", "shared_buffers=16MB")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf // files: no copying goroutine
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; {
		ctx, cancel := context.WithTimeout(s.t.Context(), time.Second)
		conn, err := pgconn.Connect(ctx, s.dsn()) // refused, or "starting up", until ready
		if err == nil {
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			s.crash()
			s.t.Fatalf("PostgreSQL on port %s not ready within 15s: %v\n%s", s.port, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop shuts the server down as pg_ctl stop -m fast does (SIGINT to the
// postmaster: abort open transactions, disconnect clients, checkpoint,
// exit), and waits for it to exit; after 10s it kills it instead.
func (s *pgServer) stop() {
	s.t.Helper()
	pid := s.cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
		s.t.Fatal(err)
	}
	timer := time.AfterFunc(10*time.Second, func() { killAll(pid) })
	defer timer.Stop()
	s.cmd.Wait()
	s.cmd = nil
}

// crash kills the postmaster and all its child processes (backends,
// checkpointer, WAL writer...) with SIGKILL, if they run, as a crash of
// the machine would stop them, and waits for the postmaster to exit. The
// next start recovers from the write-ahead log.
func (s *pgServer) crash() {
	if s.cmd != nil {
		killAll(s.cmd.Process.Pid)
		s.cmd.Wait()
		s.cmd = nil
	}
}

// killAll kills the postmaster pid and its children with SIGKILL. Each
// child calls setsid, so no process group holds them all: the postmaster
// is stopped first, so that it forks no more and its children keep it as
// their parent while they are listed.
func killAll(pid int) {
	syscall.Kill(pid, syscall.SIGSTOP)
	for _, child := range children(pid) {
		syscall.Kill(child, syscall.SIGKILL)
	}
	syscall.Kill(pid, syscall.SIGKILL)
}

// children returns the IDs of the processes whose parent is pid, from
// /proc (none where there is no /proc: the backends then exit on their
// own once they see the postmaster gone).
func children(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		rest := string(b[bytes.LastIndexByte(b, ')')+1:])
		var state string
		var ppid int
		if _, err := fmt.Sscan(rest, &state, &ppid); err == nil && ppid == pid {
			child, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
			out = append(out, child)
		}
	}
	return out
}

// TestPostgresRestartUnderLoad restarts PostgreSQL, then crashes it, while
// 16 clients each increment a counter in their own session (a
// read-modify-write per request): first a fast shutdown (pg_ctl stop -m
// fast) and start, then a SIGKILL of every server process and a start,
// which recovers from the write-ahead log. The load goes on throughout.
//
// Every answer is a 200 or the ErrorHandler's clean 503, within 3s; every
// request made while the server was down gets the 503; soon after each
// start every client succeeds again with the same Manager, Store and pool
// (pgxpool replaces the dead connections), still logged in; no
// acknowledged increment is lost, since a commit is acknowledged only once
// it is on disk (fsync, synchronous_commit), and none appears from nowhere
// (see outage.Load.Check). Closing the Store (its janitor runs throughout),
// the pool, and the HTTP server and client then leaves no goroutine
// behind.
func TestPostgresRestartUnderLoad(t *testing.T) {
	srv := startPostgres(t)
	baseline := runtime.NumGoroutine()
	cfg, err := pgxpool.ParseConfig(srv.dsn())
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 8
	cfg.ConnConfig.ConnectTimeout = time.Second
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st, err := New(t.Context(), pool, Options{
		CleanupInterval: 500 * time.Millisecond,
		Logger:          slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// A pooled connection of the old server fails once, when next used.
	load := outage.New(t, st, 1500*time.Millisecond)

	load.Start()
	time.Sleep(1500 * time.Millisecond)
	load.Outage("fast restart", time.Second, srv.stop, srv.start)
	time.Sleep(2500 * time.Millisecond)
	load.Outage("SIGKILL crash", time.Second, srv.crash, srv.start)
	time.Sleep(2500 * time.Millisecond)
	load.Finish()
	load.Check()

	stat := pool.Stat()
	t.Logf("pgxpool, the same pool throughout: %d connections now, %d connection attempts in all, %d acquires",
		stat.TotalConns(), stat.NewConnsCount(), stat.AcquireCount())
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	pool.Close()
	outage.CheckGoroutines(t, baseline)
	log, err := os.ReadFile(filepath.Join(srv.dir, "postgres.log"))
	if err != nil {
		t.Fatal(err)
	}
	// Evidence that the crash was one: the next start replayed the WAL.
	if !bytes.Contains(log, []byte("automatic recovery in progress")) {
		t.Errorf("PostgreSQL did not recover from the crash when it started again")
	}
	for line := range bytes.Lines(log) {
		if bytes.Contains(line, []byte("not properly shut down")) || bytes.Contains(line, []byte("redo done")) {
			t.Logf("PostgreSQL log: %s", bytes.TrimSpace(line))
		}
	}
	if t.Failed() {
		fmt.Fprintf(t.Output(), "PostgreSQL log:\n%s", log)
	}
}

// TestHungServerFailsWithinTheTimeout freezes PostgreSQL (SIGSTOP to the
// postmaster and every backend: a hung server, or a network partition)
// while a request commits a session. The Manager commits with a context
// that the client's going away does not cancel, so only
// sesame.Config.StoreTimeout (300ms here), which pgx honours by cancelling
// the statement, can end the wait: the request must get the
// ErrorHandler's answer within a bound, and the store must work again once
// the server resumes. The store has no timeout of its own.
func TestHungServerFailsWithinTheTimeout(t *testing.T) {
	srv := startPostgres(t)
	pool, err := pgxpool.New(t.Context(), srv.dsn())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st, err := New(t.Context(), pool, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var handled error
	m := sesame.New(sesame.Config{Store: st, Insecure: true, StoreTimeout: 300 * time.Millisecond, ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		handled = err
		http.Error(w, "sessions unavailable", http.StatusServiceUnavailable)
	}})
	c := sesametest.NewClient(t, m)
	c.Put("n", 1) // a live session and a warm pooled connection

	frozen := append(children(srv.cmd.Process.Pid), srv.cmd.Process.Pid)
	signalAll(frozen, syscall.SIGSTOP)
	resumed := false
	resume := func() {
		if !resumed {
			signalAll(frozen, syscall.SIGCONT)
			resumed = true
		}
	}
	t.Cleanup(resume)

	start := time.Now()
	// Should the timeout not work, thaw the server after 5s so that the
	// test fails rather than hangs.
	thaw := time.AfterFunc(5*time.Second, func() { signalAll(frozen, syscall.SIGCONT) })
	resp := c.Do(func(w http.ResponseWriter, r *http.Request) {
		sesame.FromContext(r.Context()).Put("n", 2) // a blind write: Apply at commit
	})
	took := time.Since(start)
	thaw.Stop()
	resume()
	if resp.StatusCode != http.StatusServiceUnavailable || !errors.Is(handled, context.DeadlineExceeded) {
		t.Errorf("commit to a hung server: status %d, ErrorHandler got %v; want 503 and a deadline error", resp.StatusCode, handled)
	}
	if took > 3*time.Second {
		t.Errorf("the commit took %v with a 300ms Config.StoreTimeout", took)
	}
	t.Logf("commit to the frozen server failed after %v: %v", took.Round(time.Millisecond), handled)
	// A commit that timed out may or may not have been applied; either
	// way the session works again with the same pool.
	c.Session(func(s *sesame.Session) {
		if n, _ := sesame.Get[int](s, "n"); n != 1 && n != 2 {
			t.Errorf("after the server resumed n = %d, want 1 or 2", n)
		}
	})
}

func signalAll(pids []int, sig syscall.Signal) {
	for _, pid := range pids {
		syscall.Kill(pid, sig)
	}
}
