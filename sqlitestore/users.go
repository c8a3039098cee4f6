package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sesame-go/sesame/driver"
)

// sessionsQuery lists a user's live sessions through the user index: the
// term requiring a non-empty user_id lets SQLite use the partial index.
// ?1 user, ?2 now.
const sessionsQuery = `SELECT id, created, last_seen, deadline, expires, authenticated_at, user_agent, ip
	FROM sesame_sessions WHERE user_id = ?1 AND user_id <> '' AND expires > ?2`

// deleteUserQuery deletes a user's sessions but one through the user
// index. ?1 user, ?2 the ID to keep.
const deleteUserQuery = `DELETE FROM sesame_sessions WHERE user_id = ?1 AND user_id <> '' AND id <> ?2`

// Sessions implements driver.UserStore. It reads only user's rows, through
// the user index. Sessions without a user are not indexed: Sessions("")
// lists none.
func (s *Store) Sessions(ctx context.Context, user string) ([]driver.Info, error) {
	list, err := sessions(ctx, s.db, user, time.Now().UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: sessions: %w", err)
	}
	return list, nil
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// sessions lists the live sessions of user with sessionsQuery.
func sessions(ctx context.Context, q querier, user string, now int64) ([]driver.Info, error) {
	rows, err := q.QueryContext(ctx, sessionsQuery, user, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []driver.Info
	for rows.Next() {
		var created, lastSeen, deadline, expires, auth int64
		info := driver.Info{User: user}
		if err := rows.Scan(&info.ID, &created, &lastSeen, &deadline, &expires, &auth, &info.Device.UserAgent, &info.Device.IP); err != nil {
			return nil, err
		}
		info.Created, info.LastSeen, info.Expires = fromMS(created), fromMS(lastSeen), fromMS(expires)
		info.Deadline = fromMS(deadline)
		info.AuthenticatedAt = fromMS(auth)
		list = append(list, info)
	}
	return list, rows.Err()
}

// DeleteUser implements driver.UserDeleter. It touches only user's rows,
// through the user index. Expired sessions not yet purged are deleted and
// counted too. DeleteUser("", keep) deletes nothing.
func (s *Store) DeleteUser(ctx context.Context, user, keep string) (int, error) {
	unlock, err := s.lock(ctx)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: delete user: %w", err)
	}
	defer unlock()
	res, err := s.db.ExecContext(ctx, deleteUserQuery, user, keep)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: delete user: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: delete user: %w", err)
	}
	return int(n), nil
}
