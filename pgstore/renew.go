package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/sesame-go/sesame/driver"
)

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
