package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sesame-go/sesame/driver"
)

// deltaArgs returns the parameters $1 to $14 of the apply, applyEmptying
// and renew queries (see queries.go).
func deltaArgs(id string, d *driver.Delta, now time.Time) ([]any, error) {
	set, err := encodeValues(d.Set)
	if err != nil {
		return nil, err
	}
	del := d.Delete
	if del == nil {
		del = []string{} // NULL would null the whole object
	}
	var ua, ip *string // NULL keeps the device
	if d.Device != nil {
		ua, ip = &d.Device.UserAgent, &d.Device.IP
	}
	return []any{id, d.Clear, del, set, d.User, d.Persist, nullTime(d.Created), nullTime(d.Deadline),
		d.LastSeen, d.Expires, now, nullTime(d.AuthenticatedAt), ua, ip}, nil
}

// Apply implements driver.DeltaStore, in one statement: an UPDATE, or, for
// a delta that may empty the record (driver.Delta.Emptying), one statement
// that locks the row and then either deletes it or updates it. If there is
// no live record it runs one more query, to tell a renewed ID or an
// expired record.
func (s *Store) Apply(ctx context.Context, id string, d *driver.Delta) (bool, error) {
	now := time.Now()
	args, err := deltaArgs(id, d, now)
	if err != nil {
		return false, err
	}
	var deleted, updated int64
	if d.Emptying() {
		err = s.pool.QueryRow(ctx, s.q.applyEmptying, args...).Scan(&deleted, &updated)
	} else {
		var tag pgconn.CommandTag
		tag, err = s.pool.Exec(ctx, s.q.apply, args...)
		updated = tag.RowsAffected()
	}
	if err != nil {
		return false, fmt.Errorf("pgstore: apply: %w", err)
	}
	if deleted+updated == 0 {
		return false, s.notFound(ctx, s.pool, "apply", id, now)
	}
	return deleted > 0, nil
}
