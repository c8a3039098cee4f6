package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/sesame-go/sesame/driver"
)

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
