package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/internal/janitor"
	"github.com/sesame-go/sesame/internal/jsonvals"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// DefaultCleanupInterval is how often the janitor purges expired sessions
// and revocation marks when Options.CleanupInterval is zero.
const DefaultCleanupInterval = 5 * time.Minute

// purgeBatch is how many rows one purge statement deletes, so a large purge
// never holds the write lock for long.
const purgeBatch = 1000

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// CleanupInterval is how often the janitor purges expired sessions,
	// renewal records, revocation marks and denied IDs. If zero,
	// DefaultCleanupInterval (5m) is used; if negative, there is no
	// janitor (expired records are still never returned, and Purge
	// removes them).
	CleanupInterval time.Duration
	// Logger receives the janitor's errors and purge counts; it never
	// receives a session ID. If nil, slog.Default() is used.
	Logger *slog.Logger
}

// Store is a session store in an SQLite database. The zero value is not
// usable; call Open or New. It is safe for concurrent use, also by several
// processes sharing the database file.
type Store struct {
	db    *sql.DB
	owned bool // Close closes db
	log   *slog.Logger

	stmt  stmts
	write chan struct{} // a one-slot semaphore held by each write

	janitor   *janitor.Janitor
	closeOnce sync.Once
	closeErr  error
}

var (
	_ driver.Store           = (*Store)(nil)
	_ driver.DeltaStore      = (*Store)(nil)
	_ driver.Renewer         = (*Store)(nil)
	_ driver.Updater         = (*Store)(nil)
	_ driver.UserStore       = (*Store)(nil)
	_ driver.UserDeleter     = (*Store)(nil)
	_ driver.UserCapper      = (*Store)(nil)
	_ driver.Purger          = (*Store)(nil)
	_ driver.RevocationStore = (*Store)(nil)
)

// DSN returns the data source name that Open uses for the database file at
// path: WAL, a 5 s busy timeout, synchronous=NORMAL and BEGIN IMMEDIATE
// transactions, set on every connection of the pool. Use it to open a pool
// for New yourself:
//
//	db, err := sql.Open("sqlite", sqlitestore.DSN("sessions.db"))
func DSN(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows volume: file:///C:/...
	}
	// A file: URI, so that a '?' or '#' in the path is escaped rather than
	// taken for the start of the parameters.
	p = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
	return "file://" + p + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)&_txlock=immediate"
}

// Open opens the SQLite database file at path with the settings of [DSN],
// creates or migrates the store's schema, and starts the janitor. If the
// file does not exist, Open creates it with mode 0600 (owner only), and
// SQLite gives its -wal and -shm files the same mode. Close stops the
// janitor and closes the database.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if err := createFile(path); err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	s, err := newStore(ctx, db, true, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// createFile creates an empty database file at path, readable by its owner
// only, unless a file is there already. An empty file is an empty SQLite
// database; SQLite creates the -wal and -shm files with the main file's
// mode.
func createFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// New returns a Store on db, a database/sql pool of the "sqlite" driver
// (modernc.org/sqlite) that the caller owns and closes after the Store. It
// creates or migrates the schema and starts the janitor; Close stops the
// janitor but leaves db open. Open db with [DSN], or at least with WAL and
// a busy timeout on every connection, so that concurrent writers wait for
// each other instead of failing. The caller creates the file, with the
// mode it wants.
func New(ctx context.Context, db *sql.DB, opts Options) (*Store, error) {
	return newStore(ctx, db, false, opts)
}

