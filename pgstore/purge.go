package pgstore

import (
	"context"
	"fmt"
	"time"
)

// purgeBatch is how many expired rows one DELETE of Purge removes at most.
const purgeBatch = 5000

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
