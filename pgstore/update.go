package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sesame-go/sesame/driver"
)

// Update implements driver.Updater, in one transaction: a SELECT ... FOR
// UPDATE locks the live row and reads the key's encoding, f runs once,
// with the row locked, and one UPDATE sets the key's new encoding in that
// row. Concurrent Updates (and Applies, Renews and Deletes) of the row
// wait for the lock, so none is lost. If no live record exists it changes
// nothing and returns an error wrapping driver.ErrNotFound (and
// driver.ErrRenewed or driver.ErrExpired, as Load does); if f fails it
// changes nothing and returns f's error as it is. Update changes no
// metadata: not LastSeen, not Expires.
func (s *Store) Update(ctx context.Context, id, key string, f func(old any, ok bool) (any, error)) (any, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: update: %w", err)
	}
	// With ctx done, pgx closes the connection instead of waiting for
	// the server: the server then rolls back.
	defer tx.Rollback(ctx)
	now := time.Now()
	var enc pgtype.Text
	err = tx.QueryRow(ctx, s.q.updateRead, id, key, now).Scan(&enc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, s.notFound(ctx, tx, "update", id, now)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: update: %w", err)
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
		return nil, fmt.Errorf("pgstore: update: value %q: %w", key, err)
	}
	if _, err := tx.Exec(ctx, s.q.updateWrite, id, key, string(b)); err != nil {
		return nil, fmt.Errorf("pgstore: update: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("pgstore: update: %w", err)
	}
	return v, nil
}
