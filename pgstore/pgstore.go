// Package pgstore is a sesame.Store on PostgreSQL, built on pgx v5.
//
// It implements every server-side capability of sesame: [sesame.DeltaStore]
// (a commit is one UPDATE statement), [sesame.UserStore] (an index on the
// user column), [sesame.Purger] (plus an optional janitor goroutine) and
// [sesame.RevocationStore] (a per-user mark table, for cookie-only
// sessions).
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
// passes its tests in both, as in pgx's default mode.
//
// # Schema
//
// [New] creates, or upgrades, three tables named after [Options.Table] (T):
//
//	T              the sessions: id (the hashed token), data (jsonb),
//	               user_id, created, last_seen, deadline, expires, persist;
//	               indexes on user_id (partial: WHERE user_id <> '') and
//	               on expires
//	T_revocations  one revocation mark per user
//	T_schema       the schema versions applied
//
// When the schema is current, New only reads T_schema. Otherwise it
// migrates in one transaction that first takes a transaction-scoped
// advisory lock (pg_advisory_xact_lock) derived from the table name, then
// reads the version again: several instances starting at once on a new
// database all succeed, and exactly one creates the tables. A schema newer
// than this code knows is refused with an error wrapping
// [ErrNewerSchema], so an old binary never writes to a table it does not
// understand.
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
// A delta commit is one UPDATE statement: it clears, deletes and sets keys
// with jsonb operators, sets the user and persist flag if given, moves
// last_seen, and caps expires at the deadline, all on the row's latest
// version, so concurrent commits that change different keys all survive.
// The UPDATE only matches a live row: a commit to a deleted, revoked or
// expired session changes nothing and fails with sesame.ErrNotFound.
//
// # Time
//
// Expiry is judged by the application's clock, the one that set the
// record's times, not the database server's: each query passes time.Now.
// A record is never returned at or after its expiry, even before it is
// purged. Times are stored as timestamptz (microsecond precision).
//
// # Costs
//
// Load, Save, Apply and Delete are one statement each, on the primary key.
// Sessions and DeleteUser are one statement each on the user index, so
// they cost O(that user's sessions) whatever the size of the table (see
// BenchmarkRevokeUser). Purge deletes expired rows through the expires
// index, in batches, so that a large backlog never holds one long
// transaction.
package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesame-go/sesame"
)

// DefaultTable is the sessions table used when Options.Table is empty.
const DefaultTable = "sesame_sessions"

// SchemaVersion is the schema version this package creates and expects.
const SchemaVersion = 1

// purgeBatch is how many expired rows one DELETE of Purge removes at most.
const purgeBatch = 5000

// Suffixes of the tables and indexes named after Options.Table.
const (
	revocationsSuffix = "_revocations"
	schemaSuffix      = "_schema"
	userIndexSuffix   = "_user_idx"
	expiresIdxSuffix  = "_expires_idx"
)

// maxTableLen keeps every derived name, the longest being the
// revocation table's expiry index, within PostgreSQL's 63-byte limit.
const maxTableLen = 63 - len(revocationsSuffix+expiresIdxSuffix)

// ErrNewerSchema reports that the tables were created or upgraded by a
// newer version of pgstore than the running one.
var ErrNewerSchema = errors.New("pgstore: schema is newer than this version of pgstore")

// errNotFound is returned by Load and Apply when no live record exists.
var errNotFound = fmt.Errorf("pgstore: %w", sesame.ErrNotFound)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Table is the name of the sessions table; the revocation marks and
	// the schema version live in tables named Table+"_revocations" and
	// Table+"_schema". It may be schema-qualified ("auth.sessions").
	// Each part must be a plain identifier (letters, digits and
	// underscores, not starting with a digit), the table part at most 39
	// bytes; it is quoted, so it is case-sensitive. If empty,
	// DefaultTable ("sesame_sessions") is used. An unqualified name is
	// bound, when New runs, to the connection's current schema (the
	// first existing schema of its search_path).
	Table string
	// CleanupInterval is how often a janitor goroutine purges expired
	// sessions and revocation marks. If zero or negative there is no
	// janitor: expired records are still never returned, and the
	// application (or sesamectl) calls Purge. With several app instances
	// one janitor is enough, though more do no harm.
	CleanupInterval time.Duration
	// Timeout bounds every call of the store, on top of the caller's
	// context, so that a hung server or a network partition fails the
	// request (the Manager's ErrorHandler answers) instead of holding it and
	// a pool connection: the Manager commits with a context that is never
	// cancelled. If zero, DefaultTimeout (5s) is used; if negative, only
	// the caller's context applies.
	Timeout time.Duration
	// Logger receives the janitor's purge results and errors. If nil,
	// slog.Default() is used. Session IDs are never logged.
	Logger *slog.Logger
}

