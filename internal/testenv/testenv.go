// Package testenv locates the services that store tests run against. A
// test that needs an absent service is skipped with a clear message, except
// when CI=true, where it fails: CI must never pass by skipping.
package testenv

import (
	"os"
	"strings"
	"testing"
)

// Defaults for the service addresses, overridden by environment variables.
const (
	DefaultRedisURL     = "redis://127.0.0.1:6379/0"
	DefaultRedisCluster = "127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002"
	DefaultPostgresDSN  = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// RedisURL returns SESAME_REDIS_URL or DefaultRedisURL.
func RedisURL() string { return env("SESAME_REDIS_URL", DefaultRedisURL) }

// RedisCluster returns the seed addresses in SESAME_REDIS_CLUSTER
// (comma-separated) or DefaultRedisCluster.
func RedisCluster() []string {
	return strings.Split(env("SESAME_REDIS_CLUSTER", DefaultRedisCluster), ",")
}

// PostgresDSN returns SESAME_POSTGRES_DSN or DefaultPostgresDSN.
func PostgresDSN() string { return env("SESAME_POSTGRES_DSN", DefaultPostgresDSN) }

// CI reports whether the tests run in CI (CI=true).
func CI() bool { return os.Getenv("CI") == "true" }

// Unavailable skips t because service is unreachable, or fails it in CI.
func Unavailable(t testing.TB, service string, err error) {
	t.Helper()
	if CI() {
		t.Fatalf("%s is required in CI (CI=true) but unreachable: %v", service, err)
	}
	t.Skipf("skipping: %s unreachable (%v); start it or set its address, see README", service, err)
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