func newStore(ctx context.Context, db *sql.DB, owned bool, opts Options) (*Store, error) {
	if err := migrateRetrying(ctx, db); err != nil {
		return nil, err
	}
	stmt, err := prepare(ctx, db)
	if err != nil {
		return nil, err
	}
	s := &Store{
		stmt:  stmt,
		db:    db,
		owned: owned,
		log:   opts.Logger,
		write: make(chan struct{}, 1),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.janitor = janitor.Start(janitor.Interval(opts.CleanupInterval, DefaultCleanupInterval), s.Purge, s.log, "sqlitestore")
	return s, nil
}

// The statements of the store, most prepared once per Store (see stmts).
// The numbered parameters are listed with each.
const (
	// loadQuery reads a live record. ?1 id, ?2 now.
	loadQuery = `SELECT user_id, vals, created, last_seen, deadline, expires, persist,
			authenticated_at, user_agent, ip
		FROM sesame_sessions WHERE id = ?1 AND expires > ?2`
	// missingQuery tells why an ID has no live record: whether it was
	// renewed away while the old record would still be live, and whether
	// its record is still there but expired. ?1 id, ?2 now.
	missingQuery = `SELECT EXISTS (SELECT 1 FROM sesame_renewals WHERE id = ?1 AND expires > ?2),
		EXISTS (SELECT 1 FROM sesame_sessions WHERE id = ?1 AND expires <= ?2)`
	// saveQuery creates or replaces a record. ?1 id, ?2 user, ?3 values,
	// ?4 created, ?5 last seen, ?6 deadline, ?7 expires, ?8 persist, ?9
	// authenticated at, ?10 user agent, ?11 IP.
	saveQuery = `INSERT INTO sesame_sessions
		(id, user_id, vals, created, last_seen, deadline, expires, persist, authenticated_at, user_agent, ip)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
		ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, vals = excluded.vals,
			created = excluded.created, last_seen = excluded.last_seen,
			deadline = excluded.deadline, expires = excluded.expires, persist = excluded.persist,
			authenticated_at = excluded.authenticated_at, user_agent = excluded.user_agent, ip = excluded.ip`
	// deltaSet applies a driver.Delta as Delta.ApplyTo does; every column
	// on the right is the row's old value. The values: Clear empties
	// them, then json_patch applies the patch (deleted keys map to null,
	// set keys to their encoding as a JSON string, which merge-patch
	// replaces wholesale); a NULL patch (a touch) leaves them alone.
	// Expires is capped at the deadline, the new one if the delta sets
	// one. A delta that gives the record to another, non-empty, user
	// without authenticating (driver.Delta.ChangesUser) clears
	// authenticated_at. Parameters: ?3 clear, ?4 patch (NULL: no value
	// changes), ?5 user (NULL keeps it), ?6 persist (NULL keeps it), ?7
	// created (0 keeps it), ?8 deadline (0 keeps it), ?9 last seen, ?10
	// expires, ?11 authenticated at (0 keeps it, unless the user changes),
	// ?12 and ?13 the device's user agent and IP (both NULL keep the
	// device).
	deltaSet = `vals = CASE WHEN ?4 IS NULL THEN vals
			ELSE json_patch(CASE WHEN ?3 THEN '{}' ELSE vals END, ?4) END,
		user_id = coalesce(?5, user_id),
		persist = coalesce(?6, persist),
		created = CASE WHEN ?7 <> 0 THEN ?7 ELSE created END,
		deadline = CASE WHEN ?8 <> 0 THEN ?8 ELSE deadline END,
		authenticated_at = CASE WHEN ?11 <> 0 THEN ?11
			WHEN ?5 IS NOT NULL AND ?5 <> '' AND ?5 <> user_id THEN 0
			ELSE authenticated_at END,
		user_agent = coalesce(?12, user_agent),
		ip = coalesce(?13, ip),
		last_seen = ?9,
		expires = CASE WHEN ?8 <> 0 THEN min(?8, ?10) WHEN deadline <> 0 THEN min(deadline, ?10) ELSE ?10 END`
	// applyQuery applies a delta to a live record. ?1 id, ?2 now, then
	// deltaSet's.
	applyQuery = `UPDATE sesame_sessions SET ` + deltaSet + ` WHERE id = ?1 AND expires > ?2`
	// applyEmptyingQuery is applyQuery reporting whether the record is
	// now empty: no values and no user.
	applyEmptyingQuery = applyQuery + ` RETURNING vals = '{}' AND user_id = ''`
	// deleteIDQuery deletes one record. ?1 id.
	deleteIDQuery = `DELETE FROM sesame_sessions WHERE id = ?1`
	// renewMarkQuery remembers that a live record is renewed away, until
	// it would have expired; it inserts nothing if the record is not
	// live. ?1 old id, ?2 now, ?3 new id.
	renewMarkQuery = `INSERT INTO sesame_renewals (id, new_id, expires)
		SELECT id, ?3, expires FROM sesame_sessions WHERE id = ?1 AND expires > ?2
		ON CONFLICT (id) DO UPDATE SET new_id = excluded.new_id, expires = excluded.expires`
	// renewMoveQuery moves a live record to its new ID with a delta
	// applied, replacing any record under the new ID. ?1 old id, ?2 now,
	// deltaSet's, ?14 new id.
	renewMoveQuery = `UPDATE OR REPLACE sesame_sessions SET id = ?14, ` + deltaSet + ` WHERE id = ?1 AND expires > ?2`
	// deleteQuery deletes the record under an ID or, if the ID was
	// renewed, under the ID it was renewed to, following every renewal
	// that has not expired, however many: the chain is a recursive CTE
	// whose UNION (not UNION ALL) adds each ID once, so that it ends on
	// any data, a cycle included. It returns one row per record deleted,
	// true if it was live. ?1 id, ?2 now.
	deleteQuery = `WITH RECURSIVE chain (id) AS (
			SELECT ?1
			UNION
			SELECT r.new_id FROM sesame_renewals r JOIN chain c ON r.id = c.id WHERE r.expires > ?2
		)
		DELETE FROM sesame_sessions WHERE id IN (SELECT id FROM chain) RETURNING expires > ?2`
	// revocationQuery reads a user's live revocation mark (kind 0) and,
	// of the IDs asked about, those denied and live (kind 1, with
	// whether they were renewed away), in one query of primary keys: its
	// cost does not depend on how many IDs the user has denied. The unary
	// + keeps the planner from using the expiry index for the denied IDs
	// (which would walk every live denial), whatever the statistics.
	// ?1 user, ?2 now, ?3 the IDs, as a JSON array.
	revocationQuery = `SELECT 0, revoked_before, keep_id, expires FROM sesame_revocations
			WHERE user_id = ?1 AND expires > ?2
		UNION ALL
		SELECT 1, renewed, id, 0 FROM sesame_denied
			WHERE user_id = ?1 AND id IN (SELECT value FROM json_each(?3)) AND +expires > ?2`
	// setRevocationQuery sets a user's mark and starts the count of its
	// Denys again; denied_until, the latest expiry of its denied IDs,
	// stays. ?1 user, ?2 before, ?3 keep, ?4 expires.
	setRevocationQuery = `INSERT INTO sesame_revocations (user_id, revoked_before, keep_id, expires)
		VALUES (?1, ?2, ?3, ?4)
		ON CONFLICT (user_id) DO UPDATE SET revoked_before = excluded.revoked_before,
			keep_id = excluded.keep_id, expires = excluded.expires, denied = 0`
	// dropDeniedQuery drops a user's denied IDs but the mark's Keep,
	// after SetRevocation. ?1 user, ?2 keep.
	dropDeniedQuery = `DELETE FROM sesame_denied WHERE user_id = ?1 AND id <> ?2`
	// updateReadQuery starts an Update: it reads the value of a key of a
	// live record, NULL if it has none. It is a no-op UPDATE, so that the
	// transaction holds the write lock from its first statement even if
	// it began DEFERRED. ?1 id, ?2 now, ?3 key.
	updateReadQuery = `UPDATE sesame_sessions SET vals = vals WHERE id = ?1 AND expires > ?2
		RETURNING (SELECT value FROM json_each(vals) WHERE key = ?3 AND type = 'text')`
	// updateWriteQuery ends an Update: it merges one key's new encoding
	// into the values. ?1 id, ?2 the patch, {key: encoding}.
	updateWriteQuery = `UPDATE sesame_sessions SET vals = json_patch(vals, ?2) WHERE id = ?1`
	// denyCountQuery starts a Deny: it counts one more Deny in the
	// user's row of sesame_revocations (creating one without a mark if
	// there is none), unless MaxDenied were counted since the mark, and
	// extends denied_until. It changes no row when the user is at the
	// limit. ?1 user, ?2 expires, ?3 the limit.
	denyCountQuery = `INSERT INTO sesame_revocations (user_id, revoked_before, keep_id, expires, denied, denied_until)
		VALUES (?1, 0, '', 0, 1, ?2)
		ON CONFLICT (user_id) DO UPDATE SET denied = denied + 1, denied_until = max(denied_until, excluded.denied_until)
		WHERE denied < ?3`
	// denyQuery adds a denied ID, or merges a second Deny of it into its
	// entry: a revocation is never weakened to a renewal, nor shortened.
	// ?1 user, ?2 id, ?3 renewed, ?4 expires.
	denyQuery = `INSERT INTO sesame_denied (user_id, id, renewed, expires) VALUES (?1, ?2, ?3, ?4)
		ON CONFLICT (user_id, id) DO UPDATE SET renewed = renewed AND excluded.renewed,
			expires = max(expires, excluded.expires)`
)

// stmts are the prepared statements of the frequent operations: preparing
// once saves parsing and planning the SQL on every call.
type stmts struct {
	load, missing, save, apply, applyEmptying, deleteID *sql.Stmt
	renewMark, renewMove, del, updateRead, updateWrite  *sql.Stmt
	revocation, setRevocation, dropDenied               *sql.Stmt
	denyCount, deny                                     *sql.Stmt
}

func (st *stmts) all() []struct {
	dst   **sql.Stmt
	query string
} {
	return []struct {
		dst   **sql.Stmt
		query string
	}{
		{&st.load, loadQuery}, {&st.missing, missingQuery}, {&st.save, saveQuery},
		{&st.apply, applyQuery}, {&st.applyEmptying, applyEmptyingQuery}, {&st.deleteID, deleteIDQuery},
		{&st.renewMark, renewMarkQuery}, {&st.renewMove, renewMoveQuery}, {&st.del, deleteQuery},
		{&st.updateRead, updateReadQuery}, {&st.updateWrite, updateWriteQuery},
		{&st.revocation, revocationQuery}, {&st.setRevocation, setRevocationQuery}, {&st.dropDenied, dropDeniedQuery},
		{&st.denyCount, denyCountQuery}, {&st.deny, denyQuery},
	}
}

func prepare(ctx context.Context, db *sql.DB) (stmts, error) {
	var st stmts
	for _, p := range st.all() {
		stmt, err := db.PrepareContext(ctx, p.query)
		if err != nil {
			st.close()
			return stmts{}, fmt.Errorf("sqlitestore: prepare: %w", err)
		}
		*p.dst = stmt
	}
	return st, nil
}

func (st *stmts) close() error {
	var errs []error
	for _, p := range st.all() {
		if *p.dst != nil {
			errs = append(errs, (*p.dst).Close())
		}
	}
	return errors.Join(errs...)
}

// Close stops what the store started (its janitor, waiting for a purge in
// progress to end) and closes what it opened (its prepared statements, and
// the database if Open opened it); it leaves alone what the caller passed
// to it. Use the store no more after Close. Close may be called more than
// once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.janitor.Stop()
		s.closeErr = s.stmt.close()
		if s.owned {
			s.closeErr = errors.Join(s.closeErr, s.db.Close())
		}
	})
	return s.closeErr
}

