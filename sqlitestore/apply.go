package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sesame-go/sesame/driver"
)

// The statements of Apply (and, for deltaSet, Renew), prepared once per
// Store (see stmts). The numbered parameters are listed with each.
const (
	// deltaSet applies a driver.Delta as Delta.ApplyTo does; every column
	// on the right is the row's old value. The values: Clear empties
	// them, then json_patch applies the patch (deleted keys map to null,
	// set keys to their encoding as a JSON string, which merge-patch
	// replaces wholesale); a NULL patch (a touch) leaves them alone.
	// Expires is capped at the deadline, the new one if the delta sets
	// one. A delta that gives the record to another, non-empty, user
	// without authenticating (driver.Delta.ChangesUser) clears
	// authenticated_at. Parameters: ?3 clear, ?4 patch (NULL: no value
	// changes), ?5 user (NULL keeps it), ?6 persist (NULL keeps it), ?7
	// created (0 keeps it), ?8 deadline (0 keeps it), ?9 last seen, ?10
	// expires, ?11 authenticated at (0 keeps it, unless the user changes),
	// ?12 and ?13 the device's user agent and IP (both NULL keep the
	// device).
	deltaSet = `vals = CASE WHEN ?4 IS NULL THEN vals
			ELSE json_patch(CASE WHEN ?3 THEN '{}' ELSE vals END, ?4) END,
		user_id = coalesce(?5, user_id),
		persist = coalesce(?6, persist),
		created = CASE WHEN ?7 <> 0 THEN ?7 ELSE created END,
		deadline = CASE WHEN ?8 <> 0 THEN ?8 ELSE deadline END,
		authenticated_at = CASE WHEN ?11 <> 0 THEN ?11
			WHEN ?5 IS NOT NULL AND ?5 <> '' AND ?5 <> user_id THEN 0
			ELSE authenticated_at END,
		user_agent = coalesce(?12, user_agent),
		ip = coalesce(?13, ip),
		last_seen = ?9,
		expires = CASE WHEN ?8 <> 0 THEN min(?8, ?10) WHEN deadline <> 0 THEN min(deadline, ?10) ELSE ?10 END`
	// applyQuery applies a delta to a live record. ?1 id, ?2 now, then
	// deltaSet's.
	applyQuery = `UPDATE sesame_sessions SET ` + deltaSet + ` WHERE id = ?1 AND expires > ?2`
	// applyEmptyingQuery is applyQuery reporting whether the record is
	// now empty: no values and no user.
	applyEmptyingQuery = applyQuery + ` RETURNING vals = '{}' AND user_id = ''`
	// deleteIDQuery deletes one record. ?1 id.
	deleteIDQuery = `DELETE FROM sesame_sessions WHERE id = ?1`
)

// encodePatch returns the JSON merge patch of a delta's key changes:
// deleted keys map to null, set keys to their encoding as a JSON string
// (Set wins over Delete, as in Delta.ApplyTo). It returns nil, for SQL
// NULL, when the delta changes no keys (a touch).
func encodePatch(d *driver.Delta) (any, error) {
	if !d.Clear && len(d.Delete) == 0 && len(d.Set) == 0 {
		return nil, nil
	}
	patch := make(map[string]any, len(d.Delete)+len(d.Set))
	for _, k := range d.Delete {
		patch[k] = nil
	}
	for k, v := range d.Set {
		b, err := driver.MarshalValue(v)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: value %q: %w", k, err)
		}
		patch[k] = string(b)
	}
	b, err := json.Marshal(patch)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: encode delta: %w", err)
	}
	return string(b), nil
}

// deltaArgs returns the arguments of applyQuery (and, with newID appended,
// renewMoveQuery) for d.
func deltaArgs(id string, now int64, d *driver.Delta) ([]any, error) {
	patch, err := encodePatch(d)
	if err != nil {
		return nil, err
	}
	var user, persist, ua, ip any
	if d.User != nil {
		user = *d.User
	}
	if d.Persist != nil {
		persist = *d.Persist
	}
	if d.Device != nil {
		ua, ip = d.Device.UserAgent, d.Device.IP
	}
	return []any{id, now, d.Clear, patch, user, persist, ms(d.Created), ms(d.Deadline), ms(d.LastSeen), ms(d.Expires),
		ms(d.AuthenticatedAt), ua, ip}, nil
}

// Apply implements driver.DeltaStore. A touch or an additive delta is one
// UPDATE statement, which merges the key changes into the stored values
// with json_patch. A delta that can empty the record (d.Emptying) is one
// transaction: the same UPDATE, returning whether the record is now empty,
// then a DELETE if it is. If no live record exists Apply changes nothing
// and returns an error wrapping driver.ErrNotFound (and driver.ErrRenewed
// if id was renewed away).
func (s *Store) Apply(ctx context.Context, id string, d *driver.Delta) (bool, error) {
	now := time.Now().UnixMilli()
	args, err := deltaArgs(id, now, d)
	if err != nil {
		return false, err
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: apply: %w", err)
	}
	defer unlock()
	if !d.Emptying() {
		res, err := s.stmt.apply.ExecContext(ctx, args...)
		if err != nil {
			return false, fmt.Errorf("sqlitestore: apply: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return false, fmt.Errorf("sqlitestore: apply: %w", err)
		}
		if n == 0 {
			return false, s.notFound(ctx, "apply", id, now)
		}
		return false, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: apply: %w", err)
	}
	defer tx.Rollback()
	// The first statement writes, so the transaction holds the write lock
	// from its start even if it began DEFERRED.
	var empty bool
	err = tx.StmtContext(ctx, s.stmt.applyEmptying).QueryRowContext(ctx, args...).Scan(&empty)
	if errors.Is(err, sql.ErrNoRows) {
		tx.Rollback()
		return false, s.notFound(ctx, "apply", id, now)
	}
	if err != nil {
		return false, fmt.Errorf("sqlitestore: apply: %w", err)
	}
	if empty {
		if _, err := tx.StmtContext(ctx, s.stmt.deleteID).ExecContext(ctx, id); err != nil {
			return false, fmt.Errorf("sqlitestore: apply: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlitestore: apply: %w", err)
	}
	return empty, nil
}
