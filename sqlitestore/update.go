package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sesame-go/sesame/driver"
)

// The statements of Update, prepared once per Store (see stmts). The
// numbered parameters are listed with each.
const (
	// updateReadQuery starts an Update: it reads the value of a key of a
	// live record, NULL if it has none. It is a no-op UPDATE, so that the
	// transaction holds the write lock from its first statement even if
	// it began DEFERRED. ?1 id, ?2 now, ?3 key.
	updateReadQuery = `UPDATE sesame_sessions SET vals = vals WHERE id = ?1 AND expires > ?2
		RETURNING (SELECT value FROM json_each(vals) WHERE key = ?3 AND type = 'text')`
	// updateWriteQuery ends an Update: it merges one key's new encoding
	// into the values. ?1 id, ?2 the patch, {key: encoding}.
	updateWriteQuery = `UPDATE sesame_sessions SET vals = json_patch(vals, ?2) WHERE id = ?1`
)

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
		return nil, s.notFound(ctx, "update", id, now)
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