// callCtx returns a context that behaves as ctx for the length of a call
// and stays safe to use after it returns. database/sql consults the
// context it is given from goroutines of its own, which may run after the
// call has returned (Rows.awaitDone calls Done and Err; context.WithCancel
// on a Context type it does not know starts a goroutine that calls Done),
// while a caller may reuse its Context value once the call has returned
// (sesame's Manager does). The copy reads ctx's Done channel and deadline
// once, now; it shares ctx's values.
func callCtx(ctx context.Context) context.Context {
	done := ctx.Done()
	if done == nil {
		return ctx // never cancelled: database/sql starts no goroutine
	}
	c := &frozenCtx{parent: ctx, done: done}
	c.deadline, c.hasDeadline = ctx.Deadline()
	return c
}

// frozenCtx is what callCtx returns.
type frozenCtx struct {
	parent      context.Context // for Value only
	done        <-chan struct{}
	deadline    time.Time
	hasDeadline bool
}

func (c *frozenCtx) Deadline() (time.Time, bool) { return c.deadline, c.hasDeadline }
func (c *frozenCtx) Done() <-chan struct{}       { return c.done }
func (c *frozenCtx) Value(key any) any           { return c.parent.Value(key) }

func (c *frozenCtx) Err() error {
	select {
	case <-c.done:
	default:
		return nil
	}
	if c.hasDeadline && !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return context.Canceled
}

