package sqlitestore

import (
	"context"
	"database/sql"
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
	_ driver.Stater          = (*Store)(nil)
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

// notFound returns the error of an operation that found no live record
// under id: it wraps driver.ErrNotFound and, if id was renewed away,
// driver.ErrRenewed, or, if its record is still there but expired (not
// yet purged), driver.ErrExpired. It reads the renewal table and the
// record's expiry in one query, only on this path.
func (s *Store) notFound(ctx context.Context, op, id string, now int64) error {
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
		return nil, s.notFound(ctx, "load", id, now)
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

// Delete implements driver.Store, in one DELETE statement: if id was
// renewed, it follows the renewals (a recursive CTE, through the whole
// chain, however long) and deletes the session at the end of it. It
// reports whether it deleted a live record.
func (s *Store) Delete(ctx context.Context, id string) (bool, error) {
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
