// Package redisurl reads the Redis targets the commands take (the demo's
// -redis, sesamectl's -redis and -redis-cluster): a URL as redis.ParseURL
// reads it, with one more query parameter, prefix, the store's key prefix,
// or a comma-separated list of host:port seeds of a Redis Cluster.
package redisurl

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Client returns a client for the URL, and its prefix parameter ("" if
// none). Errors name flag and never show a password.
func Client(flag, target string) (*redis.Client, string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", flag, redactErr(err))
	}
	q := u.Query()
	prefix := q.Get("prefix")
	q.Del("prefix")
	u.RawQuery = q.Encode()
	opt, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: %w", flag, Redact(target), err)
	}
	return redis.NewClient(opt), prefix, nil
}

// Cluster returns a Cluster client for a comma-separated list of host:port
// seeds.
func Cluster(flag, seeds string) (*redis.ClusterClient, error) {
	addrs := strings.Split(seeds, ",")
	for _, a := range addrs {
		if !strings.Contains(a, ":") {
			return nil, fmt.Errorf("%s %q: want a comma-separated list of host:port", flag, seeds)
		}
	}
	return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs}), nil
}

// Redact returns s with any password hidden, for messages.
func Redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}

// redactErr drops the text of a url.Error, which quotes the URL, password
// included.
func redactErr(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