// lock takes the write semaphore, or fails when ctx ends first. The
// returned function releases it.
func (s *Store) lock(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case s.write <- struct{}{}:
		return func() { <-s.write }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ms returns t as unix milliseconds, and 0 for the zero time.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS is the inverse of ms.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

// encodePatch returns the JSON merge patch of a delta's key changes:
// deleted keys map to null, set keys to their encoding as a JSON string
// (Set wins over Delete, as in Delta.ApplyTo). It returns nil, for SQL
// NULL, when the delta changes no keys (a touch).
func encodePatch(d *driver.Delta) (any, error) {
	if !d.Clear && len(d.Delete) == 0 && len(d.Set) == 0 {
		return nil, nil
	}
	patch := make(map[string]any, len(d.Delete)+len(d.Set))
	for _, k := range d.Delete {
		patch[k] = nil
	}
	for k, v := range d.Set {
		b, err := driver.MarshalValue(v)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: value %q: %w", k, err)
		}
		patch[k] = string(b)
	}
	b, err := json.Marshal(patch)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: encode delta: %w", err)
	}
	return string(b), nil
}

// deltaArgs returns the arguments of applyQuery (and, with newID appended,
// renewMoveQuery) for d.
func deltaArgs(id string, now int64, d *driver.Delta) ([]any, error) {
	patch, err := encodePatch(d)
	if err != nil {
		return nil, err
	}
	var user, persist, ua, ip any
	if d.User != nil {
		user = *d.User
	}
	if d.Persist != nil {
		persist = *d.Persist
	}
	if d.Device != nil {
		ua, ip = d.Device.UserAgent, d.Device.IP
	}
	return []any{id, now, d.Clear, patch, user, persist, ms(d.Created), ms(d.Deadline), ms(d.LastSeen), ms(d.Expires),
		ms(d.AuthenticatedAt), ua, ip}, nil
}