// DefaultTimeout bounds each call of a Store when Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// Store is a PostgreSQL session store. The zero value is not usable; call
// New. It is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	log     *slog.Logger
	timeout time.Duration  // 0: none
	table   pgx.Identifier // the sessions table: schema, name
	q       queries

	stop context.CancelFunc // stops the janitor
	done chan struct{}      // closed when the janitor has exited
}

// queries holds the store's SQL, built once for its tables.
type queries struct {
	load, save, apply, delete      string
	sessions, deleteUser           string
	purge, purgeMarks              string
	setRevocation, revocation      string
	versionTable, revocationsTable pgx.Identifier
}

// New returns a Store on pool, creating or upgrading its tables first (see
// the package doc). It does not take ownership of pool: close the pool
// after the Store. If opts.CleanupInterval is positive, New starts a
// janitor; call Close to stop it.
func New(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	if pool == nil {
		return nil, errors.New("pgstore: nil pool")
	}
	table, err := parseTable(opts.Table)
	if err != nil {
		return nil, err
	}
	if len(table) == 1 {
		// Bind the store to one schema, whatever search_path later
		// connections have.
		var schema *string
		if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return nil, fmt.Errorf("pgstore: reading the current schema: %w", err)
		}
		if schema == nil {
			return nil, fmt.Errorf("pgstore: no schema in the search_path exists; qualify Options.Table (schema.table)")
		}
		table = pgx.Identifier{*schema, table[0]}
	}
	s := &Store{
		pool:  pool,
		log:   opts.Logger,
		table: table,
		q:     buildQueries(table),
		done:  make(chan struct{}),
	}
	switch {
	case opts.Timeout == 0:
		s.timeout = DefaultTimeout
	case opts.Timeout > 0:
		s.timeout = opts.Timeout
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	jctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	if opts.CleanupInterval <= 0 {
		close(s.done)
		return s, nil
	}
	go s.janitor(jctx, opts.CleanupInterval)
	return s, nil
}

// parseTable validates a table name and splits it into its parts.
func parseTable(name string) (pgx.Identifier, error) {
	if name == "" {
		name = DefaultTable
	}
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return nil, fmt.Errorf("pgstore: invalid table name %q: want table or schema.table", name)
	}
	for _, p := range parts {
		if !identRE.MatchString(p) || len(p) > 63 {
			return nil, fmt.Errorf("pgstore: invalid table name %q: each part must be letters, digits and underscores, not starting with a digit", name)
		}
	}
	if t := parts[len(parts)-1]; len(t) > maxTableLen {
		return nil, fmt.Errorf("pgstore: table name %q longer than %d bytes", t, maxTableLen)
	}
	return pgx.Identifier(parts), nil
}

// suffixed returns the name of a table next to t, with suffix appended.
func suffixed(t pgx.Identifier, suffix string) pgx.Identifier {
	out := append(pgx.Identifier(nil), t...)
	out[len(out)-1] += suffix
	return out
}

