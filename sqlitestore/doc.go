// Package sqlitestore is a driver.Store kept in an SQLite database file,
// built on modernc.org/sqlite (pure Go, no cgo). It needs no server and
// survives restarts, which makes it the right store for a single machine:
// one process, or a few processes sharing the file.
//
// The store implements every optional interface of sesame: delta commits
// (driver.DeltaStore), atomic renewals (driver.Renewer), atomic updates of
// one value (driver.Updater), the per-user index (driver.UserStore) and
// cap (driver.UserCapper), on-demand purging (driver.Purger) and per-user
// revocation marks and denied IDs for cookie-only sessions
// (driver.RevocationStore). A janitor goroutine purges expired sessions,
// renewal records, marks and denied IDs periodically until Close. Until a
// purge removes it, a session past its expiry is reported by Load, Apply,
// Update and Renew with driver.ErrExpired beside driver.ErrNotFound.
//
// [Open] creates a database file that does not exist with mode 0600, so
// that only its owner can read the sessions; SQLite gives the -wal and
// -shm files it creates beside it the same mode. An existing file keeps
// its mode.
//
// # Schema
//
// The store creates its tables itself:
//
//	sesame_sessions     one row per session, keyed by its ID
//	sesame_renewals     old ID -> new ID, until the old record would have expired
//	sesame_revocations  one row per user: the revocation mark (revoked_before,
//	                    keep_id, expires; 0 if none), the count of Denys since
//	                    it (denied) and the latest expiry of the user's denied
//	                    IDs (denied_until)
//	sesame_denied       (user, session ID) pairs denied one by one, with
//	                    whether the ID was renewed away (renewed, 0 if revoked)
//	                    and their expiry; primary key (user_id, id)
//	sesame_schema       the schema version (4)
//
// Opening a database applies the migrations it lacks in one transaction
// that holds the write lock from its first statement, so opening is
// idempotent and safe when several processes open a new file at once. A
// migration is DDL plus, where SQL cannot do it exactly, a Go step in the
// same transaction: version 2 rewrites every session's values into the
// encoding below in Go, keeping each value's bytes (2.5, 1e2, an int64
// above 2^53); version 3 adds the columns authenticated_at, user_agent and
// ip to sesame_sessions (ALTER TABLE ... ADD COLUMN, which rewrites no
// row), so that existing sessions have no authentication time and no
// device; version 4 adds the columns denied and denied_until to
// sesame_revocations and renewed to sesame_denied (ADD COLUMN again),
// counts each user's existing denied IDs into their row (creating one,
// without a mark, for a user who has none), and replaces the expiry index
// of sesame_revocations by one on the later of the mark's expiry and
// denied_until: existing marks stay as they were, existing denied IDs
// stay denied, as revoked, and a user who already has more than
// driver.MaxDenied is refused a Deny until a mark drops them. A database
// whose schema is newer than this package knows
// is refused with an error rather than misread. The version lives in a
// table of its own, not in PRAGMA user_version, so the file may hold the
// application's tables too.
//
// Each session is one row keyed by its ID (already a hash of the token; no
// token is ever stored), with its metadata in columns of their own, the
// device's User-Agent and IP included. Times are unix milliseconds in
// INTEGER columns (zero means the zero time). The user is an indexed column (a partial
// index that leaves out sessions without a user), so Sessions and
// DeleteUser cost O(that user's sessions); every table with an expiry has
// an index on it, so Purge costs O(expired rows).
//
// # Values
//
// The vals column is a JSON object mapping each key to a JSON string that
// holds the value's encoding by [driver.MarshalValue], as package pgstore
// does: {"cart":"{\"Items\":[\"a\"]}","n":"9007199254740993"}. Load
// decodes the strings back into json.RawMessages, byte for byte. Values
// are strings so that a delta can be applied inside SQL with json_patch
// (RFC 7396 merge patch): the patch maps deleted keys to null and set keys
// to their encoding as a string, which json_patch replaces wholesale,
// where it would merge a nested object into the old one. A value stays
// readable from SQL as json(vals ->> '$.key').
//
// # Concurrency
//
// SQLite has one writer at a time, and the store is designed around that:
//
//   - The database uses WAL (readers never block the writer, nor the
//     writer readers) and every connection a 5 s busy timeout. [Open] sets
//     both, plus synchronous=NORMAL, through the DSN's _pragma parameters
//     (see [DSN]), so every pooled connection gets them, not only the
//     first. synchronous=NORMAL is safe against process crashes; an OS
//     crash or power loss may lose the last commits, never corrupt the
//     file.
//   - Within a process, writes are serialised by the Store itself, in a
//     queue that honours the caller's context, so concurrent requests wait
//     their turn without polling SQLite's lock. Reads are not serialised.
//   - Between processes (or several Stores on one file) writers meet at
//     SQLite's lock and wait for it through the busy timeout, which gives
//     up early when the caller's context ends. A wait at the start of a
//     transaction can always be retried; a read transaction upgraded to a
//     write cannot (it fails at once with SQLITE_BUSY), so [DSN] sets
//     _txlock=immediate (BEGIN IMMEDIATE), and every transaction the store
//     runs starts with a write anyway, so a caller-owned pool without that
//     setting is safe too.
//   - database/sql watches a call's context from goroutines that may
//     outlive the call, and a caller may reuse its Context value once the
//     call returns (sesame's Manager does), so each method hands
//     database/sql a copy of the caller's context: its Done channel and
//     deadline, read once at the start of the call.
//
// Every write is one statement or one transaction, and SQLite runs them
// one at a time, so each is atomic with respect to every other operation
// of every process. A statement that changes a session matches only a
// live row (WHERE id = ? AND expires > now): a commit to a deleted,
// revoked, renewed or expired session changes nothing and returns an error
// wrapping driver.ErrNotFound, so a destroyed session never comes back.
// Only on that path does the store look further, in one SELECT, to add
// driver.ErrRenewed when the ID was renewed away, or driver.ErrExpired
// when its row is there but expired.
//
// Apply and Renew apply a delta in SQL exactly as driver.Delta.ApplyTo
// does, in their UPDATE: in particular, a delta that gives the record to
// another, non-empty, user without a Login or a Reauthenticate
// (driver.Delta.ChangesUser) clears authenticated_at, so that the new user
// never counts as freshly authenticated on the previous user's login.
//
// [Store.Renew] is one transaction (BEGIN IMMEDIATE with [DSN]; its first
// statement writes in any case, so it holds the write lock throughout): an
// INSERT ... SELECT copies the old ID, the new ID and the old row's expiry
// into sesame_renewals, and inserts nothing unless the old row is live;
// then an UPDATE sets the row's id to the new ID and applies the delta.
// Of concurrent Renews of one ID the first moves the row and the others
// find no live row under the old ID. [Store.Delete] follows
// sesame_renewals from the ID it is given through every renewal that has
// not expired, however many (a recursive CTE whose UNION adds each ID once,
// so it ends on any data, a cycle included; each step is a primary-key
// lookup), and deletes the whole chain in the same statement, so that a
// revocation that lost a race with a renewal, or a thousand of them, still
// ends the session. DeleteUser needs no chain: a renewal moves the row,
// user_id with it.
//
// A user's revocation state is one row of sesame_revocations plus their
// denied IDs. [Store.Deny] is one transaction: an upsert of the user's row
// that adds one to its count unless driver.MaxDenied Denys were counted
// since the mark (then it changes nothing, and Deny rolls back and reports
// false), then an upsert of the (user, id) row; neither depends on the
// length of the list. A second Deny of an ID keeps the later expiry, and
// a revocation (renewed false) is never weakened into a renewal.
// [Store.SetRevocation] is one transaction too: it sets the mark, resets
// the count and drops the user's denied IDs but Keep.
// [Store.Revocation] reads the mark and looks up only the IDs it is asked
// about, by primary key, so that it costs the same whether the user has
// denied no ID or 100,000 (see TestRevocationReadCostsTheSameWhateverTheDeniedList
// and BenchmarkRevocation).
//
// [Store.Update] and [Store.CapUser] read, decide in Go, then write, so
// each is one transaction that takes the write lock with its first
// statement (a write even without BEGIN IMMEDIATE), and so runs alone
// from its read to its write. Update's first statement is a no-op UPDATE
// of the live row that returns the key's encoding (through json_each, so
// any key works, where a JSON path could not name every key); f runs;
// one UPDATE merges the new encoding in with json_patch, as Apply does.
// f runs once, with the write lock held, so it should be quick: 64
// goroutines making 50 Updates each of one key end at exactly 3,200.
// CapUser first deletes the user's expired rows (the write that takes the
// lock), lists the live ones on the user index, picks those to end with
// driver.OverCap and deletes them in one statement, so concurrent
// CapUsers, from any process, leave the user at most n sessions.
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
// An Apply still costs in proportion to the session's size, though far
// less than a read-modify-write in Go: json_patch parses and rewrites the
// whole vals object, and SQLite rewrites the whole row (see
// BenchmarkApplyOneKey: writing one key into a session of 1,000 keys of
// some 40 bytes each takes about 3 times as long as into a 1-key session).
// The frequent statements are prepared once per Store.
package sqlitestore
