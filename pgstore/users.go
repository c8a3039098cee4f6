package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sesame-go/sesame/driver"
)

// Sessions implements driver.UserStore, in one query on the user index.
func (s *Store) Sessions(ctx context.Context, user string) ([]driver.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if user == "" {
		return nil, nil // sessions without a user are not indexed
	}
	list, err := infos(ctx, s.pool, s.q.sessions, user, time.Now())
	if err != nil {
		return nil, fmt.Errorf("pgstore: sessions: %w", err)
	}
	return list, nil
}

// infos runs sql, the sessions or capList query, for user at now, and
// returns the Info of each row.
func infos(ctx context.Context, q querier, sql, user string, now time.Time) ([]driver.Info, error) {
	rows, err := q.Query(ctx, sql, user, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []driver.Info
	for rows.Next() {
		info := driver.Info{User: user}
		var deadline, auth pgtype.Timestamptz
		if err := rows.Scan(&info.ID, &info.Created, &info.LastSeen, &deadline, &info.Expires,
			&auth, &info.Device.UserAgent, &info.Device.IP); err != nil {
			return nil, err
		}
		info.Deadline, info.AuthenticatedAt = deadline.Time, auth.Time
		list = append(list, info)
	}
	return list, rows.Err()
}

// DeleteUser implements driver.UserDeleter, in one DELETE statement on the
// user index.
func (s *Store) DeleteUser(ctx context.Context, user, keep string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if user == "" {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, s.q.deleteUser, user, keep)
	if err != nil {
		return 0, fmt.Errorf("pgstore: delete user: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
