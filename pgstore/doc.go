// Package pgstore is a driver.Store on PostgreSQL, built on pgx v5.
//
// It implements every server-side capability of sesame:
// [driver.DeltaStore] (a commit is one statement), [driver.Renewer] (a
// renewal is one statement), [driver.Updater] (a transaction that locks
// the row), [driver.UserStore] with [driver.UserDeleter] (an index on the
// user column), [driver.UserCapper] (a transaction under a per-user
// advisory lock), [driver.Purger] (plus an optional janitor goroutine) and
// [driver.RevocationStore] (per-user marks and denied IDs, for cookie-only
// sessions). It keeps every field of a [driver.Record], the device and
// the time of the last authentication included, and lists them in
// Sessions; Load of a record that is still in the table but expired
// reports [driver.ErrExpired] with [driver.ErrNotFound].
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
// Store method is one statement (or a few, see Costs), except Update and
// CapUser, which are short transactions, SetRevocation, a batch of two
// statements that PostgreSQL runs as one implicit transaction, and New's
// migration; their locks are transaction-scoped (row locks,
// pg_advisory_xact_lock), never held by a session, so a pooler in
// transaction mode is fine.
//
// # Schema
//
// [New] creates, or upgrades, five tables named after [Options.Table] (T):
//
//	T              the sessions: id (the hashed token), data (jsonb),
//	               user_id, created, last_seen, deadline, expires, persist,
//	               authenticated_at (NULL if never), user_agent, ip;
//	               indexes on user_id (partial: WHERE user_id <> '') and
//	               on expires
//	T_revocations  one row per user: the revocation mark (before, keep,
//	               expires; -infinity if the user has none), the count of
//	               Denys since the mark (denied) and the latest expiry of
//	               the user's denied IDs (denied_until); an index on
//	               GREATEST(expires, denied_until), for Purge
//	T_renewed      one row per renewed ID: id (the old ID), new_id, and
//	               expires, when the old record would have expired
//	T_denied       the denied session IDs of each user: user_id, id,
//	               renewed (renewed away, or revoked), expires; primary
//	               key (user_id, id)
//	T_schema       the schema versions applied
//
// The schema is at [SchemaVersion] 4. When the schema is current, New
// only reads T_schema. Otherwise it migrates in one transaction that first
// takes a transaction-scoped advisory lock (pg_advisory_xact_lock) derived
// from the table name, then reads the version again, and applies each
// missing versioned step: several instances starting at once on a new
// database, or on one to upgrade, all succeed, and exactly one migrates.
// Version 2 only adds T_renewed and T_denied (and their expiry indexes)
// to a version-1 schema: the existing rows stay where they are, and the
// sessions table is neither rewritten nor locked. Version 3 adds the
// columns authenticated_at, user_agent and ip to the sessions table with
// one ALTER TABLE: a change of the catalog only (the new columns are NULL
// or have a constant default, so no row is rewritten, whatever the size
// of the table), but one that takes the table's ACCESS EXCLUSIVE lock for
// a moment, once the transactions using the table have ended (the
// statements of running instances that come meanwhile wait behind it, so
// upgrade while no long transaction holds the table). Existing rows read
// as never authenticated, on no known device. Instances of version 2
// still running keep working on the upgraded table (their statements
// name the columns they know; the sessions they create have no metadata),
// but refuse to start on it. Version 4 adds the columns denied and
// denied_until to T_revocations and renewed to T_denied (catalog changes
// again: no table is rewritten), counts each user's existing denied IDs
// into their row (one scan of T_denied, during which the ALTER's lock
// holds back the revocation reads of running instances; a row without a
// mark is created for a user who has none), and replaces the expiry index
// of T_revocations by the purge index. Existing marks stay as they were,
// existing denied IDs stay denied, as revoked, and a user who already has
// more than driver.MaxDenied is refused a Deny until a mark drops them.
// Instances of version 3 still running keep working on the upgraded
// tables (their denials read as revocations and are not counted), but
// their Purge may drop the row, and so the count, of a user who has
// denied IDs but no live mark. A schema newer than this code knows is
// refused with an error wrapping [ErrNewerSchema], so an old binary never
// writes to a table it does not understand.
//
// # Values
//
// The data column is a jsonb object whose keys are the session's keys and
// whose values are JSON strings holding each value's exact encoding by
// [driver.MarshalValue]. Storing the encoding as a string, rather than as
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
// atomically, or a transaction (Update, CapUser). Under READ COMMITTED, a statement that finds its row
// changed by a concurrent one waits for it to commit, then re-checks its
// WHERE clause on the row's latest version and computes its SET
// expressions from that version; the statements below are written so that
// this re-check decides every race. Apply and Renew match only a live
// row (expires later than now), so neither brings back a session that
// another request deleted, revoked or renewed meanwhile.
//
// Apply of a delta that cannot empty the record (no Clear, no Delete, no
// user removed: [driver.Delta.Emptying] is false) is one UPDATE: it
// clears, deletes and sets keys with jsonb operators, sets the user,
// persist flag, creation time and deadline if given, moves last_seen, and
// caps expires at the deadline, all on the row's latest version, so
// concurrent commits that change different keys all survive.
// Every statement that applies a delta (Apply's, and Renew's) does so as
// driver.Delta.ApplyTo does: in particular, a delta that gives the record
// to another, non-empty, user without a Login or a Reauthenticate
// (driver.Delta.ChangesUser) sets authenticated_at to NULL, so that the
// new user never counts as freshly authenticated on the previous user's
// login.
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
// of the old ID fail with an error wrapping both driver.ErrNotFound and
// driver.ErrRenewed.
//
// Delete is one statement that follows the renewals from the ID through
// T_renewed, every one that has not expired, however many (a recursive
// query whose UNION adds each ID once, so it ends on any data, a cycle
// included; each step is a lookup of T_renewed's primary key, through a
// LATERAL subquery, so that a chain of n renewals costs O(n) even where
// the planner would rather scan a small table at each step), deletes the
// rows on that chain (an index scan for id = ANY of them), and reports
// whether one of them was live: deleting an old ID deletes the session
// now under its newest ID, so that a revocation that lost the race to a
// renewal, or to a thousand of them, still ends the session. Of concurrent
// Deletes of one session exactly one reports it. If a concurrent Renew
// moved the row after the statement's snapshot, the statement reports a
// row it saw but could not delete, and Delete runs again, once per such
// race, to follow the new renewal (so does the loser of concurrent
// Deletes, whose second run finds nothing).
//
// Update is one transaction: a SELECT ... FOR UPDATE locks the live row
// (reading its latest version if a concurrent commit changed it) and
// returns the key's encoding; f runs in Go, once, while the row is
// locked; one UPDATE sets the key's new encoding in that row (jsonb ||,
// the encoding by [driver.MarshalValue] as a JSON string, like every
// value); COMMIT. Concurrent Updates, Applies, Renews and Deletes of the
// session wait for the lock, so no update is lost, and an Update that
// waited for a Renew finds no row under the old ID and reports
// driver.ErrRenewed. Update changes neither last_seen nor expires.
//
// CapUser is one transaction: it first takes a transaction-scoped
// advisory lock whose key is a hash of the table and the user, so that
// the CapUsers of one user, from every instance, run one after another,
// even for a user who has no rows yet; then, in a statement of its own
// (whose snapshot, under READ COMMITTED, is taken once the lock is
// granted, and so holds every session written before, and everything
// earlier CapUsers deleted), it lists the user's live sessions through
// the user index, locking their rows (FOR UPDATE: a session that a
// concurrent Renew moved is listed under its new ID, and none is renewed
// away before it is deleted); it picks those to end with
// [driver.OverCap], deletes them and commits. Since every login writes
// its session before its CapUser, the last CapUser to run sees every
// session, and leaves at most the cap.
//
// A user's revocation state is their row of T_revocations (the mark, and
// the count of Denys since it) and their rows of T_denied. Deny is one
// statement: it adds one to the count in the user's row (creating the
// row if there is none) unless driver.MaxDenied were counted since the
// mark, which locks the row, and only then upserts the denied ID
// (keeping the later expiry; a revocation is never weakened into a
// renewal). Concurrent Denys and SetRevocations of a user wait for that
// row lock, and ON CONFLICT judges the limit on the row's latest version,
// so the count is exact. SetRevocation sends, in one round trip, a batch
// of two statements that PostgreSQL runs as one implicit transaction: an
// upsert of the mark that resets the count (taking the row lock), then a
// DELETE of the user's denied IDs but Keep, a statement of its own whose
// snapshot is taken once the lock is held, so that no Deny that committed
// before it survives the mark uncounted. Revocation reads the live mark
// and, of the IDs it is asked about, the live denials, by T_denied's
// primary key, in one query: its cost does not depend on how many IDs
// the user has denied (see TestRevocationReadCostsTheSameWhateverTheDeniedList
// and BenchmarkRevocation).
//
// # Time
//
// Expiry is judged by the application's clock, the one that set the
// record's times, not the database server's: each query passes time.Now.
// A record is never returned at or after its expiry, even before it is
// purged: until then, Load, Apply, Update and Renew of its ID report an
// error wrapping both driver.ErrNotFound and driver.ErrExpired (judged by
// the query that already tells a renewed ID, on the not-found path only).
// Times are stored as timestamptz (microsecond precision).
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
// holding it and a pool connection. An Update or a CapUser whose context
// ends within its transaction closes the connection rather than wait for
// a ROLLBACK: the server rolls the transaction back, and releases its
// locks, when it sees the connection close. A caller that uses the store
// directly bounds its own context; the janitor's purges end when the
// server answers or Close is called.
//
// # Costs
//
// Each statement is one round trip, in every query mode (in pgx's default
// mode the first use of a statement on a connection also prepares it,
// once); so are the BEGIN and COMMIT of a transaction. The statements per
// call:
//
//	Load           1 on the primary key; 2 when no live record exists
//	               (the second tells a renewed ID or an expired record)
//	Save           1 (INSERT ... ON CONFLICT DO UPDATE)
//	Apply          1 (an UPDATE; or lock, then DELETE or UPDATE, for an
//	               emptying delta); 2 when no live record exists
//	Renew          1 (lock, UPDATE of the key, INSERT of the renewal);
//	               2 when no live record exists
//	Delete         1 (the chain of renewals, and a DELETE); one more per
//	               concurrent Renew or Delete that changed the row
//	               meanwhile
//	Update         4 (BEGIN, SELECT ... FOR UPDATE, UPDATE, COMMIT); 4
//	               when no live record exists (BEGIN, SELECT, the
//	               not-found query, ROLLBACK)
//	Sessions       1 on the user index
//	DeleteUser     1 on the user index
//	CapUser        4 (BEGIN, the advisory lock, the list on the user
//	               index, COMMIT); 5 when it ends sessions (a DELETE of
//	               them all)
//	SetRevocation  1 (a batch of 2 statements)
//	Deny           1
//	Revocation     1, on primary keys
//	Purge          1 for the marks, then 1 per batch of 5000 expired
//	               sessions, renewals and denied IDs
//
// Sessions, DeleteUser and CapUser cost O(that user's sessions) whatever
// the size of the table (see BenchmarkRevokeUser). Purge deletes through
// the expiry indexes, in batches, so that a large backlog never holds one
// long transaction.
package pgstore
