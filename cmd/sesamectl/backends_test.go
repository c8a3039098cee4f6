package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/internal/testenv"
	"github.com/sesame-go/sesame/pgstore"
	"github.com/sesame-go/sesame/redisstore"
	"github.com/sesame-go/sesame/sqlitestore"
)

// backend is a store that a test fills through a sesame.Manager, and the
// global flags that point sesamectl at the same data.
type backend struct {
	name  string
	args  []string     // sesamectl's store flags
	store driver.Store // the test's own store on the same data
	path  string       // the SQLite file, for sqlite
}

var backends = []struct {
	name string
	open func(t *testing.T) backend
}{
	{kindSQLite, sqliteBackend},
	{kindRedis, redisBackend},
	{kindCluster, clusterBackend},
	{kindPostgres, postgresBackend},
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func sqliteBackend(t *testing.T) backend {
	path := filepath.Join(t.TempDir(), "sessions.db")
	st, err := sqlitestore.Open(t.Context(), path, sqlitestore.Options{CleanupInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return backend{name: kindSQLite, args: []string{"-sqlite", path}, store: st, path: path}
}

// redisPrefix returns a prefix of the test's own, whose keys are deleted
// from every master of rdb when the test ends.
func redisPrefix(t *testing.T, rdb redis.UniversalClient) string {
	prefix := "sesamectl-test:" + randomHex(8) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		del := func(ctx context.Context, c *redis.Client) error {
			it := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for it.Next(ctx) {
				c.Unlink(ctx, it.Val())
			}
			return it.Err()
		}
		if cc, ok := rdb.(*redis.ClusterClient); ok {
			cc.ForEachMaster(ctx, del)
		} else {
			del(ctx, rdb.(*redis.Client))
		}
	})
	return prefix
}

func redisBackend(t *testing.T) backend {
	opt, err := redis.ParseURL(testenv.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		testenv.Unavailable(t, "Redis at "+testenv.RedisURL(), err)
	}
	prefix := redisPrefix(t, rdb)
	st := redisstore.New(rdb, redisstore.Options{Prefix: prefix})
	return backend{name: kindRedis, args: []string{"-redis", testenv.RedisURL(), "-prefix", prefix}, store: st}
}

func clusterBackend(t *testing.T) backend {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: testenv.RedisCluster()})
	t.Cleanup(func() { rdb.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := rdb.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() }); err != nil {
		testenv.Unavailable(t, "the Redis Cluster at "+strings.Join(testenv.RedisCluster(), ","), err)
	}
	prefix := redisPrefix(t, rdb)
	st := redisstore.New(rdb, redisstore.Options{Prefix: prefix})
	return backend{name: kindCluster, args: []string{"-redis-cluster", strings.Join(testenv.RedisCluster(), ","), "-prefix", prefix}, store: st}
}

// postgresBackend runs in a fresh schema, which the DSN's search_path
// makes the store's, dropped when the test ends.
func postgresBackend(t *testing.T) backend {
	dsn := testenv.PostgresDSN()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		err = conn.Ping(ctx)
	}
	if err != nil {
		testenv.Unavailable(t, "PostgreSQL", err)
	}
	defer conn.Close(context.Background())
	schema := "sesamectl_test_" + randomHex(6)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	dsn = withSearchPath(dsn, schema)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st, err := pgstore.New(ctx, pool, pgstore.Options{CleanupInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return backend{name: kindPostgres, args: []string{"-postgres", dsn}, store: st}
}

// withSearchPath returns dsn, a URL or a keyword/value string, with the
// search_path run-time parameter set to schema.
func withSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}
