package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/internal/janitor"
	"github.com/sesame-go/sesame/internal/jsonvals"
)

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Table is the name of the sessions table; the revocation marks, the
	// renewals, the denied IDs and the schema version live in tables
	// named Table+"_revocations", Table+"_renewed", Table+"_denied" and
	// Table+"_schema". It may be schema-qualified ("auth.sessions").
	// Each part must be a plain identifier (letters, digits and
	// underscores, not starting with a digit), the table part at most 39
	// bytes; it is quoted, so it is case-sensitive. If empty,
	// DefaultTable ("sesame_sessions") is used. An unqualified name is
	// bound, when New runs, to the connection's current schema (the
	// first existing schema of its search_path).
	Table string
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

// Store is a PostgreSQL session store. The zero value is not usable; call
// New. It is safe for concurrent use.
type Store struct {
	pool  *pgxpool.Pool
	log   *slog.Logger
	table pgx.Identifier // the sessions table: schema, name
	q     queries

	janitor *janitor.Janitor
}

// DefaultCleanupInterval is how often the janitor purges expired records
// when Options.CleanupInterval is zero.
const DefaultCleanupInterval = 5 * time.Minute

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

// New returns a Store on pool, creating or upgrading its tables first (see
// the package doc). It does not take ownership of pool: close the pool
// after the Store. New starts the janitor (see Options.CleanupInterval);
// call Close to stop it.
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
			return nil, errors.New("pgstore: no schema in the search_path exists; qualify Options.Table (schema.table)")
		}
		table = pgx.Identifier{*schema, table[0]}
	}
	s := &Store{
		pool:  pool,
		log:   opts.Logger,
		table: table,
		q:     buildQueries(table),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	name := "pgstore " + table.Sanitize()
	s.janitor = janitor.Start(janitor.Interval(opts.CleanupInterval, DefaultCleanupInterval), s.Purge, s.log, name)
	return s, nil
}

// Close stops what the store started (its janitor, waiting for a purge in
// progress to end) and closes what it opened (nothing else); it leaves alone
// what the caller passed to it (the pool). Use the store no more after
// Close. Close may be called more than once.
func (s *Store) Close() error {
	s.janitor.Stop()
	return nil
}

// notFound returns the error of op on an ID that has no live record at
// now: it wraps driver.ErrNotFound, and also driver.ErrRenewed if the ID
// was renewed and the old record would not have expired yet, or else
// driver.ErrExpired if the ID's row is still there but expired (not yet
// purged). It costs one query, on the not-found path only, on q (the pool,
// or the transaction of the call).
func (s *Store) notFound(ctx context.Context, q querier, op, id string, now time.Time) error {
	var renewed, expired bool
	if err := q.QueryRow(ctx, s.q.missing, id, now).Scan(&renewed, &expired); err != nil {
		return fmt.Errorf("pgstore: %s: %w", op, err)
	}
	switch {
	case renewed:
		return fmt.Errorf("pgstore: %s: %w: %w", op, driver.ErrNotFound, driver.ErrRenewed)
	case expired:
		return fmt.Errorf("pgstore: %s: %w: %w", op, driver.ErrNotFound, driver.ErrExpired)
	}
	return fmt.Errorf("pgstore: %s: %w", op, driver.ErrNotFound)
}

// Load implements driver.Store: one query, and one more if there is no
// live record (to tell a renewed ID or an expired record).
func (s *Store) Load(ctx context.Context, id string) (*driver.Record, error) {
	var (
		data           []byte
		rec            driver.Record
		deadline, auth pgtype.Timestamptz
	)
	now := time.Now()
	err := s.pool.QueryRow(ctx, s.q.load, id, now).
		Scan(&data, &rec.User, &rec.Created, &rec.LastSeen, &deadline, &rec.Expires, &rec.Persist,
			&auth, &rec.Device.UserAgent, &rec.Device.IP)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, s.notFound(ctx, s.pool, "load", id, now)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: load: %w", err)
	}
	rec.Deadline, rec.AuthenticatedAt = deadline.Time, auth.Time
	if rec.Values, err = decodeValues(data); err != nil {
		return nil, err
	}
	return &rec, nil
}

// nullTime maps the zero time to NULL.
func nullTime(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

// Save implements driver.Store, in one INSERT ... ON CONFLICT statement.
func (s *Store) Save(ctx context.Context, id string, rec *driver.Record) error {
	data, err := encodeValues(rec.Values)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, s.q.save, id, data, rec.User, rec.Created, rec.LastSeen,
		nullTime(rec.Deadline), rec.Expires, rec.Persist,
		nullTime(rec.AuthenticatedAt), rec.Device.UserAgent, rec.Device.IP)
	if err != nil {
		return fmt.Errorf("pgstore: save: %w", err)
	}
	return nil
}

// maxDeleteRuns bounds how many times Delete runs its statement: a run
// that saw a row it could not delete (a concurrent Renew moved it) runs
// again, to follow the new renewal.
const maxDeleteRuns = 8

// Delete implements driver.Store: one statement that follows the renewals
// from id, through the whole chain however long, and deletes the session
// at the end of them. It runs again only
// if the statement saw a row that it could not delete, because a
// concurrent Renew moved it (or a concurrent Delete deleted it) first.
func (s *Store) Delete(ctx context.Context, id string) (bool, error) {
	for range maxDeleteRuns {
		var seen, deleted, live int64
		if err := s.pool.QueryRow(ctx, s.q.delete, id, time.Now()).Scan(&seen, &deleted, &live); err != nil {
			return false, fmt.Errorf("pgstore: delete: %w", err)
		}
		if live > 0 || deleted >= seen {
			return live > 0, nil
		}
	}
	return false, fmt.Errorf("pgstore: delete: the session was renewed %d times while it was being deleted", maxDeleteRuns)
}

// querier is what both a pool and a transaction offer.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// decodeValues decodes the data column (see package jsonvals).
func decodeValues(data []byte) (map[string]any, error) {
	vals, err := jsonvals.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	return vals, nil
}

// encodeValues encodes vals for the data column (see package jsonvals), as
// a string, which pgx sends as JSON text in every query mode.
func encodeValues(vals map[string]any) (string, error) {
	enc, err := jsonvals.Encode(vals)
	if err != nil {
		return "", fmt.Errorf("pgstore: %w", err)
	}
	return enc, nil
}
