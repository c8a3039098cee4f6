package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sesame-go/sesame/driver"
)

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