// missing returns the error of an operation that found no live record
// under id: it wraps driver.ErrNotFound and, if id was renewed away,
// driver.ErrRenewed, or, if its record is still there but expired (not
// yet purged), driver.ErrExpired. It reads the renewal table and the
// record's expiry in one query, only on this path.
func (s *Store) missing(ctx context.Context, op, id string, now int64) error {
	var renewed, expired bool
	if err := s.stmt.missing.QueryRowContext(ctx, id, now).Scan(&renewed, &expired); err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	switch {
	case renewed:
		return fmt.Errorf("sqlitestore: %s: %w: %w", op, driver.ErrNotFound, driver.ErrRenewed)
	case expired:
		return fmt.Errorf("sqlitestore: %s: %w: %w", op, driver.ErrNotFound, driver.ErrExpired)
	}
	return fmt.Errorf("sqlitestore: %s: %w", op, driver.ErrNotFound)
}

// Load implements driver.Store: one SELECT by primary key, and one more
// if there is no live record, to tell a renewed ID (driver.ErrRenewed) or
// an expired record (driver.ErrExpired) from an unknown ID. Values are
// returned as json.RawMessage.
func (s *Store) Load(ctx context.Context, id string) (*driver.Record, error) {
	ctx = callCtx(ctx)
	var (
		rec                                       driver.Record
		vals                                      string
		created, lastSeen, deadline, expire, auth int64
	)
	now := time.Now().UnixMilli()
	err := s.stmt.load.QueryRowContext(ctx, id, now).
		Scan(&rec.User, &vals, &created, &lastSeen, &deadline, &expire, &rec.Persist,
			&auth, &rec.Device.UserAgent, &rec.Device.IP)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, s.missing(ctx, "load", id, now)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: load: %w", err)
	}
	if rec.Values, err = decodeValues(vals); err != nil {
		return nil, err
	}
	rec.Created, rec.LastSeen = fromMS(created), fromMS(lastSeen)
	rec.Deadline, rec.Expires = fromMS(deadline), fromMS(expire)
	rec.AuthenticatedAt = fromMS(auth)
	return &rec, nil
}

// Save implements driver.Store: one INSERT ... ON CONFLICT DO UPDATE.
func (s *Store) Save(ctx context.Context, id string, rec *driver.Record) error {
	ctx = callCtx(ctx)
	vals, err := encodeValues(rec.Values)
	if err != nil {
		return err
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return fmt.Errorf("sqlitestore: save: %w", err)
	}
	defer unlock()
	_, err = s.stmt.save.ExecContext(ctx, id, rec.User, vals, ms(rec.Created), ms(rec.LastSeen), ms(rec.Deadline), ms(rec.Expires), rec.Persist,
		ms(rec.AuthenticatedAt), rec.Device.UserAgent, rec.Device.IP)
	if err != nil {
		return fmt.Errorf("sqlitestore: save: %w", err)
	}
	return nil
}

