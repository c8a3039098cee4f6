package sqlitestore

import (
	"context"
	"fmt"
	"time"
)

// purgeBatch is how many rows one purge statement deletes, so a large purge
// never holds the write lock for long.
const purgeBatch = 1000

// The purge statements each delete up to a batch of expired rows of one
// table through its expiry index. ?1 now, ?2 the batch size.
const (
	purgeQuery = `DELETE FROM sesame_sessions WHERE id IN
		(SELECT id FROM sesame_sessions WHERE expires <= ?1 LIMIT ?2)`
	purgeRenewalsQuery = `DELETE FROM sesame_renewals WHERE id IN
		(SELECT id FROM sesame_renewals WHERE expires <= ?1 LIMIT ?2)`
	purgeMarksQuery = `DELETE FROM sesame_revocations WHERE user_id IN
		(SELECT user_id FROM sesame_revocations WHERE max(expires, denied_until) <= ?1 LIMIT ?2)`
	purgeDeniedQuery = `DELETE FROM sesame_denied WHERE rowid IN
		(SELECT rowid FROM sesame_denied WHERE expires <= ?1 LIMIT ?2)`
)

// Purge implements driver.Purger: it deletes expired sessions, renewal
// records, revocation marks and denied IDs, and returns how many sessions
// it deleted. It deletes in batches of 1,000 rows, one statement each,
// releasing the write lock between them, so that a large purge does not
// stall commits.
func (s *Store) Purge(ctx context.Context) (int, error) {
	now := time.Now().UnixMilli()
	sessions := 0
	for i, query := range []string{purgeQuery, purgeRenewalsQuery, purgeMarksQuery, purgeDeniedQuery} {
		for {
			n, err := s.purgeOnce(ctx, query, now, purgeBatch)
			if i == 0 {
				sessions += n
			}
			if err != nil {
				return sessions, fmt.Errorf("sqlitestore: purge: %w", err)
			}
			if n < purgeBatch {
				break
			}
		}
	}
	return sessions, nil
}

func (s *Store) purgeOnce(ctx context.Context, query string, args ...any) (int, error) {
	unlock, err := s.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
