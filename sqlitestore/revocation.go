package sqlitestore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sesame-go/sesame/driver"
)

// The statements of the revocation marks and denied IDs, prepared once
// per Store (see stmts). The numbered parameters are listed with each.
const (
	// revocationQuery reads a user's live revocation mark (kind 0) and,
	// of the IDs asked about, those denied and live (kind 1, with
	// whether they were renewed away), in one query of primary keys: its
	// cost does not depend on how many IDs the user has denied. The unary
	// + keeps the planner from using the expiry index for the denied IDs
	// (which would walk every live denial), whatever the statistics.
	// ?1 user, ?2 now, ?3 the IDs, as a JSON array.
	revocationQuery = `SELECT 0, revoked_before, keep_id, expires FROM sesame_revocations
			WHERE user_id = ?1 AND expires > ?2
		UNION ALL
		SELECT 1, renewed, id, 0 FROM sesame_denied
			WHERE user_id = ?1 AND id IN (SELECT value FROM json_each(?3)) AND +expires > ?2`
	// setRevocationQuery sets a user's mark and starts the count of its
	// Denys again; denied_until, the latest expiry of its denied IDs,
	// stays. ?1 user, ?2 before, ?3 keep, ?4 expires.
	setRevocationQuery = `INSERT INTO sesame_revocations (user_id, revoked_before, keep_id, expires)
		VALUES (?1, ?2, ?3, ?4)
		ON CONFLICT (user_id) DO UPDATE SET revoked_before = excluded.revoked_before,
			keep_id = excluded.keep_id, expires = excluded.expires, denied = 0`
	// dropDeniedQuery drops a user's denied IDs but the mark's Keep,
	// after SetRevocation. ?1 user, ?2 keep.
	dropDeniedQuery = `DELETE FROM sesame_denied WHERE user_id = ?1 AND id <> ?2`
	// denyCountQuery starts a Deny: it counts one more Deny in the
	// user's row of sesame_revocations (creating one without a mark if
	// there is none), unless MaxDenied were counted since the mark, and
	// extends denied_until. It changes no row when the user is at the
	// limit. ?1 user, ?2 expires, ?3 the limit.
	denyCountQuery = `INSERT INTO sesame_revocations (user_id, revoked_before, keep_id, expires, denied, denied_until)
		VALUES (?1, 0, '', 0, 1, ?2)
		ON CONFLICT (user_id) DO UPDATE SET denied = denied + 1, denied_until = max(denied_until, excluded.denied_until)
		WHERE denied < ?3`
	// denyQuery adds a denied ID, or merges a second Deny of it into its
	// entry: a revocation is never weakened to a renewal, nor shortened.
	// ?1 user, ?2 id, ?3 renewed, ?4 expires.
	denyQuery = `INSERT INTO sesame_denied (user_id, id, renewed, expires) VALUES (?1, ?2, ?3, ?4)
		ON CONFLICT (user_id, id) DO UPDATE SET renewed = renewed AND excluded.renewed,
			expires = max(expires, excluded.expires)`
)

// SetRevocation implements driver.RevocationStore, in one transaction
// that holds the write lock: an INSERT ... ON CONFLICT DO UPDATE sets the
// user's mark and starts the count of its Denys again, then a DELETE drops
// the user's denied IDs but r.Keep.
func (s *Store) SetRevocation(ctx context.Context, user string, r driver.Revocation) error {
	unlock, err := s.lock(ctx)
	if err != nil {
		return fmt.Errorf("sqlitestore: set revocation: %w", err)
	}
	defer unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: set revocation: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.StmtContext(ctx, s.stmt.setRevocation).ExecContext(ctx, user, ms(r.Before), r.Keep, ms(r.Expires)); err != nil {
		return fmt.Errorf("sqlitestore: set revocation: %w", err)
	}
	if _, err := tx.StmtContext(ctx, s.stmt.dropDenied).ExecContext(ctx, user, r.Keep); err != nil {
		return fmt.Errorf("sqlitestore: set revocation: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: set revocation: %w", err)
	}
	return nil
}

// Deny implements driver.RevocationStore, in one transaction that holds
// the write lock: an upsert of the user's row in sesame_revocations counts
// the Deny there, unless driver.MaxDenied were counted since the user's
// last mark, in which case Deny rolls back and returns false; then an
// upsert of the (user, id) row denies id. Both are primary-key writes,
// whatever the length of the list. A second Deny of an ID keeps the later
// expiry, and a revocation (renewed false) wins over a renewal.
func (s *Store) Deny(ctx context.Context, user, id string, renewed bool, expires time.Time) (bool, error) {
	unlock, err := s.lock(ctx)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: deny: %w", err)
	}
	defer unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: deny: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.StmtContext(ctx, s.stmt.denyCount).ExecContext(ctx, user, ms(expires), driver.MaxDenied)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: deny: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, fmt.Errorf("sqlitestore: deny: %w", err)
	} else if n == 0 {
		return false, nil // at the limit: the deferred Rollback undoes nothing
	}
	if _, err := tx.StmtContext(ctx, s.stmt.deny).ExecContext(ctx, user, id, renewed, ms(expires)); err != nil {
		return false, fmt.Errorf("sqlitestore: deny: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlitestore: deny: %w", err)
	}
	return true, nil
}

// Revocation implements driver.RevocationStore: one query returns the
// user's live mark and, of ids, those denied and live, each looked up by
// its primary key (user, id), so that its cost does not depend on how
// many IDs the user has denied.
func (s *Store) Revocation(ctx context.Context, user string, ids ...string) (driver.Revocation, error) {
	if ids == nil {
		ids = []string{}
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return driver.Revocation{}, fmt.Errorf("sqlitestore: revocation: %w", err)
	}
	rows, err := s.stmt.revocation.QueryContext(ctx, user, time.Now().UnixMilli(), string(list))
	if err != nil {
		return driver.Revocation{}, fmt.Errorf("sqlitestore: revocation: %w", err)
	}
	defer rows.Close()
	var r driver.Revocation
	for rows.Next() {
		var (
			kind            int
			before, expires int64 // for a denied ID, before is renewed
			id              string
		)
		if err := rows.Scan(&kind, &before, &id, &expires); err != nil {
			return driver.Revocation{}, fmt.Errorf("sqlitestore: revocation: %w", err)
		}
		if kind == 0 {
			r.Before, r.Keep, r.Expires = fromMS(before), id, fromMS(expires)
			continue
		}
		if r.Denied == nil {
			r.Denied = make(map[string]bool, len(ids))
		}
		r.Denied[id] = before != 0
	}
	if err := rows.Err(); err != nil {
		return driver.Revocation{}, fmt.Errorf("sqlitestore: revocation: %w", err)
	}
	return r, nil
}
