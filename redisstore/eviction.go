package redisstore

import (
	"context"
	"errors"
	"fmt"
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
// the provider's setting by other means. Call it at start-up; the store
// never calls it itself.
func (s *Store) CheckEviction(ctx context.Context) error {
	var mu sync.Mutex
	var errs []error
	check := func(ctx context.Context, c *redis.Client) error {
		err := checkPolicy(ctx, c)
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		return nil
	}
	var err error
	switch c := s.rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, check)
	case *redis.Ring:
		err = c.ForEachShard(ctx, check)
	case *redis.Client:
		err = check(ctx, c)
	default:
		return fmt.Errorf("redisstore: check eviction: cannot reach the servers of a %T", s.rdb)
	}
	if err != nil {
		errs = append(errs, wrap("check eviction", err))
	}
	return errors.Join(errs...)
}

// checkPolicy checks the maxmemory-policy of one server.
func checkPolicy(ctx context.Context, c *redis.Client) error {
	addr := c.Options().Addr
	cfg, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		if configUnavailable(err) {
			return nil
		}
		return fmt.Errorf("redisstore: check eviction on %s: %w", addr, err)
	}
	policy, ok := cfg["maxmemory-policy"]
	if !ok || policy == "noeviction" {
		return nil // not reported (a proxy): nothing to go by
	}
	return &evictionError{addr: addr, policy: policy}
}

// configUnavailable reports an error that means CONFIG GET cannot be
// used: renamed or disabled (unknown command), or denied (NOPERM).
func configUnavailable(err error) bool {
	msg := strings.ToLower(err.Error())
	return redis.HasErrorPrefix(err, "NOPERM") || strings.Contains(msg, "unknown command") ||
		strings.Contains(msg, "no permissions")
}
