package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotReplicated is wrapped by the error of a write that fewer replicas
// than Options.Replicas acknowledged within Options.ReplicaTimeout. The
// write was made on the master, and may or may not survive a failover:
// it was not acknowledged, so the caller (a sesame.Manager: the request's
// commit) reports a failure, as for any other store error.
var ErrNotReplicated = errors.New("redisstore: write not acknowledged by enough replicas")

// DefaultReplicaTimeout is how long a write waits for its replicas when
// Options.Replicas is set and Options.ReplicaTimeout is zero.
const DefaultReplicaTimeout = time.Second

// replication is the WAIT that follows every write, if Options.Replicas
// is set.
type replication struct {
	n       int           // replicas to wait for; 0: no WAIT
	timeout time.Duration // of each WAIT, at least 1ms
}

// newReplication checks the options' Replicas and ReplicaTimeout against
// the client, and panics on a configuration that cannot work (see New).
func newReplication(client redis.UniversalClient, opts Options) replication {
	switch {
	case opts.Replicas < 0:
		panic(fmt.Sprintf("redisstore: Options.Replicas is %d, want 0 or more", opts.Replicas))
	case opts.ReplicaTimeout < 0:
		panic(fmt.Sprintf("redisstore: Options.ReplicaTimeout is %v, want 0 or more", opts.ReplicaTimeout))
	case opts.Replicas == 0:
		return replication{}
	}
	c, ok := client.(*redis.Client)
	if !ok {
		// go-redis routes a keyless command in a Cluster pipeline to a
		// master of its choice (or refuses it, WAIT being an all-shards
		// command), and a Ring to a shard of its choice: never on the
		// connection that took the write, which is all WAIT covers.
		panic(fmt.Sprintf("redisstore: Options.Replicas needs a *redis.Client (a standalone server or "+
			"redis.NewFailoverClient), not a %T: WAIT covers only the writes of its own connection, "+
			"and go-redis sends it elsewhere on a Cluster or a Ring", client))
	}
	r := replication{n: opts.Replicas, timeout: opts.ReplicaTimeout}
	if r.timeout == 0 {
		r.timeout = DefaultReplicaTimeout
	}
	r.timeout = max(r.timeout, time.Millisecond) // WAIT n 0 would wait forever
	if rt := c.Options().ReadTimeout; rt > 0 && r.timeout >= rt {
		panic(fmt.Sprintf("redisstore: Options.ReplicaTimeout %v is not below the client's ReadTimeout %v: "+
			"a WAIT that times out would time out the connection instead", r.timeout, rt))
	}
	return r
}

// wait queues the WAIT that follows the writes of p, if Options.Replicas is
// set, and returns it (nil if not).
func (r replication) wait(ctx context.Context, p redis.Pipeliner) *redis.IntCmd {
	if r.n == 0 {
		return nil
	}
	cmd := redis.NewIntCmd(ctx, "wait", r.n, r.timeout.Milliseconds())
	p.Process(ctx, cmd)
	return cmd
}

// check returns an error wrapping ErrNotReplicated if wait, which ran,
// counted fewer replicas than asked; wait's own error if it failed; nil
// for no WAIT.
func (r replication) check(wait *redis.IntCmd) error {
	if wait == nil {
		return nil
	}
	n, err := wait.Result()
	switch {
	case err != nil:
		return fmt.Errorf("wait for replicas: %w", err)
	case n < int64(r.n):
		return fmt.Errorf("%w: %d of %d within %v", ErrNotReplicated, n, r.n, r.timeout)
	}
	return nil
}

// write sends the single command cmd, which writes: alone, or with the
// WAIT of Options.Replicas in one pipeline if it is set. Every write the
// store makes outside exec goes through it.
func (s *Store) write(ctx context.Context, cmd redis.Cmder) error {
	if s.replication.n == 0 {
		return s.rdb.Process(ctx, cmd)
	}
	return s.exec(ctx, nil, cmd)
}
