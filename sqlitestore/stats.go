package sqlitestore

import (
	"context"
	"fmt"
	"github.com/sesame-go/sesame/driver"
	"time"
)

// Stats returns a summary of the store's sessions. It is one SELECT that
// reads every row of sesame_sessions and decodes its values: an O(N)
// administrative query, not one to run on a request's path.
func (s *Store) Stats(ctx context.Context) (driver.Stats, error) {
	var st driver.Stats
	err := s.db.QueryRowContext(ctx, `SELECT
		count(*) FILTER (WHERE expires > ?1),
		count(DISTINCT user_id) FILTER (WHERE expires > ?1 AND user_id <> ''),
		count(*) FILTER (WHERE expires <= ?1),
		coalesce(sum(size) FILTER (WHERE expires > ?1), 0),
		coalesce(max(size) FILTER (WHERE expires > ?1), 0)
	FROM (SELECT user_id, expires,
		(SELECT coalesce(sum(length(CAST(j.value AS BLOB))), 0) FROM json_each(s.vals) AS j) AS size
		FROM sesame_sessions AS s)`, time.Now().UnixMilli()).
		Scan(&st.Sessions, &st.Users, &st.Expired, &st.TotalBytes, &st.LargestBytes)
	if err != nil {
		return driver.Stats{}, fmt.Errorf("sqlitestore: stats: %w", err)
	}
	return st, nil
}

// SchemaVersion returns the schema version recorded in the database
// (have) and the version this package creates and expects (want). Open
// and New migrate the database to want, so on an open Store the two are
// equal unless another process changed the file since.
func (s *Store) SchemaVersion(ctx context.Context) (have, want int, err error) {
	if err := s.db.QueryRowContext(ctx, `SELECT version FROM sesame_schema`).Scan(&have); err != nil {
		return 0, schemaVersion, fmt.Errorf("sqlitestore: reading the schema version: %w", err)
	}
	return have, schemaVersion, nil
}
