package redisurl

import (
	"strings"
	"testing"
)

func TestClientTakesThePrefixOutOfTheURL(t *testing.T) {
	c, prefix, err := Client("-redis", "redis://127.0.0.1:6379/2?prefix=app:&dial_timeout=2s")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if prefix != "app:" || c.Options().DB != 2 || c.Options().Addr != "127.0.0.1:6379" {
		t.Errorf("prefix %q, db %d, addr %q; want app:, 2, 127.0.0.1:6379", prefix, c.Options().DB, c.Options().Addr)
	}
}

func TestErrorsNeverShowThePassword(t *testing.T) {
	for _, target := range []string{"redis://u:hunter2@127.0.0.1:6379/x", "redis://u:hunter2@[::1"} {
		if _, _, err := Client("-redis", target); err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Client(%q) = %v; want an error without the password", target, err)
		}
	}
}

func TestClusterWantsHostPortSeeds(t *testing.T) {
	if _, err := Cluster("-redis-cluster", "127.0.0.1:7000,localhost"); err == nil {
		t.Error("a seed without a port was accepted")
	}
	c, err := Cluster("-redis-cluster", "127.0.0.1:7000,127.0.0.1:7001")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Options().Addrs; len(got) != 2 {
		t.Errorf("seeds %v, want 2", got)
	}
}
