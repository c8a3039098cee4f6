package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// deltaArgs returns the parameters $1 to $14 of the apply, applyEmptying
// and renew queries (see schema.go).
func deltaArgs(id string, d *driver.Delta, now time.Time) ([]any, error) {
	set, err := encodeValues(d.Set)
	if err != nil {
		return nil, err
	}
	del := d.Delete
	if del == nil {
		del = []string{} // NULL would null the whole object
	}
	var ua, ip *string // NULL keeps the device
	if d.Device != nil {
		ua, ip = &d.Device.UserAgent, &d.Device.IP
	}
	return []any{id, d.Clear, del, set, d.User, d.Persist, nullTime(d.Created), nullTime(d.Deadline),
		d.LastSeen, d.Expires, now, nullTime(d.AuthenticatedAt), ua, ip}, nil
}

// Apply implements driver.DeltaStore, in one statement: an UPDATE, or, for
// a delta that may empty the record (driver.Delta.Emptying), one statement
// that locks the row and then either deletes it or updates it. If there is
// no live record it runs one more query, to tell a renewed ID or an
// expired record.
func (s *Store) Apply(ctx context.Context, id string, d *driver.Delta) (bool, error) {
	now := time.Now()
	args, err := deltaArgs(id, d, now)
	if err != nil {
		return false, err
	}
	var deleted, updated int64
	if d.Emptying() {
		err = s.pool.QueryRow(ctx, s.q.applyEmptying, args...).Scan(&deleted, &updated)
	} else {
		var tag pgconn.CommandTag
		tag, err = s.pool.Exec(ctx, s.q.apply, args...)
		updated = tag.RowsAffected()
	}
	if err != nil {
		return false, fmt.Errorf("pgstore: apply: %w", err)
	}
	if deleted+updated == 0 {
		return false, s.notFound(ctx, s.pool, "apply", id, now)
	}
	return deleted > 0, nil
}

