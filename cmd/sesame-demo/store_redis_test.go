package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame/internal/testenv"
)

// The demo runs against Redis with a key prefix of its own, passed in the
// -redis URL, so that concurrent and earlier runs never share its users.
func init() {
	testStores["redis"] = func(t *testing.T) []string {
		opt, err := redis.ParseURL(testenv.RedisURL())
		if err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(opt)
		t.Cleanup(func() { rdb.Close() })
		if err := rdb.Ping(t.Context()).Err(); err != nil {
			testenv.Unavailable(t, "Redis at "+testenv.RedisURL(), err)
		}
		var b [8]byte
		rand.Read(b[:])
		prefix := "sesame-demo-test:" + hex.EncodeToString(b[:]) + ":"
		t.Cleanup(func() { // after the demo stops: its cleanup was registered later
			ctx := context.Background()
			it := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for it.Next(ctx) {
				rdb.Unlink(ctx, it.Val())
			}
		})
		u, err := url.Parse(testenv.RedisURL())
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("prefix", prefix)
		u.RawQuery = q.Encode()
		return []string{"-store", "redis", "-redis", u.String()}
	}
}

func TestRedisFlag(t *testing.T) {
	rdb, prefix, err := redisClient("redis://127.0.0.1:6390/3?prefix=app%3A&dial_timeout=2s")
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	c, ok := rdb.(*redis.Client)
	if !ok || c.Options().Addr != "127.0.0.1:6390" || c.Options().DB != 3 || prefix != "app:" {
		t.Errorf("URL: got a %T on %+v with prefix %q", rdb, c.Options(), prefix)
	}

	rdb, prefix, err = redisClient("127.0.0.1:7000,127.0.0.1:7001")
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok || !slices.Equal(cc.Options().Addrs, []string{"127.0.0.1:7000", "127.0.0.1:7001"}) || prefix != "" {
		t.Errorf("seed list: got a %T, prefix %q", rdb, prefix)
	}

	for _, bad := range []string{"redis://h:1/0?nonsense=1", "localhost", "redis://h:1/x"} {
		if rdb, _, err := redisClient(bad); err == nil {
			rdb.Close()
			t.Errorf("-redis %q accepted", bad)
		}
	}
}

func TestRedisThatCanEvictIsRefused(t *testing.T) {
	srv := testenv.StartRedis(t, false, "--maxmemory-policy", "volatile-lru")
	var stderr strings.Builder
	err := run(t.Context(), []string{"-addr", "127.0.0.1:0", "-store", "redis", "-redis", "redis://" + srv.Addr + "/0"}, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "volatile-lru") || !strings.Contains(err.Error(), "noeviction") {
		t.Errorf("the demo on a volatile-lru Redis: %v; want a refusal naming the policy and noeviction", err)
	}
}
