package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/internal/testenv"
	"github.com/sesame-go/sesame/sesametest"
)

// standalone returns a client of the test Redis server, closed when t ends,
// or skips t (fails it in CI) if the server is unreachable.
func standalone(t testing.TB) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(testenv.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		rdb.Close()
		testenv.Unavailable(t, "Redis at "+testenv.RedisURL(), err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// cluster returns a client of the test Redis Cluster, closed when t ends,
// or skips t (fails it in CI) if the cluster is unreachable.
func cluster(t testing.TB) *redis.ClusterClient {
	t.Helper()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: testenv.RedisCluster()})
	err := rdb.Ping(t.Context()).Err()
	if err == nil {
		err = rdb.ForEachMaster(t.Context(), func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() })
	}
	if err != nil {
		rdb.Close()
		testenv.Unavailable(t, "Redis Cluster at "+strings.Join(testenv.RedisCluster(), ","), err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// must fails tb if err is not nil: for the store calls that set a test up,
// whose failure would make the checks that follow meaningless.
func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// testStore returns a Store on rdb with a prefix of its own, whose keys are
// deleted when t ends.
func testStore(t testing.TB, rdb redis.UniversalClient) *Store {
	var b [8]byte
	rand.Read(b[:])
	st := New(rdb, Options{Prefix: "sesame-test:" + hex.EncodeToString(b[:]) + ":"})
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := scanPrefix(ctx, rdb, st.Prefix())
		for chunk := range slices.Chunk(keys, 1000) {
			rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, k := range chunk { // one per command: on a Cluster they span slots
					p.Unlink(ctx, k)
				}
				return nil
			})
		}
		if err != nil {
			t.Logf("cleanup of %s: %v", st.Prefix(), err)
		}
	})
	return st
}

// scanPrefix returns the keys starting with prefix, on every master of a
// Cluster. The prefix must hold no glob character. Only tests scan: the
// store never does.
func scanPrefix(ctx context.Context, rdb redis.UniversalClient, prefix string) ([]string, error) {
	var mu sync.Mutex
	var keys []string
	scan := func(ctx context.Context, c *redis.Client) error {
		it := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for it.Next(ctx) {
			mu.Lock()
			keys = append(keys, it.Val())
			mu.Unlock()
		}
		return it.Err()
	}
	var err error
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	case *redis.Client:
		err = scan(ctx, c)
	default:
		err = fmt.Errorf("cannot scan a %T", rdb)
	}
	slices.Sort(keys)
	return keys, err
}

// dumper is a Store whose Dump returns the raw contents of every key under
// its prefix, for sesametest's check that no token is stored.
type dumper struct {
	*Store
}

func (d dumper) Dump(ctx context.Context) ([]byte, error) {
	keys, err := scanPrefix(ctx, d.rdb, d.prefix)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, k := range keys {
		typ, err := d.rdb.Type(ctx, k).Result()
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%s (%s):", k, typ)
		switch typ {
		case "hash":
			h, err := d.rdb.HGetAll(ctx, k).Result()
			if err != nil {
				return nil, err
			}
			for _, f := range slices.Sorted(maps.Keys(h)) {
				fmt.Fprintf(&b, " %s=%s", f, h[f])
			}
		case "zset":
			z, err := d.rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
			if err != nil {
				return nil, err
			}
			for _, m := range z {
				fmt.Fprintf(&b, " %v=%v", m.Member, m.Score)
			}
		case "string":
			v, err := d.rdb.Get(ctx, k).Result()
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(&b, " %s", v)
		}
		b.WriteByte('\n')
	}
	return []byte(b.String()), nil
}

func TestConformanceStandalone(t *testing.T) {
	rdb := standalone(t)
	sesametest.Run(t, func(t *testing.T) driver.Store { return dumper{testStore(t, rdb)} })
}

func TestConformanceCluster(t *testing.T) {
	rdb := cluster(t)
	sesametest.Run(t, func(t *testing.T) driver.Store { return dumper{testStore(t, rdb)} })
}