// Apply implements driver.DeltaStore. A touch or an additive delta is one
// UPDATE statement, which merges the key changes into the stored values
// with json_patch. A delta that can empty the record (d.Emptying) is one
// transaction: the same UPDATE, returning whether the record is now empty,
// then a DELETE if it is. If no live record exists Apply changes nothing
// and returns an error wrapping driver.ErrNotFound (and driver.ErrRenewed
// if id was renewed away).
func (s *Store) Apply(ctx context.Context, id string, d *driver.Delta) (bool, error) {
	ctx = callCtx(ctx)
	now := time.Now().UnixMilli()
	args, err := deltaArgs(id, now, d)
	if err != nil {
		return false, err
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: apply: %w", err)
	}
	defer unlock()
	if !d.Emptying() {
		res, err := s.stmt.apply.ExecContext(ctx, args...)
		if err != nil {
			return false, fmt.Errorf("sqlitestore: apply: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return false, fmt.Errorf("sqlitestore: apply: %w", err)
		}
		if n == 0 {
			return false, s.missing(ctx, "apply", id, now)
		}
		return false, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: apply: %w", err)
	}
	defer tx.Rollback()
	// The first statement writes, so the transaction holds the write lock
	// from its start even if it began DEFERRED.
	var empty bool
	err = tx.StmtContext(ctx, s.stmt.applyEmptying).QueryRowContext(ctx, args...).Scan(&empty)
	if errors.Is(err, sql.ErrNoRows) {
		tx.Rollback()
		return false, s.missing(ctx, "apply", id, now)
	}
	if err != nil {
		return false, fmt.Errorf("sqlitestore: apply: %w", err)
	}
	if empty {
		if _, err := tx.StmtContext(ctx, s.stmt.deleteID).ExecContext(ctx, id); err != nil {
			return false, fmt.Errorf("sqlitestore: apply: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlitestore: apply: %w", err)
	}
	return empty, nil
}

// Renew implements driver.Renewer, in one transaction (BEGIN IMMEDIATE
// with [DSN]; its first statement writes in any case): an INSERT ...
// SELECT remembers oldID in the renewal table, with the old record's
// expiry, if and only if the old record is live; then one UPDATE moves the
// row to newID with d applied. If the INSERT found no live record, Renew
// rolls back and returns an error wrapping driver.ErrNotFound, and
// driver.ErrRenewed if oldID was renewed before.
func (s *Store) Renew(ctx context.Context, oldID, newID string, d *driver.Delta) error {
	ctx = callCtx(ctx)
	now := time.Now().UnixMilli()
	args, err := deltaArgs(oldID, now, d)
	if err != nil {
		return err
	}
	args = append(args, newID)
	unlock, err := s.lock(ctx)
	if err != nil {
		return fmt.Errorf("sqlitestore: renew: %w", err)
	}
	defer unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: renew: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.StmtContext(ctx, s.stmt.renewMark).ExecContext(ctx, oldID, now, newID)
	if err != nil {
		return fmt.Errorf("sqlitestore: renew: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlitestore: renew: %w", err)
	} else if n == 0 {
		tx.Rollback()
		return s.missing(ctx, "renew", oldID, now)
	}
	res, err = tx.StmtContext(ctx, s.stmt.renewMove).ExecContext(ctx, args...)
	if err != nil {
		return fmt.Errorf("sqlitestore: renew: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlitestore: renew: %w", err)
	} else if n != 1 {
		return fmt.Errorf("sqlitestore: renew: moved %d records, want 1", n)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: renew: %w", err)
	}
	return nil
}

// Delete implements driver.Store, in one DELETE statement: if id was
// renewed, it follows the renewals (a recursive CTE, through the whole
// chain, however long) and deletes the session at the end of it. It
// reports whether it deleted a live record.
func (s *Store) Delete(ctx context.Context, id string) (bool, error) {
	ctx = callCtx(ctx)
	unlock, err := s.lock(ctx)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: delete: %w", err)
	}
	defer unlock()
	rows, err := s.stmt.del.QueryContext(ctx, id, time.Now().UnixMilli())
	if err != nil {
		return false, fmt.Errorf("sqlitestore: delete: %w", err)
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		var live bool
		if err := rows.Scan(&live); err != nil {
			return false, fmt.Errorf("sqlitestore: delete: %w", err)
		}
		found = found || live
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("sqlitestore: delete: %w", err)
	}
	return found, nil
}

// Update implements driver.Updater, in one transaction that holds the
// write lock from its first statement: a no-op UPDATE of the live record
// returns the key's current encoding, f runs, and one UPDATE merges the
// new encoding into the values with json_patch, as Apply does. f runs
// once, with the lock held. If no live record exists Update changes
// nothing and returns an error wrapping driver.ErrNotFound (and
// driver.ErrRenewed or driver.ErrExpired, as Load does); if f fails it
// changes nothing and returns f's error as it is. Update changes no
// metadata: not LastSeen, not Expires.
func (s *Store) Update(ctx context.Context, id, key string, f func(old any, ok bool) (any, error)) (any, error) {
	ctx = callCtx(ctx)
	unlock, err := s.lock(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: update: %w", err)
	}
	defer unlock()
	now := time.Now().UnixMilli()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: update: %w", err)
	}
	defer tx.Rollback()
	var enc sql.NullString
	err = tx.StmtContext(ctx, s.stmt.updateRead).QueryRowContext(ctx, id, now, key).Scan(&enc)
	if errors.Is(err, sql.ErrNoRows) {
		tx.Rollback()
		return nil, s.missing(ctx, "update", id, now)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: update: %w", err)
	}
	var old any
	if enc.Valid {
		old = json.RawMessage(enc.String)
	}
	v, err := f(old, enc.Valid)
	if err != nil {
		return nil, err
	}
	b, err := driver.MarshalValue(v)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: update: value %q: %w", key, err)
	}
	patch, err := json.Marshal(map[string]string{key: string(b)})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: update: %w", err)
	}
	if _, err := tx.StmtContext(ctx, s.stmt.updateWrite).ExecContext(ctx, id, string(patch)); err != nil {
		return nil, fmt.Errorf("sqlitestore: update: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlitestore: update: %w", err)
	}
	return v, nil
}

// sessionsQuery lists a user's live sessions through the user index: the
// term requiring a non-empty user_id lets SQLite use the partial index.
// ?1 user, ?2 now.
const sessionsQuery = `SELECT id, created, last_seen, expires, authenticated_at, user_agent, ip
	FROM sesame_sessions WHERE user_id = ?1 AND user_id <> '' AND expires > ?2`

// capExpiredQuery deletes a user's expired sessions through the user
// index: the first statement of CapUser, a write, so that its transaction
// holds the write lock throughout. ?1 user, ?2 now.
const capExpiredQuery = `DELETE FROM sesame_sessions WHERE user_id = ?1 AND user_id <> '' AND expires <= ?2`

// capDeleteQuery deletes the sessions whose IDs ?1 lists, as a JSON array.
const capDeleteQuery = `DELETE FROM sesame_sessions WHERE id IN (SELECT value FROM json_each(?1))`