func buildQueries(table pgx.Identifier) queries {
	t := table.Sanitize()
	rt := suffixed(table, revocationsSuffix)
	r := rt.Sanitize()
	cols := "data, user_id, created, last_seen, deadline, expires, persist"
	return queries{
		load: `SELECT ` + cols + ` FROM ` + t + ` WHERE id = $1 AND expires > $2`,
		save: `INSERT INTO ` + t + ` (id, ` + cols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, user_id = EXCLUDED.user_id,
	created = EXCLUDED.created, last_seen = EXCLUDED.last_seen, deadline = EXCLUDED.deadline,
	expires = EXCLUDED.expires, persist = EXCLUDED.persist`,
		// Clear, Delete, Set in that order; LEAST ignores a NULL
		// deadline (a record without an absolute lifetime).
		apply: `UPDATE ` + t + ` SET
	data = (CASE WHEN $2::boolean THEN '{}'::jsonb ELSE data END - $3::text[]) || $4::jsonb,
	user_id = COALESCE($5::text, user_id),
	persist = COALESCE($6::boolean, persist),
	last_seen = $7,
	expires = LEAST($8::timestamptz, deadline)
WHERE id = $1 AND expires > $9`,
		delete: `DELETE FROM ` + t + ` WHERE id = $1`,
		// "user_id <> ''" repeats the partial index's predicate, so that
		// even a generic plan (a prepared statement, $1 unknown) can use
		// the index.
		sessions:   `SELECT id, created, last_seen, expires FROM ` + t + ` WHERE user_id = $1 AND user_id <> '' AND expires > $2`,
		deleteUser: `DELETE FROM ` + t + ` WHERE user_id = $1 AND user_id <> '' AND id <> $2`,
		purge: `DELETE FROM ` + t + ` WHERE id IN (SELECT id FROM ` + t + ` WHERE expires <= $1 LIMIT ` + fmt.Sprint(purgeBatch) + `)
	AND expires <= $1`,
		purgeMarks: `DELETE FROM ` + r + ` WHERE expires <= $1`,
		setRevocation: `INSERT INTO ` + r + ` (user_id, before, keep, expires) VALUES ($1, $2, $3, $4)
ON CONFLICT (user_id) DO UPDATE SET before = EXCLUDED.before, keep = EXCLUDED.keep, expires = EXCLUDED.expires`,
		revocation:       `SELECT before, keep, expires FROM ` + r + ` WHERE user_id = $1 AND expires > $2`,
		versionTable:     suffixed(table, schemaSuffix),
		revocationsTable: rt,
	}
}

// migrations[i] upgrades the schema from version i to i+1. Each runs in
// the migration transaction; append, never edit.
var migrations = []func(table pgx.Identifier) []string{
	func(table pgx.Identifier) []string {
		idx := func(suffix string) string { return pgx.Identifier{table[len(table)-1] + suffix}.Sanitize() }
		t := table.Sanitize()
		r := suffixed(table, revocationsSuffix).Sanitize()
		return []string{
			`CREATE TABLE ` + suffixed(table, schemaSuffix).Sanitize() + ` (
	version integer PRIMARY KEY,
	applied timestamptz NOT NULL DEFAULT now()
)`,
			`CREATE TABLE ` + t + ` (
	id        text PRIMARY KEY,
	data      jsonb NOT NULL DEFAULT '{}',
	user_id   text NOT NULL DEFAULT '',
	created   timestamptz NOT NULL,
	last_seen timestamptz NOT NULL,
	deadline  timestamptz,
	expires   timestamptz NOT NULL,
	persist   boolean NOT NULL DEFAULT false
)`,
			`CREATE INDEX ` + idx(userIndexSuffix) + ` ON ` + t + ` (user_id) WHERE user_id <> ''`,
			`CREATE INDEX ` + idx(expiresIdxSuffix) + ` ON ` + t + ` (expires)`,
			`CREATE TABLE ` + r + ` (
	user_id text PRIMARY KEY,
	before  timestamptz NOT NULL,
	keep    text NOT NULL DEFAULT '',
	expires timestamptz NOT NULL
)`,
			`CREATE INDEX ` + idx(revocationsSuffix+expiresIdxSuffix) + ` ON ` + r + ` (expires)`,
		}
	},
}

// querier is what both a pool and a transaction offer.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// version returns the schema version of the store's tables, 0 if none.
func (s *Store) version(ctx context.Context, q querier) (int, error) {
	// A query of pg_tables sees the catalog as of this statement. Unlike
	// to_regclass, it cannot miss a table that another session created
	// while this one waited for the migration lock.
	var exists bool
	vt := s.q.versionTable.Sanitize()
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = $2)`,
		s.q.versionTable[0], s.q.versionTable[1]).Scan(&exists)
	if err != nil {
		return 0, fmt.Errorf("pgstore: reading the schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := q.QueryRow(ctx, `SELECT COALESCE(max(version), 0) FROM `+vt).Scan(&v); err != nil {
		return 0, fmt.Errorf("pgstore: reading the schema version: %w", err)
	}
	return v, nil
}

func (s *Store) checkVersion(v int) error {
	if v > SchemaVersion {
		return fmt.Errorf("%w: table %s is at version %d, this code knows versions up to %d; upgrade github.com/sesame-go/sesame",
			ErrNewerSchema, s.table.Sanitize(), v, SchemaVersion)
	}
	return nil
}

// migrate brings the schema to SchemaVersion. See the package doc.
func (s *Store) migrate(ctx context.Context) error {
	v, err := s.version(ctx, s.pool)
	if err != nil {
		return err
	}
	if v == SchemaVersion {
		return nil
	}
	if err := s.checkVersion(v); err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: migrating: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(s.table)); err != nil {
		return fmt.Errorf("pgstore: taking the migration lock: %w", err)
	}
	if v, err = s.version(ctx, tx); err != nil { // another instance may have migrated meanwhile
		return err
	}
	if err := s.checkVersion(v); err != nil {
		return err
	}
	for ; v < SchemaVersion; v++ {
		for _, stmt := range migrations[v](s.table) {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("pgstore: migrating %s to version %d: %w", s.table.Sanitize(), v+1, err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+s.q.versionTable.Sanitize()+` (version) VALUES ($1)`, v+1); err != nil {
			return fmt.Errorf("pgstore: recording schema version %d: %w", v+1, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: migrating: %w", err)
	}
	return nil
}

// lockKey returns the advisory lock key that guards the migration of
// table: a hash of its name, so stores on other tables do not wait.
func lockKey(table pgx.Identifier) int64 {
	h := fnv.New64a()
	h.Write([]byte("sesame/pgstore:" + table.Sanitize()))
	return int64(h.Sum64())
}

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
				s.log.ErrorContext(ctx, "pgstore: purge failed", "table", s.table.Sanitize(), "err", err)
			case n > 0:
				s.log.DebugContext(ctx, "pgstore: purged expired sessions", "table", s.table.Sanitize(), "count", n)
			}
		}
	}
}

