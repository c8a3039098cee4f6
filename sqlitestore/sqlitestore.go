// Package sqlitestore is a sesame.Store kept in an SQLite database file,
// built on modernc.org/sqlite (pure Go, no cgo). It needs no server and
// survives restarts, which makes it the right store for a single machine:
// one process, or a few processes sharing the file.
//
// The store implements every optional interface of sesame: delta commits
// (sesame.DeltaStore), the per-user index (sesame.UserStore), on-demand
// purging (sesame.Purger) and per-user revocation marks for cookie-only
// sessions (sesame.RevocationStore). A janitor goroutine purges expired
// sessions and marks periodically until Close.
//
// # Schema
//
// The store creates its tables itself: sesame_sessions, sesame_revocations
// and sesame_schema, which holds the schema version. Opening a database
// applies the migrations it lacks in one transaction, so opening is
// idempotent and safe when several processes open a new file at once. A
// database whose schema is newer than this package knows is refused with an
// error rather than misread. The version lives in a table of its own, not in
// PRAGMA user_version, so the file may hold the application's tables too.
//
// Each session is one row keyed by its ID (already a hash of the token; no
// token is ever stored). Values are one JSON object in a TEXT column, each
// value encoded with [sesame.MarshalValue], and Load returns them as
// json.RawMessage. Times are unix milliseconds in INTEGER columns (zero
// means the zero time). The user is an indexed column (a partial index that
// leaves out sessions without a user), so Sessions and DeleteUser cost
// O(that user's sessions); expiry is indexed too, so Purge costs O(expired
// sessions).
//
// # Concurrency
//
// SQLite has one writer at a time, and the store is designed around that:
//
//   - The database uses WAL (readers never block the writer, nor the
//     writer readers) and every connection a 5 s busy timeout. [Open] sets
//     both, plus synchronous=NORMAL, through the DSN's _pragma parameters
//     (see [DSN]), so every pooled connection gets them, not only the
//     first.
//     synchronous=NORMAL is safe against process crashes; an OS crash or
//     power loss may lose the last commits, never corrupt the file.
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
//
// A delta commit ([Store.Apply]) is one transaction whose first statement
// updates the metadata only if the record is live and returns its values;
// the values are merged in Go and written back before the commit. A commit
// to a missing or expired record changes nothing and returns an error
// wrapping sesame.ErrNotFound, so a destroyed session never comes back. A
// touch (a delta without value changes) is a single UPDATE.
package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sesame-go/sesame"
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
	// CleanupInterval is how often the janitor purges expired sessions and
	// revocation marks. If zero, DefaultCleanupInterval is used; if
	// negative, there is no janitor (expired sessions are still never
	// returned, and Purge removes them).
	CleanupInterval time.Duration
	// Logger receives the janitor's errors and purge counts. If nil,
	// slog.Default() is used.
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

	stop      context.CancelFunc // stops the janitor
	done      chan struct{}      // closed when the janitor has stopped
	closeOnce sync.Once
	closeErr  error
}

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

// Open opens (creating it if needed) the SQLite database file at path with
// the settings of [DSN], creates or migrates the store's schema, and starts
// the janitor. Close stops the janitor and closes the database.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
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

// New returns a Store on db, a database/sql pool of the "sqlite" driver
// (modernc.org/sqlite) that the caller owns and closes after the Store. It
// creates or migrates the schema and starts the janitor; Close stops the
// janitor but leaves db open. Open db with [DSN], or at least with WAL and
// a busy timeout on every connection, so that concurrent writers wait for
// each other instead of failing.
func New(ctx context.Context, db *sql.DB, opts Options) (*Store, error) {
	return newStore(ctx, db, false, opts)
}