// deleteUserQuery deletes a user's sessions but one through the user
// index. ?1 user, ?2 the ID to keep.
const deleteUserQuery = `DELETE FROM sesame_sessions WHERE user_id = ?1 AND user_id <> '' AND id <> ?2`

// Sessions implements driver.UserStore. It reads only user's rows, through
// the user index. Sessions without a user are not indexed: Sessions("")
// lists none.
func (s *Store) Sessions(ctx context.Context, user string) ([]driver.Info, error) {
	ctx = callCtx(ctx)
	list, err := sessions(ctx, s.db, user, time.Now().UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: sessions: %w", err)
	}
	return list, nil
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// sessions lists the live sessions of user with sessionsQuery.
func sessions(ctx context.Context, q querier, user string, now int64) ([]driver.Info, error) {
	rows, err := q.QueryContext(ctx, sessionsQuery, user, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []driver.Info
	for rows.Next() {
		var created, lastSeen, expires, auth int64
		info := driver.Info{User: user}
		if err := rows.Scan(&info.ID, &created, &lastSeen, &expires, &auth, &info.Device.UserAgent, &info.Device.IP); err != nil {
			return nil, err
		}
		info.Created, info.LastSeen, info.Expires = fromMS(created), fromMS(lastSeen), fromMS(expires)
		info.AuthenticatedAt = fromMS(auth)
		list = append(list, info)
	}
	return list, rows.Err()
}

// CapUser implements driver.UserCapper, in one transaction that holds the
// write lock from its first statement, so that concurrent CapUsers, from
// this process or others, run one after the other: it deletes the user's
// expired sessions (the write that takes the lock), lists the live ones
// through the user index, picks those to end with driver.OverCap, deletes
// them in one statement and returns them.
func (s *Store) CapUser(ctx context.Context, user, keep string, n int, refuse bool) ([]driver.Info, error) {
	ctx = callCtx(ctx)
	unlock, err := s.lock(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: cap user: %w", err)
	}
	defer unlock()
	now := time.Now().UnixMilli()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: cap user: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, capExpiredQuery, user, now); err != nil {
		return nil, fmt.Errorf("sqlitestore: cap user: %w", err)
	}
	live, err := sessions(ctx, tx, user, now)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: cap user: %w", err)
	}
	ended := driver.OverCap(live, keep, n, refuse)
	if len(ended) > 0 {
		ids := make([]string, len(ended))
		for i, in := range ended {
			ids[i] = in.ID
		}
		b, err := json.Marshal(ids)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: cap user: %w", err)
		}
		if _, err := tx.ExecContext(ctx, capDeleteQuery, string(b)); err != nil {
			return nil, fmt.Errorf("sqlitestore: cap user: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlitestore: cap user: %w", err)
	}
	return ended, nil
}

// DeleteUser implements driver.UserDeleter. It touches only user's rows,
// through the user index. Expired sessions not yet purged are deleted and
// counted too. DeleteUser("", keep) deletes nothing.
func (s *Store) DeleteUser(ctx context.Context, user, keep string) (int, error) {
	ctx = callCtx(ctx)
	unlock, err := s.lock(ctx)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: delete user: %w", err)
	}
	defer unlock()
	res, err := s.db.ExecContext(ctx, deleteUserQuery, user, keep)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: delete user: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: delete user: %w", err)
	}
	return int(n), nil
}

// The purge statements each delete up to a batch of expired rows of one
// table through its expiry index. ?1 now, ?2 the batch size.
const (
	purgeQuery = `DELETE FROM sesame_sessions WHERE id IN
		(SELECT id FROM sesame_sessions WHERE expires <= ?1 LIMIT ?2)`
	purgeRenewalsQuery = `DELETE FROM sesame_renewals WHERE id IN
		(SELECT id FROM sesame_renewals WHERE expires <= ?1 LIMIT ?2)`
	purgeMarksQuery = `DELETE FROM sesame_revocations WHERE user_id IN
		(SELECT user_id FROM sesame_revocations WHERE max(expires, denied_until) <= ?1 LIMIT ?2)`
	purgeDeniedQuery = `DELETE FROM sesame_denied WHERE rowid IN
		(SELECT rowid FROM sesame_denied WHERE expires <= ?1 LIMIT ?2)`
)

// Purge implements driver.Purger: it deletes expired sessions, renewal
// records, revocation marks and denied IDs, and returns how many sessions
// it deleted. It deletes in batches of 1,000 rows, one statement each,
// releasing the write lock between them, so that a large purge does not
// stall commits.
func (s *Store) Purge(ctx context.Context) (int, error) {
	ctx = callCtx(ctx)
	now := time.Now().UnixMilli()
	sessions := 0
	for i, query := range []string{purgeQuery, purgeRenewalsQuery, purgeMarksQuery, purgeDeniedQuery} {
		for {
			n, err := s.purgeOnce(ctx, query, now, purgeBatch)
			if i == 0 {
				sessions += n
			}
			if err != nil {
				return sessions, fmt.Errorf("sqlitestore: purge: %w", err)
			}
			if n < purgeBatch {
				break
			}
		}
	}
	return sessions, nil
}