// Close stops the janitor, cancelling a purge in progress, and waits for
// it to exit. It does not close the pool, and the store stays usable.
// Close may be called more than once.
func (s *Store) Close() error {
	s.stop()
	<-s.done
	return nil
}

// Load implements sesame.Store.
func (s *Store) Load(ctx context.Context, id string) (*sesame.Record, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var (
		data     []byte
		rec      sesame.Record
		deadline pgtype.Timestamptz
	)
	err := s.pool.QueryRow(ctx, s.q.load, id, time.Now()).
		Scan(&data, &rec.User, &rec.Created, &rec.LastSeen, &deadline, &rec.Expires, &rec.Persist)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: load: %w", err)
	}
	rec.Deadline = deadline.Time
	if rec.Values, err = decodeValues(data); err != nil {
		return nil, err
	}
	return &rec, nil
}

// decodeValues decodes the data column: each value's JSON encoding, kept
// as a JSON string.
func decodeValues(data []byte) (map[string]any, error) {
	var enc map[string]string
	if err := json.Unmarshal(data, &enc); err != nil {
		return nil, fmt.Errorf("pgstore: decoding values: %w", err)
	}
	if len(enc) == 0 {
		return nil, nil
	}
	vals := make(map[string]any, len(enc))
	for k, v := range enc {
		vals[k] = json.RawMessage(v)
	}
	return vals, nil
}

// encodeValues encodes vals for the data column, as a JSON object of each
// value's encoding by sesame.MarshalValue, kept as a JSON string. It is
// returned as a string, which pgx sends as JSON text in every query mode.
func encodeValues(vals map[string]any) (string, error) {
	if len(vals) == 0 {
		return "{}", nil
	}
	enc := make(map[string]string, len(vals))
	for k, v := range vals {
		raw, err := sesame.MarshalValue(v)
		if err != nil {
			return "", fmt.Errorf("pgstore: key %q: %w", k, err)
		}
		enc[k] = string(raw)
	}
	b, err := json.Marshal(enc)
	if err != nil {
		return "", fmt.Errorf("pgstore: encoding values: %w", err)
	}
	return string(b), nil
}

