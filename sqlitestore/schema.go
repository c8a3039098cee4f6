package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// migration is one schema version step: its DDL, then, in the same
// transaction, an optional Go step for what SQL cannot do exactly.
type migration struct {
	ddl string
	fn  func(ctx context.Context, tx *sql.Tx) error
}

// migrations are the schema versions in order: applying migrations[i]
// takes a database from version i to i+1. Append; never edit one that has
// shipped.
var migrations = []migration{
	// Version 1: sessions (values as one JSON object of each value's
	// encoding) and revocation marks.
	{ddl: `CREATE TABLE sesame_sessions (
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
	CREATE INDEX sesame_revocations_expires ON sesame_revocations (expires);`},
	// Version 2: values become JSON strings holding each value's encoding,
	// so that a delta can be applied with json_patch; renewed IDs and
	// denied IDs get tables of their own.
	{ddl: `CREATE TABLE sesame_renewals (
		id      TEXT PRIMARY KEY,
		new_id  TEXT NOT NULL,
		expires INTEGER NOT NULL
	);
	CREATE INDEX sesame_renewals_expires ON sesame_renewals (expires);
	CREATE TABLE sesame_denied (
		user_id TEXT NOT NULL,
		id      TEXT NOT NULL,
		expires INTEGER NOT NULL,
		PRIMARY KEY (user_id, id)
	);
	CREATE INDEX sesame_denied_expires ON sesame_denied (expires);`,
		fn: valuesToStrings},
	// Version 3: what a session records of its user's last authentication
	// and of its device. Existing rows get the zero time and no device.
	{ddl: `ALTER TABLE sesame_sessions ADD COLUMN authenticated_at INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE sesame_sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
	ALTER TABLE sesame_sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';`},
	// Version 4: denied IDs are read by ID and bounded per user. A denied
	// ID records whether it was renewed away (renewed) rather than
	// revoked; existing ones were revoked. A user's row in
	// sesame_revocations also counts the Denys since the mark (denied) and
	// keeps the latest expiry of their denied IDs (denied_until), so that
	// a user may have a row without a mark (revoked_before and expires 0);
	// existing denied IDs are counted into their user's row. The row is
	// purged once both its mark and its denied IDs have expired, through
	// an index on the later of the two.
	{ddl: `ALTER TABLE sesame_revocations ADD COLUMN denied INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE sesame_revocations ADD COLUMN denied_until INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE sesame_denied ADD COLUMN renewed INTEGER NOT NULL DEFAULT 0;
	INSERT INTO sesame_revocations (user_id, revoked_before, keep_id, expires, denied, denied_until)
		SELECT user_id, 0, '', 0, count(*), max(expires) FROM sesame_denied WHERE true GROUP BY user_id
		ON CONFLICT (user_id) DO UPDATE SET denied = excluded.denied, denied_until = excluded.denied_until;
	DROP INDEX sesame_revocations_expires;
	CREATE INDEX sesame_revocations_purge ON sesame_revocations (max(expires, denied_until));`},
}

// schemaVersion is the version this package creates and expects.
var schemaVersion = len(migrations)

// migrateRetrying is migrate, tried again for up to busyTimeout while it
// fails with SQLITE_BUSY. SQLite's busy handler does not cover every lock
// of a new file: processes that open it at once, one of them switching it
// to WAL, may get SQLITE_BUSY at their first statement without waiting.
func migrateRetrying(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(busyTimeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := migrate(ctx, db)
		if !busy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// busyTimeout is the busy_timeout that DSN sets.
const busyTimeout = 5 * time.Second

// busy reports whether err is SQLite's SQLITE_BUSY (of any extended code).
func busy(err error) bool {
	var e interface{ Code() int }
	return errors.As(err, &e) && e.Code()&0xff == 5
}

// migrate creates the schema or brings it up to schemaVersion, in one
// transaction that holds the write lock from its first statement: of
// several processes opening a new file at once, one migrates and the
// others then find the schema current.
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
	if v > schemaVersion {
		return fmt.Errorf("sqlitestore: database schema version %d is newer than this package supports (%d): upgrade github.com/sesame-go/sesame", v, schemaVersion)
	}
	if v == schemaVersion {
		return nil
	}
	for i := v; i < schemaVersion; i++ {
		m := migrations[i]
		if _, err := tx.ExecContext(ctx, m.ddl); err != nil {
			return fmt.Errorf("sqlitestore: migrate to schema version %d: %w", i+1, err)
		}
		if m.fn != nil {
			if err := m.fn(ctx, tx); err != nil {
				return fmt.Errorf("sqlitestore: migrate to schema version %d: %w", i+1, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sesame_schema SET version = ?`, schemaVersion); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	return nil
}

// migrateBatch is how many rows the version 2 step reads at a time.
const migrateBatch = 500

// valuesToStrings is the Go step of version 2: it rewrites every row's
// values from {"key": <encoding>} to {"key": "<encoding>"}. It is done in
// Go because SQLite's JSON functions cannot hand back a value's exact text
// in every case; encoding/json keeps each value's bytes exactly as they
// were stored (2.5, 1e2, an int64 above 2^53, a nested object). It pages
// through the table by rowid, so it never updates rows under an open
// cursor.
func valuesToStrings(ctx context.Context, tx *sql.Tx) error {
	type row struct {
		rowid int64
		vals  string
	}
	after := int64(math.MinInt64)
	batch := make([]row, 0, migrateBatch)
	for {
		batch = batch[:0]
		rows, err := tx.QueryContext(ctx, `SELECT rowid, vals FROM sesame_sessions WHERE rowid > ?1 ORDER BY rowid LIMIT ?2`, after, migrateBatch)
		if err != nil {
			return fmt.Errorf("read values: %w", err)
		}
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.rowid, &r.vals); err != nil {
				rows.Close()
				return fmt.Errorf("read values: %w", err)
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read values: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		for _, r := range batch {
			vals, err := v1ToV2(r.vals)
			if err != nil {
				return fmt.Errorf("row %d: %w", r.rowid, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE sesame_sessions SET vals = ?1 WHERE rowid = ?2`, vals, r.rowid); err != nil {
				return fmt.Errorf("row %d: %w", r.rowid, err)
			}
		}
		after = batch[len(batch)-1].rowid
	}
}

// v1ToV2 converts a version 1 values object to the version 2 encoding.
func v1ToV2(vals string) (string, error) {
	if vals == "" {
		return "{}", nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(vals), &raw); err != nil {
		return "", fmt.Errorf("decode version 1 values: %w", err)
	}
	enc := make(map[string]string, len(raw))
	for k, v := range raw {
		enc[k] = string(v)
	}
	b, err := json.Marshal(enc)
	if err != nil {
		return "", fmt.Errorf("encode values: %w", err)
	}
	return string(b), nil
}
