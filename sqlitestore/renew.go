package sqlitestore

import (
	"context"
	"fmt"
	"time"

	"github.com/sesame-go/sesame/driver"
)

// The statements of Renew, prepared once per Store (see stmts). The
// numbered parameters are listed with each.
const (
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
)

// Renew implements driver.Renewer, in one transaction (BEGIN IMMEDIATE
// with [DSN]; its first statement writes in any case): an INSERT ...
// SELECT remembers oldID in the renewal table, with the old record's
// expiry, if and only if the old record is live; then one UPDATE moves the
// row to newID with d applied. If the INSERT found no live record, Renew
// rolls back and returns an error wrapping driver.ErrNotFound, and
// driver.ErrRenewed if oldID was renewed before.
func (s *Store) Renew(ctx context.Context, oldID, newID string, d *driver.Delta) error {
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
		return s.notFound(ctx, "renew", oldID, now)
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
