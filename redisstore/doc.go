// Package redisstore is a session store ([driver.Store]) on Redis, through
// a go-redis v9 [redis.UniversalClient]: a standalone server, Sentinel (a
// failover client) or Redis Cluster. Use it when several instances of an
// application share sessions and a Redis is at hand; every session
// operation costs a few round trips, none of which depends on the size of
// the store. It implements [driver.DeltaStore], [driver.Renewer],
// [driver.Updater], [driver.UserStore], [driver.UserCapper] and
// [driver.RevocationStore], and needs Redis 6.2 or later.
//
// # Setup
//
// [New] takes the application's client, which the store never closes, and
// makes no request:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	store := redisstore.New(rdb, redisstore.Options{Prefix: "myapp:session:"})
//	sessions := sesame.New(sesame.Config{Store: store})
//
// For Sentinel pass a redis.NewFailoverClient, for a Cluster a
// redis.NewClusterClient: nothing else changes. Every field of [Options]
// is optional. Prefix starts every key the store writes ([DefaultPrefix]
// if empty): give each application sharing a Redis its own. Logger takes
// the only log records, those of the eviction check (see Eviction).
// SkipEvictionCheck turns that check off. At start-up,
// [Store.LoadScripts] spares the first requests on each server a round
// trip, and [Store.CheckEviction] fails early on a server that may evict.
//
// # Guarantees
//
//   - Every commit is atomic: one Lua script on the session hash, so
//     concurrent requests that change different keys of one session all
//     survive, and no commit brings back a destroyed session.
//   - Update is a compare-and-swap: concurrent sesame.Update calls of one
//     key never lose a change. Through one Store they take turns, and
//     they retry with a backoff against other processes.
//   - Renew and Login are atomic, on a Cluster too: of concurrent
//     renewals one wins, and a Delete, a RevokeAll or a per-user cap that
//     races a renewal still ends the session. If Redis fails halfway, the
//     user is logged out; the session is never duplicated.
//   - A user's index never loses a live session, so Sessions, RevokeAll
//     and sesame.Config.MaxSessionsPerUser see every live session of the
//     user. Once concurrent logins under a cap of n have returned, at
//     most n sessions remain (2n parallel logins leave exactly n).
//   - A revocation mark (for cookiestore) costs the same to read, deny
//     into or replace, whatever the number of IDs it denies.
//
// Expiry is native: every key has a TTL (PEXPIREAT), so the store needs
// no purge (it is not a driver.Purger). It never runs KEYS, and SCAN only
// in Store.Stats, an O(N) admin call. A record vanishes at its expiry, so
// the store cannot tell an expired session from one that never existed:
// Load, Apply, Update and Renew report driver.ErrNotFound alone, never
// driver.ErrExpired.
//
// Values are stored as JSON (driver.MarshalValue) and loaded as
// json.RawMessage, which sesame.Get decodes into the caller's type.
//
// # Cluster
//
// A session's hash, its user's index and another session's hash hash to
// different slots: each script works on the single key it is given, and
// each command of a pipeline goes to its own key's node. go-redis sends
// the parts of a pipeline to their nodes in parallel, so it still costs
// one round trip of latency. A hash tag in the prefix ("{app}:") would
// put every key in one slot, on one node.
//
// # Eviction
//
// Because every key has a TTL, a server that evicts keys when it is full
// may evict the store's keys under a volatile-* policy as well as under an
// allkeys-* one; and losing a revocation mark, a user index entry or what
// a renewal leaves behind can bring a revoked or renewed-away session
// back. The server (every master of a Cluster) must run maxmemory-policy
// noeviction, as Redis does by default, or be dedicated to sessions with
// enough memory.
//
// The store checks it by itself, once, in the first call that uses it:
// one CONFIG GET per server (every master of a Cluster, in parallel),
// which that call waits for, as do calls that come meanwhile; later calls
// cost nothing. A server that may evict is logged as an error through
// [Options.Logger], naming the server and its policy; a server where
// CONFIG GET is refused (renamed, disabled or denied by an ACL, as on many
// managed services) is logged as a warning, which tells how to skip the
// check: [Options.SkipEvictionCheck], once the policy is known to be
// noeviction. No log record names a session ID or a user.
// [Store.CheckEviction] runs the same check and returns what it finds,
// to fail at start-up instead; the store then does not check again.
//
// # Round trips
//
// Every script runs as EVALSHA. Through a sesame.Manager:
//
//	untouched request                         0
//	read of a session                         1   HGETALL
//	new session (or Login without a cookie)   1   index + save, pipelined
//	blind write (Put without a read)          1   apply script
//	read-modify-write                         2   read + apply
//	read due an idle touch                    2   read + apply
//	Apply that empties the session            2   read + apply (which deletes)
//	Login of a read anonymous session         3   read + Renew (2)
//	Renew (or Login) of a read logged-in one  4   read + Renew (3)
//	Destroy of a logged-in session            3   read + Delete (2)
//	Update of a stored session                3   read + Update (2)
//	Login under a cap, at most n sessions     5   read + Renew (2) + CapUser (2)
//	Login under a cap, ending one session     8   read + Renew (2) + CapUser (5)
//	listing a user's sessions                 2
//	revoking all of a user's sessions         3
//
// A Login under a cap from a logged-in session costs 1 more, as a Renew
// of a logged-in session does. Destroying a session that was renewed
// meanwhile costs 1 more per renewal followed. The first call of a Store
// costs 1 more (on a Cluster, one per master, in parallel) for the
// eviction check, unless SkipEvictionCheck is set; a script not cached by
// the server yet (first use, restart, failover, new node) costs 1 more,
// once per server and script, unless [Store.LoadScripts] loaded it. None
// depends on the size of the store.
//
// # Contexts and failures
//
// Every method returns the context's error if it is done before the call,
// and passes the context to go-redis, where a deadline bounds the call. To
// have a cancellation interrupt a call in flight, set ContextTimeoutEnabled
// in the client's options. While Redis is down, methods fail with
// go-redis's error, wrapped; they work again once it is back, since go-redis
// reconnects and the store reloads its scripts as needed.
//
// # Internals
//
// The key layout, the round trips of each store operation, and why the
// guarantees hold (renewal in two steps, the consistency of the user
// index, the per-user cap, revocation marks, Update under contention) are
// described for maintainers in docs/internals/redisstore.md in the
// repository.
package redisstore
