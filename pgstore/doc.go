// Package pgstore is a driver.Store on PostgreSQL, built on pgx v5. Use it
// when several instances of an application share sessions and a
// PostgreSQL database is at hand: each operation is one statement or a
// short transaction, whose cost does not depend on the size of the table.
//
// It implements every server-side capability of sesame:
// [driver.DeltaStore], [driver.Renewer], [driver.Updater],
// [driver.UserStore] with [driver.UserDeleter], [driver.UserCapper],
// [driver.Purger] (plus an optional janitor goroutine) and
// [driver.RevocationStore] (per-user marks and denied IDs, for cookie-only
// sessions). It keeps every field of a [driver.Record] and lists them in
// Sessions; Load of a record that is still in the table but expired
// reports [driver.ErrExpired] with [driver.ErrNotFound].
//
// # Setup
//
// [New] takes the application's *pgxpool.Pool, which the store never
// closes, creates or upgrades its tables, and starts the janitor;
// [Store.Close] stops it:
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	if err != nil { ... }
//	store, err := pgstore.New(ctx, pool, pgstore.Options{})
//	if err != nil { ... }
//	defer store.Close()
//	sessions := sesame.New(sesame.Config{Store: store})
//
// The store takes a pgx pool rather than a *sql.DB: pgx's native interface
// caches each statement's plan per connection and allocates less per
// query, which matters on every request's path. Behind PgBouncer in
// transaction mode, set the pool config's ConnConfig.DefaultQueryExecMode
// to pgx.QueryExecModeExec or pgx.QueryExecModeSimpleProtocol (the store
// passes its tests in both, as in pgx's default mode); every lock the
// store takes is transaction-scoped, so transaction pooling is fine.
//
// Every field of [Options] is optional. Table names the sessions table
// ([DefaultTable] if empty; it may be schema-qualified, and an unqualified
// name is bound to the current schema when New runs); the other tables
// are named after it (see Schema). CleanupInterval sets how often the
// janitor purges expired rows (5 minutes by default; negative for none:
// expired records are still never returned, and [Store.Purge] removes
// them). Logger takes the janitor's errors and purge counts, never a
// session ID.
//
// # Guarantees
//
//   - A commit is one statement that changes only the keys it touched, on
//     the row's latest version, so concurrent requests that change
//     different keys of one session all survive, and two that remove its
//     last keys never leave an empty row. It matches only a live row: no
//     commit brings back a session deleted, revoked or renewed meanwhile.
//   - Renew and Login are one statement: of concurrent renewals one wins,
//     and the old ID reports driver.ErrRenewed until the old record would
//     have expired. Delete follows every renewal from the ID it is given,
//     however many, so a revocation that lost a race with renewals still
//     ends the session, and of concurrent Deletes exactly one reports it.
//   - Update locks the row while f runs, once: concurrent sesame.Update
//     calls of one key never lose a change.
//   - CapUser runs under a per-user advisory lock, so concurrent logins
//     under sesame.Config.MaxSessionsPerUser, from every instance, leave
//     the user at most the cap.
//   - A revocation read costs the same whatever the number of IDs the
//     user has denied; the count of Denys (driver.MaxDenied) is exact.
//   - A delta that gives the session to another user without a Login or a
//     Reauthenticate clears its authentication time, as
//     driver.Delta.ApplyTo does.
//
// Expiry is judged by the application's clock, not the database server's:
// each query passes time.Now. Times are stored as timestamptz (microsecond
// precision). The store has no timeout of its own: every call honours its
// context, which the Manager bounds with sesame.Config.StoreTimeout, so
// a hung server fails the request within that bound instead of holding it
// and a pool connection.
//
// # Schema
//
// New creates, or upgrades, five tables named after [Options.Table] (T):
//
//	T              the sessions: id (the hashed token; no token is
//	               stored), data (jsonb), user_id, created, last_seen,
//	               deadline, expires, persist, authenticated_at, user_agent,
//	               ip; indexes on user_id (partial) and on expires
//	T_revocations  one row per user: the revocation mark and the count of
//	               Denys since it; an index for Purge
//	T_renewed      renewed IDs, until the old record would have expired
//	T_denied       the denied session IDs of each user
//	T_schema       the schema versions applied
//
// The data column maps each key to a JSON string holding the value's exact
// encoding by [driver.MarshalValue], which jsonb would otherwise normalise;
// Load returns each value as a json.RawMessage, byte for byte. A value
// stays readable from SQL as (data->>'key')::jsonb.
//
// # Upgrades
//
// The schema is at [SchemaVersion] 4. When it is current, New only reads
// T_schema. Otherwise it migrates in one transaction under an advisory
// lock derived from the table name: several instances starting at once,
// on a new database or on one to upgrade, all succeed, and exactly one
// migrates. No upgrade rewrites a table. Version 3 adds columns to the
// sessions table, which takes its ACCESS EXCLUSIVE lock for a moment once
// the transactions using it have ended, so upgrade while no long
// transaction holds it; existing sessions read as never authenticated, on
// no known device. Version 4 counts each user's existing denied IDs into
// their row: they stay denied, as revoked, and a user who already has more
// than driver.MaxDenied is refused a Deny until a mark drops them.
// Instances of the previous version still running keep working on the
// upgraded tables (version 3's Denys are not counted, and its Purge may
// reset a user's count), but refuse to start on them. A schema newer than
// this code knows is refused with an error wrapping [ErrNewerSchema], so an
// old binary never writes to a table it does not understand.
//
// # Costs
//
// Each statement is one round trip, in every query mode; so are the BEGIN
// and COMMIT of a transaction. The statements per call:
//
//	Load           1 on the primary key; 2 when no live record exists
//	Save, Deny     1
//	Apply, Renew   1; 2 when no live record exists
//	Delete         1; one more per concurrent Renew or Delete that changed
//	               the row meanwhile
//	Update         4 (BEGIN, SELECT ... FOR UPDATE, UPDATE, COMMIT)
//	Sessions       1 on the user index
//	DeleteUser     1 on the user index
//	CapUser        4 (BEGIN, the lock, the list, COMMIT); 5 when it ends
//	               sessions
//	SetRevocation  1 (a batch of 2 statements)
//	Revocation     1, on primary keys
//	Purge          1 for the marks, then 1 per batch of 5000 expired
//	               sessions, renewals and denied IDs
//
// Sessions, DeleteUser and CapUser cost O(that user's sessions) whatever
// the size of the table (see BenchmarkRevokeUser).
//
// # Operations
//
// Purging: the janitor of every instance purges, through the expiry
// indexes, in batches, so a large backlog never holds one long
// transaction. With CleanupInterval negative, call [Store.Purge] yourself.
//
// Backups: the tables are ordinary tables, dumped by pg_dump with the
// rest. Restoring a dump brings back, until they expire, the sessions
// deleted or revoked since it was taken, and loses the revocation marks
// and denied IDs set since: unless that is acceptable, delete the rows of
// T after a restore (everyone logs in again), or dump T without its rows
// (pg_dump --exclude-table-data).
//
// Design notes (why each statement is safe, the migrations in detail):
// docs/internals/pgstore.md.
package pgstore
