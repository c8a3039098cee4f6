// Command sesamectl administers the sessions of a sesame store: it lists,
// shows and revokes sessions, purges expired records, prints statistics,
// generates cookie keys and checks a deployment.
//
// Usage:
//
//	sesamectl [-sqlite PATH | -redis URL | -redis-cluster ADDRS | -postgres DSN] [-prefix P] [-json] COMMAND [ARGS]
//
// # Choosing the store
//
// At most one store flag may be given:
//
//	-sqlite PATH          an SQLite file (package sqlitestore); it must exist
//	-redis URL            a Redis server, redis://[user:password@]host:port/db;
//	                      a prefix=P query parameter sets the key prefix, as
//	                      in cmd/sesame-demo
//	-redis-cluster ADDRS  comma-separated host:port seeds of a Redis Cluster
//	-postgres DSN         a PostgreSQL URL or keyword/value DSN; the tables
//	                      are pgstore.DefaultTable in the DSN's search_path
//	-prefix P             the Redis key prefix (default "sesame:", the
//	                      demo's, redisstore.DefaultPrefix)
//	-json                 print JSON instead of a table
//
// Without a store flag, the environment decides: SESAME_REDIS_URL,
// SESAME_REDIS_CLUSTER or SESAME_POSTGRES_DSN, whichever is set (two set is
// a usage error). Without any, the store is the demo's SQLite file,
// ./sesame-demo.db. sesamectl opens an SQL store as an application does,
// which creates or migrates its schema, but runs no janitor; it never creates
// an SQLite file.
//
// # Commands
//
//	list --user U
//	    The user's live sessions, most recently seen first: ID, created,
//	    last seen, expires, and the device (IP and User-Agent).
//	show [--values] ID
//	    One session's metadata and its keys with the size of each value
//	    (bytes of its JSON encoding); the values too with --values.
//	revoke ID
//	revoke --user U [--keep ID]
//	    Ends one session (following its renewals, as Store.Delete does), or
//	    every session of U but --keep, and prints how many were ended.
//	purge
//	    Deletes the expired records of a store that implements
//	    driver.Purger, in batches (the store's, 1,000 rows a statement on
//	    SQLite), and prints the count; on a terminal, a line shows the time
//	    spent while it runs. Redis expires its keys by itself: purge says
//	    so, and exits 0.
//	stats
//	    The number of live sessions, of their distinct users, of expired
//	    records awaiting a purge (SQL stores), and the total and largest
//	    size of a session's values. It calls the Stats method of the store
//	    package (sqlitestore, pgstore, redisstore): one query on SQL, which
//	    reads every row; on Redis a SCAN of every master plus an HGETALL per
//	    session. Both are O(N) administrative operations: not for a
//	    monitoring loop on a large store.
//	keygen [--rotate] [--id ID]
//	    Prints a new cookie key in the SESAME_KEYS format (see package
//	    cookiestore): "ID:SECRET". With --rotate it reads the current ring
//	    from SESAME_KEYS, or from stdin if that is unset, and prints the new
//	    ring, the new key first. The output holds secrets. It needs no store.
//	check
//	    Verifies the deployment: the store opens; on Redis, that no server's
//	    maxmemory-policy can evict the store's keys (Store.CheckEviction);
//	    on SQL, the schema version; on SQLite, that the file (and its -wal
//	    and -shm files) is not readable or writable by group or others; and,
//	    if SESAME_KEYS is set, that it parses as a key ring. It exits 1 if
//	    any check fails.
//
// Flags of a command may come before or after its argument. An ID may start
// with '-' ("show -x1" is the ID -x1, as it names no flag); one that starts
// with "--", or names a flag, goes after "--" ("show -- --x1"). IDs are session
// IDs, hashes of the tokens, as sesame.Session.ID and list print them: a
// store holds no token, so sesamectl never prints one, and it does not repeat
// an ID it cannot find.
//
// # JSON
//
// With -json, each command prints one JSON value, with these fields (times
// in RFC 3339, UTC; a zero time is left out):
//
//	list    an array of sessions: id, user, created, last_seen, expires,
//	        deadline, authenticated_at, user_agent, ip
//	show    a session's fields, plus persist and keys, an array of
//	        {key, size, value}; value only with --values
//	revoke  {revoked}
//	purge   {purged, native_expiry}; native_expiry is true on Redis
//	stats   {store, sessions, users, expired, total_bytes, largest_bytes};
//	        no expired on Redis; sizes in bytes
//	keygen  {id, keys, ids}: the new key's ID, the ring in the SESAME_KEYS
//	        format, and its IDs, newest first
//	check   an array of {check, status, detail}; status is ok, fail or skip
//
// # Exit codes
//
//	0  success (and -h)
//	1  failure: the store failed, a session was not found, a check failed
//	2  usage error: the error and the usage are printed on stderr
package main
