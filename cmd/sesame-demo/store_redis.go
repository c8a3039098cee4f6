package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/internal/redisurl"
	"github.com/sesame-go/sesame/redisstore"
)

func init() { stores["redis"] = openRedis }

// openRedis opens -store redis on the -redis flag (see redisClient). It
// loads the store's scripts at start-up, which also checks that Redis
// answers, and refuses a Redis whose maxmemory-policy can evict keys.
func openRedis(ctx context.Context, o storeOptions, cfg *sesame.Config, _ io.Writer) (func(), error) {
	rdb, prefix, err := redisClient(o.redis)
	if err != nil {
		return nil, err
	}
	st := redisstore.New(rdb, redisstore.Options{Prefix: prefix})
	if err := st.LoadScripts(ctx); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("-redis %s: %w", redisurl.Redact(o.redis), err)
	}
	// An evicting Redis could drop revocations: refuse to start on one.
	if err := st.CheckEviction(ctx); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("-redis %s: %w", redisurl.Redact(o.redis), err)
	}
	cfg.Store = st
	return func() { rdb.Close() }, nil
}

// redisClient returns the client that -redis describes, and the key prefix
// ("" for the store's default). The flag is either a URL, as redis.ParseURL
// reads it (redis://[user:password@]host:port/db?options), or a
// comma-separated list of host:port seeds of a Redis Cluster. A URL may
// carry one more query parameter, prefix, the key prefix, which is not
// passed to go-redis.
func redisClient(flag string) (redis.UniversalClient, string, error) {
	if !strings.Contains(flag, "://") {
		if !strings.Contains(flag, ":") {
			return nil, "", fmt.Errorf("-redis %q: want a URL or a comma-separated list of host:port", flag)
		}
		c, err := redisurl.Cluster("-redis", flag)
		return c, "", err
	}
	return redisurl.Client("-redis", flag)
}