func (s *Store) purgeOnce(ctx context.Context, query string, args ...any) (int, error) {
	unlock, err := s.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// SetRevocation implements driver.RevocationStore, in one transaction
// that holds the write lock: an INSERT ... ON CONFLICT DO UPDATE sets the
// user's mark and starts the count of its Denys again, then a DELETE drops
// the user's denied IDs but r.Keep.
func (s *Store) SetRevocation(ctx context.Context, user string, r driver.Revocation) error {
	ctx = callCtx(ctx)
	unlock, err := s.lock(ctx)
	if err != nil {
		return fmt.Errorf("sqlitestore: set revocation: %w", err)
	}
	defer unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: set revocation: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.StmtContext(ctx, s.stmt.setRevocation).ExecContext(ctx, user, ms(r.Before), r.Keep, ms(r.Expires)); err != nil {
		return fmt.Errorf("sqlitestore: set revocation: %w", err)
	}
	if _, err := tx.StmtContext(ctx, s.stmt.dropDenied).ExecContext(ctx, user, r.Keep); err != nil {
		return fmt.Errorf("sqlitestore: set revocation: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: set revocation: %w", err)
	}
	return nil
}

// Deny implements driver.RevocationStore, in one transaction that holds
// the write lock: an upsert of the user's row in sesame_revocations counts
// the Deny there, unless driver.MaxDenied were counted since the user's
// last mark, in which case Deny rolls back and returns false; then an
// upsert of the (user, id) row denies id. Both are primary-key writes,
// whatever the length of the list. A second Deny of an ID keeps the later
// expiry, and a revocation (renewed false) wins over a renewal.
func (s *Store) Deny(ctx context.Context, user, id string, renewed bool, expires time.Time) (bool, error) {
	ctx = callCtx(ctx)
	unlock, err := s.lock(ctx)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: deny: %w", err)
	}
	defer unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: deny: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.StmtContext(ctx, s.stmt.denyCount).ExecContext(ctx, user, ms(expires), driver.MaxDenied)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: deny: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, fmt.Errorf("sqlitestore: deny: %w", err)
	} else if n == 0 {
		return false, nil // at the limit: the deferred Rollback undoes nothing
	}
	if _, err := tx.StmtContext(ctx, s.stmt.deny).ExecContext(ctx, user, id, renewed, ms(expires)); err != nil {
		return false, fmt.Errorf("sqlitestore: deny: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlitestore: deny: %w", err)
	}
	return true, nil
}

// Revocation implements driver.RevocationStore: one query returns the
// user's live mark and, of ids, those denied and live, each looked up by
// its primary key (user, id), so that its cost does not depend on how
// many IDs the user has denied.
func (s *Store) Revocation(ctx context.Context, user string, ids ...string) (driver.Revocation, error) {
	ctx = callCtx(ctx)
	if ids == nil {
		ids = []string{}
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return driver.Revocation{}, fmt.Errorf("sqlitestore: revocation: %w", err)
	}
	rows, err := s.stmt.revocation.QueryContext(ctx, user, time.Now().UnixMilli(), string(list))
	if err != nil {
		return driver.Revocation{}, fmt.Errorf("sqlitestore: revocation: %w", err)
	}
	defer rows.Close()
	var r driver.Revocation
	for rows.Next() {
		var (
			kind            int
			before, expires int64 // for a denied ID, before is renewed
			id              string
		)
		if err := rows.Scan(&kind, &before, &id, &expires); err != nil {
			return driver.Revocation{}, fmt.Errorf("sqlitestore: revocation: %w", err)
		}
		if kind == 0 {
			r.Before, r.Keep, r.Expires = fromMS(before), id, fromMS(expires)
			continue
		}
		if r.Denied == nil {
			r.Denied = make(map[string]bool, len(ids))
		}
		r.Denied[id] = before != 0
	}
	if err := rows.Err(); err != nil {
		return driver.Revocation{}, fmt.Errorf("sqlitestore: revocation: %w", err)
	}
	return r, nil
}

// decodeValues decodes the vals column (see package jsonvals).
func decodeValues(vals string) (map[string]any, error) {
	m, err := jsonvals.Decode([]byte(vals))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	return m, nil
}

// encodeValues encodes vals for the vals column (see package jsonvals).
func encodeValues(vals map[string]any) (string, error) {
	enc, err := jsonvals.Encode(vals)
	if err != nil {
		return "", fmt.Errorf("sqlitestore: %w", err)
	}
	return enc, nil
}
