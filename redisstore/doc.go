// Package redisstore is a driver.Store on Redis, through a go-redis v9
// [redis.UniversalClient]: a standalone server, Sentinel (a failover
// client) or Redis Cluster. It implements driver.DeltaStore,
// driver.Renewer, driver.Updater, driver.UserStore, driver.UserCapper and
// driver.RevocationStore, and needs Redis 6.2 or later.
//
// # Layout
//
// Every key starts with [Options.Prefix]. For a session ID, a user and a
// user's revocation mark the store keeps:
//
//	PREFIX s:ID    hash, one of:
//	               a session: a field "v:"+key per value, holding its
//	               JSON, and the metadata fields u (user), c (created), l
//	               (last seen), d (deadline), e (expires), p (persist), a
//	               (authenticated at), g (the device's User-Agent) and i
//	               (its IP), times in Unix milliseconds; and r, if the
//	               session was renewed into this ID (see Renewal). Only
//	               value fields start with "v:", so no value key can
//	               collide with a metadata field. A record written before
//	               a, g and i existed loads without them: a zero
//	               AuthenticatedAt and Device.
//	               a forward pointer, left by a Renew: f (the new ID), u
//	               (the user) and e (when it goes).
//	               a tombstone: t, left where a renewal must not land.
//	PREFIX u:USER  sorted set: the user's session IDs, scored by deadline.
//	PREFIX r:USER  hash: the user's revocation mark: b (before), k (keep)
//	               and x (expires); c, how many IDs were denied since
//	               the mark (see driver.MaxDenied); and a field per
//	               denied session ID, holding the denial's expiry: "d:"+ID
//	               if it was revoked, "r:"+ID if it was renewed away. A
//	               mark written by the previous version has no c and only
//	               "d:" fields; one written by the version before is a
//	               string "before expires keep". Both are read as they
//	               are, and upgraded by the next write.
//	PREFIX c:USER  sorted set: the session IDs that a CapUser chose to
//	               end (see Per-user cap), scored by their index score.
//
// Expiry is native: a session hash expires at its Expires (PEXPIREAT), a
// forward pointer with the record it replaced, a tombstone when no renewal
// can need it any more, a mark at the latest time it was given (the mark's
// or a denial's), and a user index or cap key with its latest member. Every key the store writes has
// a TTL. The store needs no purge (it is not a driver.Purger), and never
// runs KEYS or SCAN.
//
// So a record vanishes at its expiry, and the store cannot tell an expired
// session from one that never existed: Load, Apply, Update and Renew
// report driver.ErrNotFound alone, never driver.ErrExpired (not even for a
// hash that the server has not expired yet while the record's Expires is
// past, by this process's clock).
//
// # Eviction
//
// Because every key has a TTL, a server that evicts keys when it is full
// may evict the store's keys under a volatile-* policy as well as under an
// allkeys-* one; and losing a revocation mark, a user index entry, a
// forward pointer or a tombstone can bring a revoked or renewed-away
// session back. The server (every master of a Cluster) must run
// maxmemory-policy noeviction, as Redis does by default, or be dedicated
// to sessions with enough memory.
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
// Every script touches one key, and runs as EVALSHA. Through a
// sesame.Manager:
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
// of a logged-in session does.
//
// Store operations one by one:
//
//   - Load: 1. Save: 1, and 2 over a record of another user (the old
//     user's index entry goes second). The Manager only saves new IDs.
//   - Apply: 1. A delta that sets the user "" costs 2 (the old user's
//     index entry goes after the record left it); one that sets a
//     non-empty user reads the record's user and deadline first: 2 if the
//     user does not change, 3 if it does (the new index entry is written
//     before the record changes hands), 4 if it changes from another user
//     (whose entry goes last). A delta that sets a deadline, for a
//     session with a user, also rewrites the index entry first: 3. Log
//     in with Renew (Session.Login), which does all this in 2. A
//     delta's AuthenticatedAt and Device go in the same script, at no
//     cost.
//   - Renew: 2 with the Manager's deltas; 3 without d.User or d.Deadline;
//     and 1 more when the old record had a user, to remove the old ID
//     from its index once step 2 has returned (see Renewal). A Renew
//     refused at step 1 (the old ID is not live) costs 1 more, to take
//     back the new ID's index entry; one refused at step 2 (a tombstone
//     bars the new ID) removes both entries in that one more round trip.
//   - Delete: 1, or 2 for a session with a user, and 1 more per renewal
//     followed from a renewed ID, however many (0.1 to 0.2 ms each on a
//     local server: through a chain of 1,000 renewals, 110 to 200 ms in
//     TestDeleteFollowsLongChains).
//   - Sessions: 2, whatever the number of sessions: the index (pruned of
//     the members past their deadline) in one pipeline, every listed hash
//     in another.
//   - DeleteUser: 3, whatever the number of sessions: the index, then one
//     script per listed session in one pipeline, then the removal of what
//     it deleted from the index; 1 more per hop when it follows renewals
//     in flight (the chains of all listed IDs at once, however long).
//     1 for a user without sessions.
//   - Update: 2, the read and the compare-and-swap; 2 more per race lost
//     to another process or write, each after a backoff (see Updates).
//   - CapUser: 2 (the listing of Sessions) while the user has at most n
//     live sessions; otherwise 3 (the listing and the decision) plus a
//     Delete per session ended, one after the other: 2 each, and 1 more
//     per renewal followed (see Per-user cap).
//   - SetRevocation, Deny, Revocation: 1 each, whatever the number of
//     denied IDs (see Revocation marks). Revocation of a string mark (two
//     versions back): 2, until the mark is next written.
//   - The first call of a Store: 1 more (on a Cluster, one per master, in
//     parallel), for the eviction check (see Eviction), unless
//     Options.SkipEvictionCheck is set.
//   - A script not cached by the server yet (first use, restart,
//     failover, new node): 1 more, once per server and script.
//     [Store.LoadScripts] loads them beforehand.
//
// None depends on the size of the store.
//
// # Cluster
//
// A session hash, its user's index and another session's hash hash to
// different slots, so no script or command touches two keys: each script
// works on the single key it is given, and the commands of a pipeline
// each go to their own key's node. go-redis splits a Cluster pipeline by
// node and sends the parts in parallel, so it still costs one round trip
// of latency (a go-redis hook sees it once, as on a single server), and
// its parts run in no particular order: the store never pipelines two
// calls whose order matters. A hash tag in the prefix ("{app}:") would put
// every key in one slot, on one node.
//
// # Renewal
//
// Renew moves a session from the old ID to the new one, two keys that a
// Cluster keeps on different nodes, in two scripts:
//
//  1. renewOut, on the old hash: if it holds no live session, nothing
//     changes and Renew reports driver.ErrNotFound (and driver.ErrRenewed
//     if the hash is a forward pointer). Otherwise the script applies the
//     delta in Lua, returns the resulting fields, and replaces the hash
//     with a forward pointer {f: new ID, u: old user, e: old expiry} that
//     expires when the old record would have. From then on, Load, Apply
//     and Renew of the old ID report ErrNotFound and ErrRenewed. Of
//     concurrent Renews of one ID, only the first renewOut finds a live
//     session.
//  2. renewIn, on the new hash: if the key exists (a tombstone: a Delete
//     or DeleteUser got there first), or if the server's clock has
//     reached the pointer's expiry or the new expiry, it writes nothing
//     and Renew reports ErrNotFound. Otherwise it writes the fields, with
//     r = the pointer's expiry, and PEXPIREAT the new expiry.
//
// The new ID enters the final user's index before step 2 makes it live:
// with the Manager's deltas, which always set the user and the deadline
// (the index score), that ZADD goes in step 1's pipeline; without them,
// it has a round trip of its own between the steps. The old ID leaves its
// user's index only after step 2 has returned, in a round trip of its
// own: sent beside step 2, its ZREM would go, on a Cluster, to another
// node in parallel, and could land before step 2 (and on a single server
// too, when step 2 is sent again after NOSCRIPT), leaving a moment when
// the index lists the old ID no more and the new ID is not live yet. A
// step 2 that fails (the network, ctx) may have run: the old ID keeps its
// entry, which listing skips once the new ID is live, and the deadline
// prunes. So at every moment a Delete or DeleteUser can reach the
// session, through the old ID, which is the live session or a pointer,
// or through the new ID; and the index lists the old ID until the new ID
// is live.
//
// Delete of a forward pointer follows it, and the whole chain of
// pointers that renewals left, however long (one round trip per hop;
// nothing bounds the chain but ctx and the store's contents, since a
// pointer lives only as long as the record it replaced): it deletes the
// session at the end; if that has no record yet, it leaves a tombstone
// there until the pointer's expiry, so that the pending step 2 refuses.
// Both report true. If ctx ends before the end of the chain, Delete
// returns an error: it never reports success while a session renewed
// from the ID is live. A chain that loops back to an ID (which only a
// reused ID could make) is an error too. A session renewed into (field
// r) also leaves a tombstone when deleted, so that a second Delete
// through the pointer finds nothing live: of concurrent Deletes, by the
// old ID or the new, one reports true.
//
// DeleteUser runs one script per ID its index lists: a live session of
// the user is deleted and counted; a forward pointer of the user is
// followed as Delete follows it; an ID with no record gets a tombstone
// until its index score (a step 2, or a Save, may be pending; a Save
// replaces the tombstone) and stays in the index.
//
// The tombstone and step 2's clock check are on the same node and clock:
// a tombstone that expired at the pointer's expiry means a step 2 that
// can no longer succeed. So a Delete or DeleteUser that returns before
// Renew starts, or that Renew returns before, leaves no live record under
// either ID. If Redis or the network fails between the steps, or ctx
// ends, the session is under neither ID: its user is logged out; it is
// never duplicated.
//
// # Consistency of the index
//
// The index is scored by each session's deadline, its absolute end, which
// no touch or write moves: writes and touches, even blind ones that do not
// know the user, leave the index alone, and a score never understates how
// long a session may live (it only grows: ZADD GT). The index key expires
// with its latest member.
//
// The index never loses a live session. An entry is written before its
// session can belong to the user (Save pipelines it with the hash and
// deletes the hash again, best effort, if the index write failed; Apply
// and Renew write it a step ahead, and Apply checks that the user it read
// is still the record's). An entry is removed only by score, once its
// deadline has passed, or by the operation that took its session away
// from the user, after it did: Delete (and CapUser, through it),
// DeleteUser (only what it deleted), an Apply that changed or emptied the
// user, a Renew that moved the session, a Save of another user. Listing
// skips, and never removes, entries whose session ended early (idle
// timeout), changed user, is a pointer or tombstone, or has no record yet
// (its write may be in flight); revoking deletes a session only if it
// still belongs to the user. Such entries go at their deadline.
//
// # Updates
//
// Update is a compare-and-swap on the session hash: it reads the value's
// field with e, f and t (one HMGET: is the record a live session?), calls
// f with the value, then runs a script that writes f's result only if the
// hash still holds a live session, not a forward pointer nor a tombstone
// (as Apply checks), and the field still holds the value read, byte for
// byte (or still none). It reports driver.ErrNotFound, and
// driver.ErrRenewed for a pointer, if the read or the script finds no live
// session; the script changes nothing but the field, so neither the
// record's times nor its TTL move. Uncontended, an Update costs 2 round
// trips, and through a Manager 3 (the request's read, then those two).
//
// A write of the field between the read and the script (another Update,
// an Apply or a Save) makes the script refuse: Update reads again and
// calls f again, after a full-jitter exponential backoff (1ms doubling up
// to 100ms), at most 64 tries, and never past ctx. Updates of one key of
// one session through one Store take turns (a queue per key in flight, in
// the process), so they never lose a race to each other: the
// compare-and-swap arbitrates between processes. 64 clients x 50 Updates
// of one key through one Store lose no race; through four Stores (16
// clients each) they take 1.1 to 1.6 tries on average, and at most 9 to
// 15, of the 64 allowed (TestUpdateUnderContention, standalone and
// Cluster, with and without -race). Without the turns, through one Store,
// the tail reached 55 tries, and Updates ran out of a 5s StoreTimeout
// under -race.
//
// # Per-user cap
//
// CapUser(user, keep, n, refuse) lists the user's live sessions as
// Sessions does (two round trips), and counts as well a session that a
// Renew is moving: a live forward pointer of the user, unless its new ID
// was listed live (the session being renewed is seen now). If they are at
// most n, or refuse is set and keep is not among them, it returns.
// Otherwise the cap key PREFIX c:USER decides, in one script: it is given
// the sessions listed, least recently seen first (ties to the earlier
// created, then the smaller ID, as driver.OverCap orders them), each with
// its index score and expiry. It prunes its members whose score has
// passed, leaves out the sessions listed that are members (a CapUser chose
// them before) or expired by now, and if more than n remain it chooses
// keep (refuse) or the first others until n remain, adds them to the key
// and returns them, with the listed sessions chosen before. CapUser then
// deletes each through the Delete path (following renewals, removing
// index entries), but only a session or pointer that is still the user's.
// It returns the chosen ones; it also deletes, without returning them,
// those chosen before: normally their chooser is deleting them, but if it
// failed before it could, this ends them.
//
// Why at most n live sessions remain once concurrent CapUsers, each
// following the write that gave its keep the user, have returned without
// error: let S be the user's live sessions then, and suppose |S| > n. A
// session ended stays ended, so each of S was live from its write to the
// end (under its ID, or the IDs a Renew gave it), and its CapUser listed
// after its write. Take the session s of S whose CapUser listed last.
// Every other of S was live throughout that listing, and the listing
// counts every such session. One that no Renew moved meanwhile is in the
// index, which never loses a live session (see Consistency of the index),
// and its hash is live. For one that a Renew was moving, the listing
// reads the index, then the hashes: if the index still held the old ID,
// the old hash is the live session, or a forward pointer, live until
// step 2 (a step 2 past the pointer's expiry refuses, and the session
// would have ended), which the listing counts unless it finds the new ID
// live, and so counts it once; if the index no longer held the old ID,
// its ZREM had come after step 2 returned (see Renewal), so the new ID,
// indexed before step 2, was listed, and is live. (The previous version
// sent that ZREM beside step 2; on a Cluster it could land first, and a
// listing then found neither ID: a cap of 1 left 2 sessions.) The same
// holds through several Renews, and for a session whose write was the
// step 2 of a login's Renew, which came before that listing. So s's listing
// counted all of S, more than n, and its script ran. None of S was a
// member of the cap key then: a member was chosen by a CapUser that has
// since deleted it. So the script counted at least |S| > n and chose:
// with refuse, keep = s, which is then ended; otherwise all but n of the
// sessions it counted, which are then ended, so at most n of S remain.
// Both contradict |S| > n.
//
// Nor does a CapUser end more than it must: what a script counts is live,
// or was ended meanwhile by a logout or an expiry, so it brings the live
// sessions not yet chosen down to n and not below, but for such a race.
// So 2n parallel logins under a cap of n leave exactly n.
//
// A chosen session keeps its index entry until it is deleted, so
// DeleteUser still reaches it in between; the cap key only holds IDs,
// until the time their sessions could live to at most.
//
// # Revocation marks
//
// A mark is a hash (see Layout), written by two scripts, one for Deny and
// one for SetRevocation, so that they are atomic with respect to each
// other. No command of a read or a Deny is O(number of denied IDs):
// cookiestore reads the mark on every request of a user, and a user may
// have denied up to driver.MaxDenied IDs since the last mark (the
// previous version let the list grow with every logout: 20,000 denied IDs
// cost 35 ms per read, and held up every other client of the server).
//
//   - Revocation is one HMGET of b, k, x and the two fields of each ID
//     asked about: O(number of IDs asked), whatever the list's length.
//   - Deny reads c and the ID's two fields (one HMGET), refuses if c has
//     reached driver.MaxDenied, else writes the ID's entry (HSET, HDEL of
//     its other field: a second Deny of an ID merges into its entry, and
//     a revocation is never weakened into a renewal, nor shortened),
//     counts a new ID in c, and makes the key expire at the later of its
//     current expiry (PTTL, with the server's TIME: PEXPIRETIME would need
//     Redis 7) and the entry's. An entry past its expiry stays in the
//     hash, read as absent, until the key expires.
//   - SetRevocation reads the entry of the mark's Keep, drops the hash
//     with UNLINK (a large one is freed off the main thread), and writes
//     the mark, c = 0 and Keep's live entry; the key expires at the later
//     of the mark's and that entry's expiry.
//
// A mark of the previous version (b, k, x and "d:"+ID fields holding
// expiries, without c) reads as it is, its denials as revocations; its
// first Deny counts its fields but b, k and x (HLEN, O(1)) as the IDs
// denied since the mark, so a list the previous version let grow past
// driver.MaxDenied takes no more Denys until the next mark, which drops
// it. A string mark of the version before ("before expires keep") is
// parsed on read (a GET more), and converted into the hash by the next
// write, keeping its expiry. So an upgrade drops no revocation. With
// 100,000 denied IDs, no command of a read, a Deny or a SetRevocation
// takes the server more than a fraction of a millisecond
// (TestRevocationCostIsConstant).
//
// # Values
//
// Values are stored as JSON (driver.MarshalValue) and loaded as
// json.RawMessage, which sesame.Get decodes into the caller's type.
//
// # Contexts and failures
//
// Every method returns the context's error if it is done before the call,
// and passes the context to go-redis, where a deadline bounds the call. To
// have a cancellation interrupt a call in flight, set ContextTimeoutEnabled
// in the client's options. While Redis is down, methods fail with
// go-redis's error, wrapped; they work again once it is back, since go-redis
// reconnects and the store reloads its scripts as needed.
package redisstore
