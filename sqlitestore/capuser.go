package sqlitestore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sesame-go/sesame/driver"
)

// capExpiredQuery deletes a user's expired sessions through the user
// index: the first statement of CapUser, a write, so that its transaction
// holds the write lock throughout. ?1 user, ?2 now.
const capExpiredQuery = `DELETE FROM sesame_sessions WHERE user_id = ?1 AND user_id <> '' AND expires <= ?2`

// capDeleteQuery deletes the sessions whose IDs ?1 lists, as a JSON array.
const capDeleteQuery = `DELETE FROM sesame_sessions WHERE id IN (SELECT value FROM json_each(?1))`

// CapUser implements driver.UserCapper, in one transaction that holds the
// write lock from its first statement, so that concurrent CapUsers, from
// this process or others, run one after the other: it deletes the user's
// expired sessions (the write that takes the lock), lists the live ones
// through the user index, picks those to end with driver.OverCap, deletes
// them in one statement and returns them.
func (s *Store) CapUser(ctx context.Context, user, keep string, n int, refuse bool) ([]driver.Info, error) {
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