func newStore(ctx context.Context, db *sql.DB, owned bool, opts Options) (*Store, error) {
	if err := migrate(ctx, db); err != nil {
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
		done:  make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	every := opts.CleanupInterval
	if every == 0 {
		every = DefaultCleanupInterval
	}
	jctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	if every < 0 {
		close(s.done)
	} else {
		go s.janitor(jctx, every)
	}
	return s, nil
}

// migrations are the schema versions in order: applying migrations[i]
// takes a database from version i to i+1. Append; never edit one that has
// shipped.
var migrations = []string{
	`CREATE TABLE sesame_sessions (
		id        TEXT PRIMARY KEY,
		user_id   TEXT NOT NULL DEFAULT '',
		vals      TEXT NOT NULL DEFAULT '{}',
		created   INTEGER NOT NULL,
		last_seen INTEGER NOT NULL,
		deadline  INTEGER NOT NULL,
		expires   INTEGER NOT NULL,
		persist   INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX sesame_sessions_user ON sesame_sessions (user_id) WHERE user_id <> '';
	CREATE INDEX sesame_sessions_expires ON sesame_sessions (expires);
	CREATE TABLE sesame_revocations (
		user_id        TEXT PRIMARY KEY,
		revoked_before INTEGER NOT NULL,
		keep_id        TEXT NOT NULL DEFAULT '',
		expires        INTEGER NOT NULL
	);
	CREATE INDEX sesame_revocations_expires ON sesame_revocations (expires);`,
}

// migrate creates the schema or brings it up to the latest version.
func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS sesame_schema (
		id INTEGER PRIMARY KEY CHECK (id = 1),
		version INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("sqlitestore: create schema table: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	defer tx.Rollback()
	// A write first, so the transaction holds the write lock before it
	// reads the version, even if it began DEFERRED.
	if _, err := tx.ExecContext(ctx, `INSERT INTO sesame_schema (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING`); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	var v int
	if err := tx.QueryRowContext(ctx, `SELECT version FROM sesame_schema`).Scan(&v); err != nil {
		return fmt.Errorf("sqlitestore: read schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("sqlitestore: database schema version %d is newer than this package supports (%d): upgrade github.com/sesame-go/sesame", v, len(migrations))
	}
	if v == len(migrations) {
		return nil
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("sqlitestore: migrate to schema version %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sesame_schema SET version = ?`, len(migrations)); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	return nil
}

// The statements of the frequent operations, prepared once per Store (see
// stmts). The numbered parameters are listed with each.
const (
	// loadQuery reads a live record. ?1 id, ?2 now.
	loadQuery = `SELECT user_id, vals, created, last_seen, deadline, expires, persist
		FROM sesame_sessions WHERE id = ?1 AND expires > ?2`
	// saveQuery creates or replaces a record. ?1 id, ?2 user, ?3 values,
	// ?4 created, ?5 last seen, ?6 deadline, ?7 expires, ?8 persist.
	saveQuery = `INSERT INTO sesame_sessions
		(id, user_id, vals, created, last_seen, deadline, expires, persist)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
		ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, vals = excluded.vals,
			created = excluded.created, last_seen = excluded.last_seen,
			deadline = excluded.deadline, expires = excluded.expires, persist = excluded.persist`
	// touchQuery updates a live record's metadata as a Delta does,
	// capping Expires at the record's deadline. ?1 user (NULL keeps it),
	// ?2 persist (NULL keeps it), ?3 last seen, ?4 expires, ?5 id, ?6 now.
	touchQuery = `UPDATE sesame_sessions SET
			user_id = coalesce(?1, user_id), persist = coalesce(?2, persist), last_seen = ?3,
			expires = CASE WHEN deadline <> 0 AND deadline < ?4 THEN deadline ELSE ?4 END
		WHERE id = ?5 AND expires > ?6`
	// applyQuery is touchQuery returning the record's values.
	applyQuery = touchQuery + ` RETURNING vals`
	// setValsQuery replaces a record's values. ?1 values, ?2 id.
	setValsQuery = `UPDATE sesame_sessions SET vals = ?1 WHERE id = ?2`
	// deleteQuery deletes a record. ?1 id.
	deleteQuery = `DELETE FROM sesame_sessions WHERE id = ?1`
	// revocationQuery reads a user's live revocation mark. ?1 user, ?2 now.
	revocationQuery = `SELECT revoked_before, keep_id, expires FROM sesame_revocations
		WHERE user_id = ?1 AND expires > ?2`
)

// stmts are the prepared statements of the frequent operations: preparing
// once saves parsing and planning the SQL on every call.
type stmts struct {
	load, save, touch, apply, setVals, del, revocation *sql.Stmt
}

func prepare(ctx context.Context, db *sql.DB) (stmts, error) {
	var st stmts
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&st.load, loadQuery}, {&st.save, saveQuery}, {&st.touch, touchQuery},
		{&st.apply, applyQuery}, {&st.setVals, setValsQuery}, {&st.del, deleteQuery},
		{&st.revocation, revocationQuery},
	} {
		stmt, err := db.PrepareContext(ctx, p.query)
		if err != nil {
			st.close()
			return stmts{}, fmt.Errorf("sqlitestore: prepare: %w", err)
		}
		*p.dst = stmt
	}
	return st, nil
}

func (st stmts) close() error {
	var errs []error
	for _, stmt := range []*sql.Stmt{st.load, st.save, st.touch, st.apply, st.setVals, st.del, st.revocation} {
		if stmt != nil {
			errs = append(errs, stmt.Close())
		}
	}
	return errors.Join(errs...)
}

// janitor purges every interval until ctx ends.
func (s *Store) janitor(ctx context.Context, every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.Purge(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.Error("sqlitestore: purge failed", "err", err)
			case n > 0:
				s.log.Debug("sqlitestore: purged expired sessions", "count", n)
			}
		}
	}
}

// Close stops the janitor, waiting for a purge in progress to stop,
// releases the store's prepared statements and closes the database if Open
// opened it. The Store must not be used after Close.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		<-s.done
		s.closeErr = s.stmt.close()
		if s.owned {
			s.closeErr = errors.Join(s.closeErr, s.db.Close())
		}
	})
	return s.closeErr
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

