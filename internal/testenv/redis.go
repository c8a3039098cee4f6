package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RedisServer is a redis-server process of a test's own, on a loopback
// port. A durable one keeps what it acknowledged through a SIGKILL: an
// append-only file, fsynced before every reply (appendfsync always), in a
// temporary directory. Without it a killed Redis forgets everything.
type RedisServer struct {
	Addr    string // host:port
	t       *testing.T
	durable bool
	extra   []string
	dir     string
	cmd     *exec.Cmd
}

// StartRedis starts a redis-server on a free loopback port, killed when the
// test ends, or skips t (fails it in CI) if there is no redis-server. The
// extra arguments go to redis-server after the test's own (for example
// "--maxmemory-policy", "volatile-lru").
func StartRedis(t *testing.T, durable bool, extra ...string) *RedisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		Unavailable(t, "the redis-server binary", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &RedisServer{Addr: addr, t: t, durable: durable, extra: extra, dir: t.TempDir()}
	s.Start()
	t.Cleanup(s.Kill)
	return s
}

// Start runs the server on its port (and, if durable, reloads what its
// append-only file holds), and waits until it answers PING.
func (s *RedisServer) Start() {
	s.t.Helper()
	_, port, _ := net.SplitHostPort(s.Addr)
	args := []string{"--port", port, "--bind", "127.0.0.1", "--dir", s.dir, "--save", "",
		"--logfile", filepath.Join(s.dir, "redis.log"), "--appendonly", "no"}
	if s.durable {
		args = append(args[:len(args)-1], "yes", "--appendfsync", "always")
	}
	args = append(args, s.extra...)
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		err := ping(s.Addr) // a LOADING error until the file is read
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.Kill()
			s.t.Fatalf("redis-server on %s did not answer within 10s: %v\n%s", s.Addr, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill sends the server SIGKILL, if it runs, and waits for it to exit.
func (s *RedisServer) Kill() {
	if s.cmd != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// ping sends PING over a new connection and expects PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING: %s", strings.TrimSpace(line))
	}
	return nil
}