// Renew implements driver.Renewer, in one statement that locks the live
// row under oldID, moves it to newID with d applied, and records the
// renewal. If there is no live record it runs one more query, to tell a
// renewed ID or an expired record.
func (s *Store) Renew(ctx context.Context, oldID, newID string, d *driver.Delta) error {
	now := time.Now()
	args, err := deltaArgs(oldID, d, now)
	if err != nil {
		return err
	}
	var moved int64
	if err := s.pool.QueryRow(ctx, s.q.renew, append(args, newID)...).Scan(&moved); err != nil {
		return fmt.Errorf("pgstore: renew: %w", err)
	}
	if moved == 0 {
		return s.notFound(ctx, s.pool, "renew", oldID, now)
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

// Sessions implements driver.UserStore, in one query on the user index.
func (s *Store) Sessions(ctx context.Context, user string) ([]driver.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if user == "" {
		return nil, nil // sessions without a user are not indexed
	}
	list, err := infos(ctx, s.pool, s.q.sessions, user, time.Now())
	if err != nil {
		return nil, fmt.Errorf("pgstore: sessions: %w", err)
	}
	return list, nil
}

// infos runs sql, the sessions or capList query, for user at now, and
// returns the Info of each row.
func infos(ctx context.Context, q querier, sql, user string, now time.Time) ([]driver.Info, error) {
	rows, err := q.Query(ctx, sql, user, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []driver.Info
	for rows.Next() {
		info := driver.Info{User: user}
		var auth pgtype.Timestamptz
		if err := rows.Scan(&info.ID, &info.Created, &info.LastSeen, &info.Expires,
			&auth, &info.Device.UserAgent, &info.Device.IP); err != nil {
			return nil, err
		}
		info.AuthenticatedAt = auth.Time
		list = append(list, info)
	}
	return list, rows.Err()
}

// Update implements driver.Updater, in one transaction: a SELECT ... FOR
// UPDATE locks the live row and reads the key's encoding, f runs once,
// with the row locked, and one UPDATE sets the key's new encoding in that
// row. Concurrent Updates (and Applies, Renews and Deletes) of the row
// wait for the lock, so none is lost. If no live record exists it changes
// nothing and returns an error wrapping driver.ErrNotFound (and
// driver.ErrRenewed or driver.ErrExpired, as Load does); if f fails it
// changes nothing and returns f's error as it is. Update changes no
// metadata: not LastSeen, not Expires.
func (s *Store) Update(ctx context.Context, id, key string, f func(old any, ok bool) (any, error)) (any, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: update: %w", err)
	}
	// With ctx done, pgx closes the connection instead of waiting for
	// the server: the server then rolls back.
	defer tx.Rollback(ctx)
	now := time.Now()
	var enc pgtype.Text
	err = tx.QueryRow(ctx, s.q.updateRead, id, key, now).Scan(&enc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, s.notFound(ctx, tx, "update", id, now)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: update: %w", err)
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
		return nil, fmt.Errorf("pgstore: update: value %q: %w", key, err)
	}
	if _, err := tx.Exec(ctx, s.q.updateWrite, id, key, string(b)); err != nil {
		return nil, fmt.Errorf("pgstore: update: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("pgstore: update: %w", err)
	}
	return v, nil
}

// CapUser implements driver.UserCapper, in one transaction: it takes a
// transaction-scoped advisory lock derived from the table and the user,
// so that the CapUsers of one user, from every instance, run one after
// the other; lists the user's live sessions through the user index,
// locking their rows (FOR UPDATE), so that none is renewed or deleted
// meanwhile; picks those to end with driver.OverCap; deletes them and
// returns them. A session that has no user is never capped: CapUser("",
// ...) ends nothing.
func (s *Store) CapUser(ctx context.Context, user, keep string, n int, refuse bool) ([]driver.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if user == "" {
		return nil, nil // sessions without a user are not indexed
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: cap user: %w", err)
	}
	defer tx.Rollback(ctx) // see Update
	if _, err := tx.Exec(ctx, s.q.capLock, lockKey(capLock, s.table, user)); err != nil {
		return nil, fmt.Errorf("pgstore: cap user: %w", err)
	}
	// A statement of its own, after the lock: under READ COMMITTED its
	// snapshot holds every session written before the lock was granted,
	// and what the CapUsers before this one deleted.
	live, err := infos(ctx, tx, s.q.capList, user, time.Now())
	if err != nil {
		return nil, fmt.Errorf("pgstore: cap user: %w", err)
	}
	ended := driver.OverCap(live, keep, n, refuse)
	if len(ended) > 0 {
		ids := make([]string, len(ended))
		for i, in := range ended {
			ids[i] = in.ID
		}
		if _, err := tx.Exec(ctx, s.q.capDelete, ids); err != nil {
			return nil, fmt.Errorf("pgstore: cap user: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("pgstore: cap user: %w", err)
	}
	return ended, nil
}

// DeleteUser implements driver.UserDeleter, in one DELETE statement on the
// user index.
func (s *Store) DeleteUser(ctx context.Context, user, keep string) (int, error) {
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

// Purge implements driver.Purger. It deletes expired revocation marks,
// then expired sessions, renewals and denied IDs, each in batches, and
// returns how many sessions it deleted.
func (s *Store) Purge(ctx context.Context) (int, error) {
	now := time.Now()
	if _, err := s.pool.Exec(ctx, s.q.purgeMarks, now); err != nil {
		return 0, fmt.Errorf("pgstore: purge: %w", err)
	}
	total := 0
	for _, q := range []string{s.q.purge, s.q.purgeRenewed, s.q.purgeDenied} {
		for {
			tag, err := s.pool.Exec(ctx, q, now)
			if err != nil {
				return total, fmt.Errorf("pgstore: purge: %w", err)
			}
			n := int(tag.RowsAffected())
			if q == s.q.purge {
				total += n
			}
			if n < purgeBatch {
				break
			}
		}
	}
	return total, nil
}

// SetRevocation implements driver.RevocationStore, in one round trip: a
// batch of two statements that PostgreSQL runs as one implicit
// transaction. The first sets the user's mark and starts the count of
// Denys again, locking the user's row; the second, whose snapshot is taken
// once the lock is held, drops the user's denied IDs but r.Keep, those of
// every Deny that committed before included (each Deny locks the row
// first).
func (s *Store) SetRevocation(ctx context.Context, user string, r driver.Revocation) error {
	b := &pgx.Batch{}
	b.Queue(s.q.setRevocation, user, r.Before, r.Keep, r.Expires)
	b.Queue(s.q.dropDenied, user, r.Keep)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("pgstore: set revocation: %w", err)
	}
	return nil
}

// Deny implements driver.RevocationStore, in one statement: it counts the
// Deny in the user's row of the marks table, unless driver.MaxDenied were
// counted since the user's last mark (then it adds nothing and returns
// false), and upserts the (user, id) row: primary-key writes, whatever the
// length of the list. A second Deny of an ID keeps the later expiry, and a
// revocation (renewed false) wins over a renewal.
func (s *Store) Deny(ctx context.Context, user, id string, renewed bool, expires time.Time) (bool, error) {
	var counted int64
	if err := s.pool.QueryRow(ctx, s.q.deny, user, id, renewed, expires, driver.MaxDenied).Scan(&counted); err != nil {
		return false, fmt.Errorf("pgstore: deny: %w", err)
	}
	return counted > 0, nil
}

// Revocation implements driver.RevocationStore, in one query that reads
// the user's live mark and, of ids, those denied and live, each looked up
// by the primary key (user_id, id): its cost does not depend on how many
// IDs the user has denied.
func (s *Store) Revocation(ctx context.Context, user string, ids ...string) (driver.Revocation, error) {
	var (
		before, expires pgtype.Timestamptz
		keep            pgtype.Text
		denied          []string
		renewed         []bool
	)
	if ids == nil {
		ids = []string{} // NULL would work too, but say what is meant
	}
	err := s.pool.QueryRow(ctx, s.q.revocation, user, time.Now(), ids).Scan(&before, &keep, &expires, &denied, &renewed)
	if err != nil {
		return driver.Revocation{}, fmt.Errorf("pgstore: revocation: %w", err)
	}
	r := driver.Revocation{Before: before.Time, Keep: keep.String, Expires: expires.Time}
	if len(denied) != len(renewed) {
		return driver.Revocation{}, fmt.Errorf("pgstore: revocation: %d denied IDs but %d flags", len(denied), len(renewed))
	}
	if len(denied) > 0 {
		r.Denied = make(map[string]bool, len(denied))
		for i, id := range denied {
			r.Denied[id] = renewed[i]
		}
	}
	return r, nil
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