// encodeValues returns vals as one JSON object, each value encoded with
// sesame.MarshalValue.
func encodeValues(vals map[string]any) (string, error) {
	raw := make(map[string]json.RawMessage, len(vals))
	for k, v := range vals {
		b, err := sesame.MarshalValue(v)
		if err != nil {
			return "", fmt.Errorf("sqlitestore: value %q: %w", k, err)
		}
		raw[k] = b
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return "", fmt.Errorf("sqlitestore: encode values: %w", err)
	}
	return string(b), nil
}

// decodeValues decodes a JSON object into values that are
// json.RawMessages; nil when the object is empty.
func decodeValues(s string) (map[string]any, error) {
	if s == "{}" || s == "" {
		return nil, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf("sqlitestore: decode values: %w", err)
	}
	if len(raw) == 0 {
		return nil, nil
	}
	vals := make(map[string]any, len(raw))
	for k, v := range raw {
		vals[k] = v
	}
	return vals, nil
}

// Load implements sesame.Store. Values are returned as json.RawMessage.
func (s *Store) Load(ctx context.Context, id string) (*sesame.Record, error) {
	var (
		rec                                 sesame.Record
		vals                                string
		created, lastSeen, deadline, expire int64
	)
	err := s.stmt.load.QueryRowContext(ctx, id, time.Now().UnixMilli()).
		Scan(&rec.User, &vals, &created, &lastSeen, &deadline, &expire, &rec.Persist)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitestore: load: %w", sesame.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: load: %w", err)
	}
	if rec.Values, err = decodeValues(vals); err != nil {
		return nil, err
	}
	rec.Created, rec.LastSeen = fromMS(created), fromMS(lastSeen)
	rec.Deadline, rec.Expires = fromMS(deadline), fromMS(expire)
	return &rec, nil
}

// Save implements sesame.Store.
func (s *Store) Save(ctx context.Context, id string, rec *sesame.Record) error {
	vals, err := encodeValues(rec.Values)
	if err != nil {
		return err
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return fmt.Errorf("sqlitestore: save: %w", err)
	}
	defer unlock()
	_, err = s.stmt.save.ExecContext(ctx, id, rec.User, vals, ms(rec.Created), ms(rec.LastSeen), ms(rec.Deadline), ms(rec.Expires), rec.Persist)
	if err != nil {
		return fmt.Errorf("sqlitestore: save: %w", err)
	}
	return nil
}

// Apply implements sesame.DeltaStore. It changes nothing and returns an
// error wrapping sesame.ErrNotFound if no live record exists.
func (s *Store) Apply(ctx context.Context, id string, d *sesame.Delta) error {
	var user, persist any
	if d.User != nil {
		user = *d.User
	}
	if d.Persist != nil {
		persist = *d.Persist
	}
	args := []any{user, persist, ms(d.LastSeen), ms(d.Expires), id, time.Now().UnixMilli()}
	unlock, err := s.lock(ctx)
	if err != nil {
		return fmt.Errorf("sqlitestore: apply: %w", err)
	}
	defer unlock()
	if !d.Clear && len(d.Delete) == 0 && len(d.Set) == 0 {
		// A touch: one statement.
		res, err := s.stmt.touch.ExecContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("sqlitestore: apply: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlitestore: apply: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("sqlitestore: apply: %w", sesame.ErrNotFound)
		}
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: apply: %w", err)
	}
	defer tx.Rollback()
	var vals string
	// The first statement writes, so the transaction holds the write lock
	// from its start even if it began DEFERRED.
	err = tx.StmtContext(ctx, s.stmt.apply).QueryRowContext(ctx, args...).Scan(&vals)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlitestore: apply: %w", sesame.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: apply: %w", err)
	}
	rec := sesame.Record{}
	if rec.Values, err = decodeValues(vals); err != nil {
		return err
	}
	d.ApplyTo(&rec) // only the values are written back: the metadata is done
	if vals, err = encodeValues(rec.Values); err != nil {
		return err
	}
	if _, err := tx.StmtContext(ctx, s.stmt.setVals).ExecContext(ctx, vals, id); err != nil {
		return fmt.Errorf("sqlitestore: apply: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: apply: %w", err)
	}
	return nil
}

