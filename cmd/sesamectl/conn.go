package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/internal/redisurl"
	"github.com/sesame-go/sesame/pgstore"
	"github.com/sesame-go/sesame/redisstore"
	"github.com/sesame-go/sesame/sqlitestore"
)

// Environment variables that select a store when no store flag is given.
const (
	envRedisURL     = "SESAME_REDIS_URL"
	envRedisCluster = "SESAME_REDIS_CLUSTER"
	envPostgresDSN  = "SESAME_POSTGRES_DSN"
)

// defaultSQLite is the demo's database file (cmd/sesame-demo -sqlite).
const defaultSQLite = "sesame-demo.db"

// Store kinds.
const (
	kindSQLite   = "sqlite"
	kindRedis    = "redis"
	kindCluster  = "redis-cluster"
	kindPostgres = "postgres"
)

// connOptions are the global flags that say which store to open.
type connOptions struct {
	sqlite, redis, cluster, postgres, prefix string

	kind   string // once resolved: one of the kinds
	target string // the path, URL, seeds or DSN
}

// resolve picks the store from the flags, else the environment, else the
// demo's SQLite file.
func (o *connOptions) resolve(fs *flag.FlagSet) error {
	var set []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case kindSQLite, kindRedis, kindCluster, kindPostgres:
			set = append(set, f.Name)
		}
	})
	if len(set) > 1 {
		return usagef("-%s and -%s are exclusive: choose one store", set[0], set[1])
	}
	if len(set) == 1 {
		o.kind = set[0]
		o.target = map[string]string{kindSQLite: o.sqlite, kindRedis: o.redis, kindCluster: o.cluster, kindPostgres: o.postgres}[o.kind]
		if o.target == "" {
			return usagef("-%s is empty", o.kind)
		}
	} else {
		var found []string
		for _, v := range []struct{ name, kind string }{
			{envRedisURL, kindRedis}, {envRedisCluster, kindCluster}, {envPostgresDSN, kindPostgres},
		} {
			if s := os.Getenv(v.name); s != "" {
				found = append(found, v.name)
				o.kind, o.target = v.kind, s
			}
		}
		switch {
		case len(found) > 1:
			return usagef("%s and %s are both set: choose a store with a flag", found[0], found[1])
		case len(found) == 0:
			o.kind, o.target = kindSQLite, defaultSQLite
		}
	}
	if o.prefix != "" && o.kind != kindRedis && o.kind != kindCluster {
		return usagef("-prefix applies to Redis only")
	}
	return nil
}

// conn is an open store.
type conn struct {
	kind, target string // as in connOptions
	store        driver.Store
	sqlite       *sqlitestore.Store // exactly one of these is set
	pg           *pgstore.Store
	redis        *redisstore.Store
	close        func()
}

// open returns the store the options name, opening it on first use. An
// SQL store is opened as the application opens it (which creates or
// migrates its schema), without its janitor.
func (e *env) open(ctx context.Context) (*conn, error) {
	if e.conn != nil {
		return e.conn, nil
	}
	o := &e.opts
	c := &conn{kind: o.kind, target: o.target}
	switch o.kind {
	case kindSQLite:
		// Never create a database: a mistyped path must not look empty.
		if _, err := os.Stat(o.target); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("sqlite %s: no such file (use -sqlite PATH)", o.target)
			}
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		st, err := sqlitestore.Open(ctx, o.target, sqlitestore.Options{CleanupInterval: -1})
		if err != nil {
			return nil, fmt.Errorf("sqlite %s: %w", o.target, err)
		}
		c.sqlite, c.store, c.close = st, st, func() { st.Close() }
	case kindPostgres:
		pool, err := pgxpool.New(ctx, o.target)
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		st, err := pgstore.New(ctx, pool, pgstore.Options{CleanupInterval: -1})
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("postgres: %w", err)
		}
		c.pg, c.store, c.close = st, st, func() { st.Close(); pool.Close() }
	case kindRedis, kindCluster:
		rdb, prefix, err := redisClient(o.kind, o.target)
		if err != nil {
			return nil, err
		}
		if o.prefix != "" {
			prefix = o.prefix
		}
		if err := rdb.Ping(ctx).Err(); err != nil {
			rdb.Close()
			return nil, fmt.Errorf("%s %s: %w", o.kind, redisurl.Redact(o.target), err)
		}
		// The check command runs the eviction check itself.
		st := redisstore.New(rdb, redisstore.Options{Prefix: prefix, SkipEvictionCheck: true})
		c.redis, c.store, c.close = st, st, func() { rdb.Close() }
	default:
		return nil, fmt.Errorf("unknown store kind %q", o.kind)
	}
	e.conn = c
	return c, nil
}

// redisClient returns the client for a -redis URL or -redis-cluster seed
// list, and the key prefix: the URL's prefix parameter, as the demo reads
// it, or redisstore.DefaultPrefix.
func redisClient(kind, target string) (redis.UniversalClient, string, error) {
	if kind == kindCluster {
		c, err := redisurl.Cluster("-redis-cluster", target)
		return c, redisstore.DefaultPrefix, err
	}
	c, prefix, err := redisurl.Client("-redis", target)
	if err != nil {
		return nil, "", err
	}
	if prefix == "" {
		prefix = redisstore.DefaultPrefix
	}
	return c, prefix, nil
}
