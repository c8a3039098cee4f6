// Package sqlitestore is a driver.Store kept in an SQLite database file,
// built on modernc.org/sqlite (pure Go, no cgo). It needs no server and
// survives restarts, which makes it the right store for a single machine:
// one process, or a few processes sharing the file. For several machines,
// use package pgstore or redisstore.
//
// The store implements every optional interface of sesame: delta commits
// (driver.DeltaStore), atomic renewals (driver.Renewer), atomic updates of
// one value (driver.Updater), the per-user index (driver.UserStore) and
// cap (driver.UserCapper), on-demand purging (driver.Purger) and per-user
// revocation marks and denied IDs for cookie-only sessions
// (driver.RevocationStore). Until a purge removes it, a session past its
// expiry is reported by Load, Apply, Update and Renew with
// driver.ErrExpired beside driver.ErrNotFound.
//
// # Setup
//
// [Open] opens (or creates) the file, creates or migrates the schema and
// starts the janitor; [Store.Close] stops the janitor and closes the
// database:
//
//	store, err := sqlitestore.Open(ctx, "sessions.db", sqlitestore.Options{})
//	if err != nil { ... }
//	defer store.Close()
//	sessions := sesame.New(sesame.Config{Store: store})
//
// Open creates a file that does not exist with mode 0600, so that only its
// owner can read the sessions; SQLite gives the -wal and -shm files beside
// it the same mode. An existing file keeps its mode. To share a pool with
// the application, open it with [DSN] and pass it to [New], which leaves
// it open on Close. A pool opened otherwise needs at least WAL and a busy
// timeout on every connection, so that concurrent writers wait for each
// other instead of failing.
//
// Every field of [Options] is optional. CleanupInterval sets how often the
// janitor purges expired rows (5 minutes by default; negative for none:
// expired records are still never returned, and [Store.Purge] removes
// them). Logger takes the janitor's errors and purge counts, never a
// session ID.
//
// # Guarantees
//
// Every write is one statement or one transaction, each atomic with
// respect to every other operation of every process:
//
//   - A commit is one UPDATE that changes only the keys it touched, so
//     concurrent requests that change different keys of one session all
//     survive. It matches only a live row: a commit to a deleted,
//     revoked, renewed or expired session changes nothing and reports
//     driver.ErrNotFound, so a destroyed session never comes back.
//   - Renew and Login move the row to its new ID in one transaction: of
//     concurrent renewals one wins, and the old ID reports
//     driver.ErrRenewed until the old record would have expired. Delete
//     follows every renewal from the ID it is given, however many, so a
//     revocation that lost a race with renewals still ends the session.
//   - Update runs f with the write lock held, once: concurrent
//     sesame.Update calls of one key never lose a change. Keep f quick.
//   - CapUser runs alone too, so concurrent logins under
//     sesame.Config.MaxSessionsPerUser, from any process, leave the user
//     at most the cap.
//   - A revocation read costs the same whatever the number of IDs the
//     user has denied.
//   - A delta that gives the session to another user without a Login or a
//     Reauthenticate clears its authentication time, as
//     driver.Delta.ApplyTo does.
//
// The database runs in WAL mode with synchronous=NORMAL ([DSN] sets both):
// a crash of the process loses nothing committed, while an OS crash or a
// power loss may lose the last commits, never corrupt the file. Writes of
// one Store wait their turn in a queue that honours the caller's context;
// writers of other processes wait for SQLite's lock through the 5 s busy
// timeout, which also gives up when the context ends.
//
// # Schema and upgrades
//
// The store creates its tables itself, all named sesame_*, so the file
// may hold the application's tables too: sesame_sessions (one row per
// session, keyed by its ID, a hash of the token: no token is stored),
// sesame_renewals, sesame_revocations, sesame_denied and sesame_schema,
// which holds the schema version (4).
//
// Opening a database applies the migrations it lacks, in one transaction
// that holds the write lock, so opening is idempotent and safe when several
// processes open a new or old file at once. An upgrade rewrites no
// existing session but the values of a version 1 database (once, in that
// transaction). Sessions from before version 3 have no authentication
// time and no device; denied IDs from before version 4 stay denied, as
// revoked, and a user who already has more than driver.MaxDenied of them
// is refused a Deny until a mark drops them. A database whose schema is
// newer than this package knows is refused with an error rather than
// misread: once a process of a newer version has opened the file, a
// process of an older one can no longer open it.
//
// The vals column is a JSON object mapping each key to a JSON string that
// holds the value's encoding by [driver.MarshalValue]; Load returns each
// value as a json.RawMessage, byte for byte. A value stays readable from
// SQL as json(vals ->> '$.key'). Times are unix milliseconds.
//
// # Costs
//
// Statements per operation, each on a primary key or an index (BEGIN and
// COMMIT counted as one each):
//
//	Load                       1 SELECT; +1 SELECT if not live (renewed? expired?)
//	Save                       1 INSERT ... ON CONFLICT DO UPDATE
//	Apply, touch or additive   1 UPDATE (json_patch); +1 SELECT if not live
//	Apply, emptying delta      BEGIN, UPDATE ... RETURNING, [DELETE], COMMIT
//	Renew                      BEGIN, INSERT ... SELECT, UPDATE, COMMIT
//	                           (not live: BEGIN, INSERT, ROLLBACK, +1 SELECT)
//	Update                     BEGIN, UPDATE ... RETURNING, UPDATE (json_patch), COMMIT
//	                           (not live: BEGIN, UPDATE, ROLLBACK, +1 SELECT)
//	Delete                     1 DELETE (recursive CTE over sesame_renewals)
//	Sessions, DeleteUser       1 statement on the user index
//	CapUser                    BEGIN, DELETE (expired), SELECT, [DELETE], COMMIT
//	SetRevocation              BEGIN, INSERT ... ON CONFLICT DO UPDATE, DELETE, COMMIT
//	Deny                       BEGIN, INSERT ... ON CONFLICT DO UPDATE (the count),
//	                           INSERT ... ON CONFLICT DO UPDATE (the ID), COMMIT
//	                           (at driver.MaxDenied: BEGIN, INSERT, ROLLBACK)
//	Revocation                 1 SELECT (the mark UNION ALL the asked IDs' denials)
//	Purge                      per table (4), 1 DELETE per 1,000 expired rows, at least 1
//
// Sessions, DeleteUser and CapUser cost O(that user's sessions), Purge
// O(expired rows). An Apply costs in proportion to the session's size,
// though far less than a read-modify-write in Go: SQLite rewrites the
// whole row (writing one key into a session of 1,000 keys takes about 3
// times as long as into a 1-key session; see BenchmarkApplyOneKey).
//
// # Operations
//
// Purging: the janitor purges in batches of 1,000 rows, releasing the write
// lock between them, so a large backlog never stalls commits. With
// CleanupInterval negative, call [Store.Purge] yourself (from one process
// is enough).
//
// Backups: in WAL mode the latest commits may sit in the -wal file, so a
// copy of the database file alone, taken while a process has it open, can
// miss them or be torn. Take a backup with VACUUM INTO 'backup.db' (from
// any connection, while the store runs) or with the sqlite3 shell's
// .backup command; or copy the file once every process has closed it.
// Restoring a backup brings back, until they expire, the sessions deleted
// or revoked since it was taken, and loses the revocation marks and denied
// IDs set since: unless that is acceptable, delete the rows of
// sesame_sessions after a restore (everyone logs in again).
//
// Design notes (why each statement is safe, the migrations in detail):
// docs/internals/sqlitestore.md.
package sqlitestore
