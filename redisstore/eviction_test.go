package redisstore

import (
	"errors"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
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
