package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// ErrEvictionPolicy reports a server whose maxmemory-policy lets it evict
// the store's keys (see [Store.CheckEviction]).
var ErrEvictionPolicy = errors.New("redisstore: maxmemory-policy can evict session keys")

// evictionError is the error CheckEviction returns for one server.
type evictionError struct {
	addr, policy string
}

func (e *evictionError) Error() string {
	return fmt.Sprintf("redisstore: maxmemory-policy %q can evict session keys; set it to noeviction or use a dedicated instance (server %s)", e.policy, e.addr)
}

func (e *evictionError) Is(target error) bool { return target == ErrEvictionPolicy }

// errConfigUnavailable reports a server where CONFIG GET cannot be used.
var errConfigUnavailable = errors.New("CONFIG GET is unavailable")

// CheckEviction checks that the server (every master of a Cluster, every
// shard of a Ring) will never evict the store's keys: its maxmemory-policy
// must be "noeviction". Every key the store writes has a TTL, so under a
// volatile-* policy as under an allkeys-* one a full server may drop a
// revocation mark, a user index, a forward pointer or a tombstone, and a
// revoked or renewed-away session could then come back. It returns an
// error wrapping ErrEvictionPolicy, naming the server and its policy, if
// any server has another policy (errors.Join of one per server).
//
// It reads the policy with CONFIG GET: one round trip per server. Where
// CONFIG cannot be used (renamed or disabled, as on many managed
// services, or denied by an ACL) it cannot tell, and returns nil: check
// the provider's setting by other means.
//
// The store runs the same check by itself, on its first use, and logs
// what it finds (see Options.SkipEvictionCheck). Call CheckEviction to
// fail at start-up instead: once it has returned, the store does not check
// again.
func (s *Store) CheckEviction(ctx context.Context) error {
	defer s.evictionCheck.Do(func() {})
	var mu sync.Mutex
	var errs []error
	err := s.forEachServer(ctx, func(ctx context.Context, c *redis.Client) error {
		addr := c.Options().Addr
		policy, err := maxmemoryPolicy(ctx, c)
		switch {
		case errors.Is(err, errConfigUnavailable):
			err = nil
		case err != nil:
			err = fmt.Errorf("redisstore: check eviction on %s: %w", addr, err)
		case policy != "" && policy != "noeviction":
			err = &evictionError{addr: addr, policy: policy}
		}
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		errs = append(errs, wrap("check eviction", err))
	}
	return errors.Join(errs...)
}

// logEviction is the check of the store's first use: CheckEviction's,
// logged. A server that may evict is an error; one that cannot tell (no
// CONFIG GET, or a failure) is a warning. Nothing logged names a session
// or a user: only servers, policies and errors of CONFIG GET. The records
// go without ctx, whose values (the first call's request) a handler
// could log.
func (s *Store) logEviction(ctx context.Context) {
	log := s.logger
	if log == nil {
		log = slog.Default()
	}
	err := s.forEachServer(ctx, func(ctx context.Context, c *redis.Client) error {
		addr := c.Options().Addr
		policy, err := maxmemoryPolicy(ctx, c)
		switch {
		case errors.Is(err, errConfigUnavailable):
			log.Warn("redisstore: cannot check that the server never evicts session keys: CONFIG GET is refused; "+
				"make sure its maxmemory-policy is noeviction, then set redisstore.Options.SkipEvictionCheck to skip this check",
				"server", addr, "error", err)
		case err != nil:
			log.Warn("redisstore: could not check that the server never evicts session keys; "+
				"call Store.CheckEviction to check it, or set redisstore.Options.SkipEvictionCheck to skip this check",
				"server", addr, "error", err)
		case policy != "" && policy != "noeviction":
			log.Error("redisstore: the server may evict session keys, and a revoked or renewed-away session could come back; "+
				"set its maxmemory-policy to noeviction, or use a dedicated instance",
				"server", addr, "policy", policy)
		}
		return nil
	})
	if err != nil {
		log.Warn("redisstore: could not check that the servers never evict session keys; "+
			"call Store.CheckEviction to check them, or set redisstore.Options.SkipEvictionCheck to skip this check",
			"error", err)
	}
}

// forEachServer calls f on the server, every master of a Cluster or every
// shard of a Ring, concurrently.
func (s *Store) forEachServer(ctx context.Context, f func(ctx context.Context, c *redis.Client) error) error {
	switch c := s.rdb.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, f)
	case *redis.Ring:
		return c.ForEachShard(ctx, f)
	case *redis.Client:
		return f(ctx, c)
	}
	return fmt.Errorf("cannot reach the servers of a %T", s.rdb)
}

// maxmemoryPolicy returns the maxmemory-policy of one server, "" if it
// does not report one (a proxy), or an error wrapping
// errConfigUnavailable if CONFIG GET cannot be used there.
func maxmemoryPolicy(ctx context.Context, c *redis.Client) (string, error) {
	cfg, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		if configUnavailable(err) {
			return "", fmt.Errorf("%w: %w", errConfigUnavailable, err)
		}
		return "", err
	}
	return cfg["maxmemory-policy"], nil
}

// configUnavailable reports an error that means CONFIG GET cannot be
// used: renamed or disabled (unknown command), or denied (NOPERM).
func configUnavailable(err error) bool {
	msg := strings.ToLower(err.Error())
	return redis.HasErrorPrefix(err, "NOPERM") || strings.Contains(msg, "unknown command") ||
		strings.Contains(msg, "no permissions")
}