// Delete implements sesame.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	unlock, err := s.lock(ctx)
	if err != nil {
		return fmt.Errorf("sqlitestore: delete: %w", err)
	}
	defer unlock()
	if _, err := s.stmt.del.ExecContext(ctx, id); err != nil {
		return fmt.Errorf("sqlitestore: delete: %w", err)
	}
	return nil
}

// sessionsQuery lists a user's live sessions through the user index: the
// term requiring a non-empty user_id lets SQLite use the partial index.
// ?1 user, ?2 now.
const sessionsQuery = `SELECT id, created, last_seen, expires FROM sesame_sessions
	WHERE user_id = ?1 AND user_id <> '' AND expires > ?2`

// deleteUserQuery deletes a user's sessions but one through the user
// index. ?1 user, ?2 the ID to keep.
const deleteUserQuery = `DELETE FROM sesame_sessions WHERE user_id = ?1 AND user_id <> '' AND id <> ?2`

// Sessions implements sesame.UserStore. It reads only user's rows, through
// the user index. Sessions without a user are not indexed: Sessions("")
// lists none.
func (s *Store) Sessions(ctx context.Context, user string) ([]sesame.Info, error) {
	rows, err := s.db.QueryContext(ctx, sessionsQuery, user, time.Now().UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: sessions: %w", err)
	}
	defer rows.Close()
	var list []sesame.Info
	for rows.Next() {
		var created, lastSeen, expires int64
		info := sesame.Info{User: user}
		if err := rows.Scan(&info.ID, &created, &lastSeen, &expires); err != nil {
			return nil, fmt.Errorf("sqlitestore: sessions: %w", err)
		}
		info.Created, info.LastSeen, info.Expires = fromMS(created), fromMS(lastSeen), fromMS(expires)
		list = append(list, info)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: sessions: %w", err)
	}
	return list, nil
}

// DeleteUser implements sesame.UserStore. It touches only user's rows,
// through the user index. Expired sessions not yet purged are deleted and
// counted too. DeleteUser("", keep) deletes nothing.
func (s *Store) DeleteUser(ctx context.Context, user, keep string) (int, error) {
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

// purgeQuery deletes up to purgeBatch expired sessions through the expiry
// index. ?1 now, ?2 the batch size.
const purgeQuery = `DELETE FROM sesame_sessions WHERE id IN
	(SELECT id FROM sesame_sessions WHERE expires <= ?1 LIMIT ?2)`

// Purge implements sesame.Purger: it deletes expired sessions and
// revocation marks, and returns how many sessions it deleted. It deletes in
// batches, releasing the write lock between them, so that a large purge
// does not stall commits.
func (s *Store) Purge(ctx context.Context) (int, error) {
	now := time.Now().UnixMilli()
	total := 0
	for {
		n, err := s.purgeOnce(ctx, purgeQuery, now, purgeBatch)
		total += n
		if err != nil {
			return total, fmt.Errorf("sqlitestore: purge: %w", err)
		}
		if n < purgeBatch {
			break
		}
	}
	if _, err := s.purgeOnce(ctx, `DELETE FROM sesame_revocations WHERE expires <= ?1`, now); err != nil {
		return total, fmt.Errorf("sqlitestore: purge: %w", err)
	}
	return total, nil
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

// SetRevocation implements sesame.RevocationStore.
func (s *Store) SetRevocation(ctx context.Context, user string, r sesame.Revocation) error {
	unlock, err := s.lock(ctx)
	if err != nil {
		return fmt.Errorf("sqlitestore: set revocation: %w", err)
	}
	defer unlock()
	_, err = s.db.ExecContext(ctx, `INSERT INTO sesame_revocations (user_id, revoked_before, keep_id, expires)
		VALUES (?1, ?2, ?3, ?4)
		ON CONFLICT (user_id) DO UPDATE SET revoked_before = excluded.revoked_before,
			keep_id = excluded.keep_id, expires = excluded.expires`,
		user, ms(r.Before), r.Keep, ms(r.Expires))
	if err != nil {
		return fmt.Errorf("sqlitestore: set revocation: %w", err)
	}
	return nil
}

// Revocation implements sesame.RevocationStore.
func (s *Store) Revocation(ctx context.Context, user string) (sesame.Revocation, error) {
	var r sesame.Revocation
	var before, expires int64
	err := s.stmt.revocation.QueryRowContext(ctx, user, time.Now().UnixMilli()).Scan(&before, &r.Keep, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return sesame.Revocation{}, nil
	}
	if err != nil {
		return sesame.Revocation{}, fmt.Errorf("sqlitestore: revocation: %w", err)
	}
	r.Before, r.Expires = fromMS(before), fromMS(expires)
	return r, nil
}
