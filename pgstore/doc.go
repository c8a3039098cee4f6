// Package pgstore is a sesame.Store on PostgreSQL, built on pgx v5.
//
// It implements every server-side capability of sesame:
// [sesame.DeltaStore] (a commit is one statement), [sesame.Renewer] (a
// renewal is one statement), [sesame.UserStore] with
// [sesame.UserDeleter] (an index on the user column), [sesame.Purger]
// (plus an optional janitor goroutine) and [sesame.RevocationStore]
// (per-user marks and denied IDs, for cookie-only sessions).
//
// # Why pgxpool
//
// The store takes a *pgxpool.Pool rather than a *sql.DB. pgx's native
// interface speaks the binary protocol, caches prepared statements per
// connection (each query here is parsed and planned once per connection,
// not once per call), sends arrays and timestamps in binary, and
// allocates less per query than database/sql, whose generic driver
// interface boxes every argument and scanned column. Sessions sit on every
// request's path, so that overhead is worth avoiding. An application that
// uses database/sql elsewhere can still open a pool beside it on the same
// DSN. Behind PgBouncer in transaction mode, where prepared statements
// cannot be cached, set the pool config's ConnConfig.DefaultQueryExecMode
// to pgx.QueryExecModeExec or pgx.QueryExecModeSimpleProtocol: the store
// passes its tests in both, as in pgx's default mode. Each call of a
// Store method is one statement (or a few, see Costs), never a
// transaction: only New's migration is one, and it takes a
// transaction-scoped lock, so a pooler in transaction mode is fine.
//
// # Schema
//
// [New] creates, or upgrades, five tables named after [Options.Table] (T):
//
//	T              the sessions: id (the hashed token), data (jsonb),
//	               user_id, created, last_seen, deadline, expires, persist;
//	               indexes on user_id (partial: WHERE user_id <> '') and
//	               on expires
//	T_revocations  one revocation mark per user (before, keep, expires)
//	T_renewed      one row per renewed ID: id (the old ID), new_id, and
//	               expires, when the old record would have expired
//	T_denied       the denied session IDs of each user: user_id, id,
//	               expires; primary key (user_id, id)
//	T_schema       the schema versions applied
//
// The schema is at [SchemaVersion] 2. When the schema is current, New
// only reads T_schema. Otherwise it migrates in one transaction that first
// takes a transaction-scoped advisory lock (pg_advisory_xact_lock) derived
// from the table name, then reads the version again, and applies each
// missing versioned step: several instances starting at once on a new
// database, or on one to upgrade, all succeed, and exactly one migrates.
// Version 2 only adds T_renewed and T_denied (and their expiry indexes)
// to a version-1 schema: the existing rows stay where they are, and the
// sessions table is neither rewritten nor locked. A schema newer than
// this code knows is refused with an error wrapping [ErrNewerSchema], so
// an old binary never writes to a table it does not understand.
//
// # Values
//
// The data column is a jsonb object whose keys are the session's keys and
// whose values are JSON strings holding each value's exact encoding by
// [sesame.MarshalValue]. Storing the encoding as a string, rather than as
// nested jsonb, is deliberate: jsonb normalises what it stores (it
// reorders object keys, rewrites numbers such as 1e2 as 100, drops
// whitespace, and rejects strings containing \u0000), so a value would
// not come back byte for byte. As strings, every value, including an
// int64 above 2^53, a time.Time with nanoseconds, and a caller's
// json.RawMessage, comes back exactly as it was encoded. Load returns
// each value as a json.RawMessage, which [sesame.Get] decodes into the
// caller's type. A value stays readable from SQL as (data->>'key')::jsonb.
//
// # Atomicity
//
// Every write to a session is one statement, which PostgreSQL runs
// atomically. Under READ COMMITTED, a statement that finds its row
// changed by a concurrent one waits for it to commit, then re-checks its
// WHERE clause on the row's latest version and computes its SET
// expressions from that version; the statements below are written so that
// this re-check decides every race. Apply and Renew match only a live
// row (expires later than now), so neither brings back a session that
// another request deleted, revoked or renewed meanwhile.
//
// Apply of a delta that cannot empty the record (no Clear, no Delete, no
// user removed: [sesame.Delta.Emptying] is false) is one UPDATE: it
// clears, deletes and sets keys with jsonb operators, sets the user,
// persist flag, creation time and deadline if given, moves last_seen, and
// caps expires at the deadline, all on the row's latest version, so
// concurrent commits that change different keys all survive.
//
// Apply of an emptying delta is one statement of three parts: the first
// locks the live row (SELECT ... FOR UPDATE, which also reads its latest
// version) and computes its data and user after the delta; then exactly
// one of a DELETE (the result has no values and no user: the record is
// deleted, and Apply reports it) and an UPDATE (it has some) matches the
// locked row. The lock matters: judged on the statement's snapshot
// instead, two requests that each remove one of the last two keys would
// both see a key left, and leave an empty row.
//
// Renew is one statement of three parts: it locks the live row under the
// old ID and reads its expiry, moves it to the new ID with the delta
// applied (an UPDATE of the primary key, not a delete and an insert), and
// inserts a T_renewed row from the old ID to the new one, kept until the
// old record would have expired. Of concurrent Renews of one ID the first
// to lock the row wins; the others then re-check "id = old" on the moved
// row, match nothing, and fail, as does an Apply of the old ID. A
// concurrent DeleteUser, which matches on user_id, still finds and
// deletes the moved row. Until the renewal expires, Load, Apply and Renew
// of the old ID fail with an error wrapping both sesame.ErrNotFound and
// sesame.ErrRenewed.
//
// Delete is one statement that follows the renewals from the ID through
// T_renewed (a recursive query, at most 64 of them), deletes the rows on
// that chain, and reports whether one of them was live: deleting an old
// ID deletes the session now under its newest ID, so that a revocation
// that lost the race to a renewal still ends the session. Of concurrent
// Deletes of one session exactly one reports it. If a concurrent Renew
// moved the row after the statement's snapshot, the statement reports a
// row it saw but could not delete, and Delete runs again, once per such
// race, to follow the new renewal (so does the loser of concurrent
// Deletes, whose second run finds nothing).
//
// A revocation mark and each denied ID are separate rows, so
// SetRevocation (an upsert of the mark) and Deny (an upsert of a denied
// ID, keeping the later expiry) never undo each other's work, and
// Revocation reads the live mark and the live denied IDs in one query.
//
// # Time
//
// Expiry is judged by the application's clock, the one that set the
// record's times, not the database server's: each query passes time.Now.
// A record is never returned at or after its expiry, even before it is
// purged. Times are stored as timestamptz (microsecond precision).
//
// # Timeouts
//
// The store has no timeout of its own: every call honours its context,
// and pgx abandons a call whose context ends (by default it sets a past
// deadline on the connection, which the pool then replaces; a statement
// the server already received may still complete). The Manager bounds
// every load and commit with [sesame.Config.StoreTimeout] (5s by
// default), so a hung server or a network partition fails the request
// within that bound (the Manager's ErrorHandler answers) instead of
// holding it and a pool connection. A caller that uses the store directly
// bounds its own context; the janitor's purges end when the server
// answers or Close is called.
//
// # Costs
//
// Each statement is one round trip, in every query mode (in pgx's default
// mode the first use of a statement on a connection also prepares it,
// once). The statements per call:
//
//	Load           1 on the primary key; 2 when no live record exists
//	               (the second tells a renewed ID)
//	Save           1 (INSERT ... ON CONFLICT DO UPDATE)
//	Apply          1 (an UPDATE; or lock, then DELETE or UPDATE, for an
//	               emptying delta); 2 when no live record exists
//	Renew          1 (lock, UPDATE of the key, INSERT of the renewal);
//	               2 when no live record exists
//	Delete         1 (the chain of renewals, and a DELETE); one more per
//	               concurrent Renew or Delete that changed the row
//	               meanwhile
//	Sessions       1 on the user index
//	DeleteUser     1 on the user index
//	SetRevocation  1
//	Deny           1
//	Revocation     1
//	Purge          1 for the marks, then 1 per batch of 5000 expired
//	               sessions, renewals and denied IDs
//
// Sessions and DeleteUser cost O(that user's sessions) whatever the size
// of the table (see BenchmarkRevokeUser). Purge deletes through the expiry
// indexes, in batches, so that a large backlog never holds one long
// transaction.
package pgstore