// nullTime maps the zero time to NULL.
func nullTime(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

// Save implements sesame.Store.
func (s *Store) Save(ctx context.Context, id string, rec *sesame.Record) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	data, err := encodeValues(rec.Values)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, s.q.save, id, data, rec.User, rec.Created, rec.LastSeen,
		nullTime(rec.Deadline), rec.Expires, rec.Persist)
	if err != nil {
		return fmt.Errorf("pgstore: save: %w", err)
	}
	return nil
}

// Apply implements sesame.DeltaStore, in one UPDATE statement.
func (s *Store) Apply(ctx context.Context, id string, d *sesame.Delta) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	set, err := encodeValues(d.Set)
	if err != nil {
		return err
	}
	del := d.Delete
	if del == nil {
		del = []string{} // NULL would null the whole object
	}
	tag, err := s.pool.Exec(ctx, s.q.apply, id, d.Clear, del, set, d.User, d.Persist,
		d.LastSeen, d.Expires, time.Now())
	if err != nil {
		return fmt.Errorf("pgstore: apply: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return errNotFound
	}
	return nil
}

// Delete implements sesame.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, s.q.delete, id); err != nil {
		return fmt.Errorf("pgstore: delete: %w", err)
	}
	return nil
}

// Sessions implements sesame.UserStore. It reads only the user's index
// entries.
func (s *Store) Sessions(ctx context.Context, user string) ([]sesame.Info, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if user == "" {
		return nil, nil // sessions without a user are not indexed
	}
	rows, err := s.pool.Query(ctx, s.q.sessions, user, time.Now())
	if err != nil {
		return nil, fmt.Errorf("pgstore: sessions: %w", err)
	}
	var list []sesame.Info
	for rows.Next() {
		info := sesame.Info{User: user}
		if err := rows.Scan(&info.ID, &info.Created, &info.LastSeen, &info.Expires); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pgstore: sessions: %w", err)
		}
		list = append(list, info)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: sessions: %w", err)
	}
	return list, nil
}

// DeleteUser implements sesame.UserStore, in one DELETE statement on the
// user index.
func (s *Store) DeleteUser(ctx context.Context, user, keep string) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if user == "" {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, s.q.deleteUser, user, keep)
	if err != nil {
		return 0, fmt.Errorf("pgstore: delete user: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// Purge implements sesame.Purger. It deletes expired sessions, in batches,
// and expired revocation marks, and returns how many sessions it deleted.
func (s *Store) Purge(ctx context.Context) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	now := time.Now()
	if _, err := s.pool.Exec(ctx, s.q.purgeMarks, now); err != nil {
		return 0, fmt.Errorf("pgstore: purge: %w", err)
	}
	total := 0
	for {
		tag, err := s.pool.Exec(ctx, s.q.purge, now)
		if err != nil {
			return total, fmt.Errorf("pgstore: purge: %w", err)
		}
		n := int(tag.RowsAffected())
		total += n
		if n < purgeBatch {
			return total, nil
		}
	}
}

// SetRevocation implements sesame.RevocationStore.
func (s *Store) SetRevocation(ctx context.Context, user string, r sesame.Revocation) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, s.q.setRevocation, user, r.Before, r.Keep, r.Expires); err != nil {
		return fmt.Errorf("pgstore: set revocation: %w", err)
	}
	return nil
}

// Revocation implements sesame.RevocationStore.
func (s *Store) Revocation(ctx context.Context, user string) (sesame.Revocation, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var r sesame.Revocation
	err := s.pool.QueryRow(ctx, s.q.revocation, user, time.Now()).Scan(&r.Before, &r.Keep, &r.Expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return sesame.Revocation{}, nil
	}
	if err != nil {
		return sesame.Revocation{}, fmt.Errorf("pgstore: revocation: %w", err)
	}
	return r, nil
}

// Interface checks.
var (
	_ sesame.DeltaStore      = (*Store)(nil)
	_ sesame.UserStore       = (*Store)(nil)
	_ sesame.Purger          = (*Store)(nil)
	_ sesame.RevocationStore = (*Store)(nil)
)

// bound applies the store's timeout to ctx.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.timeout)
}
