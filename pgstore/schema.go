package pgstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"
)

// This file migrates the schema; queries.go names the store's tables and
// builds its SQL.

// SchemaVersion is the schema version this package creates and expects.
const SchemaVersion = 4

// Prefixes of the advisory lock keys (see lockKey). migrateLock never
// changes: instances of every version of pgstore that start at once must
// take the same lock to migrate.
const (
	migrateLock = "sesame/pgstore:"
	capLock     = "sesame/pgstore/cap:"
)

// ErrNewerSchema reports that the tables were created or upgraded by a
// newer version of pgstore than the running one.
var ErrNewerSchema = errors.New("pgstore: schema is newer than this version of pgstore")

// migrations[i] upgrades the schema from version i to i+1. Each runs in
// the migration transaction; append, never edit.
var migrations = []func(table pgx.Identifier) []string{
	// Version 1: the sessions, the revocation marks, the versions.
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
	// Version 2: the renewals (old ID to new ID, until the old record
	// would have expired) and the denied session IDs of each user. New
	// tables only: the sessions table is not touched, so the upgrade
	// takes no lock that blocks the sessions of running instances.
	func(table pgx.Identifier) []string {
		idx := func(suffix string) string { return pgx.Identifier{table[len(table)-1] + suffix}.Sanitize() }
		n := suffixed(table, renewedSuffix).Sanitize()
		d := suffixed(table, deniedSuffix).Sanitize()
		return []string{
			`CREATE TABLE ` + n + ` (
	id      text PRIMARY KEY,
	new_id  text NOT NULL,
	expires timestamptz NOT NULL
)`,
			`CREATE INDEX ` + idx(renewedSuffix+expiresIdxSuffix) + ` ON ` + n + ` (expires)`,
			`CREATE TABLE ` + d + ` (
	user_id text NOT NULL,
	id      text NOT NULL,
	expires timestamptz NOT NULL,
	PRIMARY KEY (user_id, id)
)`,
			`CREATE INDEX ` + idx(deniedSuffix+expiresIdxSuffix) + ` ON ` + d + ` (expires)`,
		}
	},
	// Version 3: when the user last authenticated (NULL if never) and
	// the client's device. Three columns added to the sessions table: a
	// change of its catalog only (a new column that is NULL or has a
	// constant default rewrites no row), which needs the table's lock
	// for a moment. The existing rows read as never authenticated, on
	// no known device.
	func(table pgx.Identifier) []string {
		return []string{
			`ALTER TABLE ` + table.Sanitize() + `
	ADD COLUMN authenticated_at timestamptz,
	ADD COLUMN user_agent       text NOT NULL DEFAULT '',
	ADD COLUMN ip               text NOT NULL DEFAULT ''`,
		}
	},
	// Version 4: denied IDs are read by ID, and bounded per user. A
	// denied ID records whether it was renewed away rather than revoked
	// (the existing ones were revoked); a user's row of T_revocations
	// counts the Denys since its mark (denied) and keeps the latest
	// expiry of its denied IDs (denied_until), so a user may have a row
	// without a mark (before and expires -infinity). New columns with a
	// constant default or NULL: catalog changes only, no row rewritten.
	// The existing denied IDs are counted into their user's row (one
	// scan of T_denied, while its lock is held); the row is purged
	// through an index on the later of its two expiries, which replaces
	// the index on expires.
	func(table pgx.Identifier) []string {
		idx := func(suffix string) pgx.Identifier { return pgx.Identifier{table[len(table)-1] + suffix} }
		r := suffixed(table, revocationsSuffix).Sanitize()
		d := suffixed(table, deniedSuffix).Sanitize()
		return []string{
			`ALTER TABLE ` + r + `
	ADD COLUMN denied       integer NOT NULL DEFAULT 0,
	ADD COLUMN denied_until timestamptz`,
			`ALTER TABLE ` + d + ` ADD COLUMN renewed boolean NOT NULL DEFAULT false`,
			`INSERT INTO ` + r + ` (user_id, before, keep, expires, denied, denied_until)
SELECT user_id, '-infinity', '', '-infinity', count(*), max(expires) FROM ` + d + ` GROUP BY user_id
ON CONFLICT (user_id) DO UPDATE SET denied = EXCLUDED.denied, denied_until = EXCLUDED.denied_until`,
			`DROP INDEX ` + suffixed(table, revocationsSuffix+expiresIdxSuffix).Sanitize(), // in the table's schema
			`CREATE INDEX ` + idx(revocationsSuffix+purgeIdxSuffix).Sanitize() + ` ON ` + r + ` ((GREATEST(expires, denied_until)))`,
		}
	},
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
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(migrateLock, s.table)); err != nil {
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

// lockKey returns an advisory lock key: a hash of prefix, which names
// what the lock guards (migrateLock, capLock), the table's name, so that
// stores on other tables do not wait, and parts (capLock: the user).
func lockKey(prefix string, table pgx.Identifier, parts ...string) int64 {
	h := fnv.New64a()
	h.Write([]byte(prefix + table.Sanitize()))
	for _, p := range parts {
		h.Write([]byte{0}) // users hold no NUL
		h.Write([]byte(p))
	}
	return int64(h.Sum64())
}
