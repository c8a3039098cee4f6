package pgstore

import (
	"context"
	"fmt"
	"github.com/sesame-go/sesame/driver"
	"time"
)

// Stats returns a summary of the store's sessions. It is one SELECT that
// reads every row of the sessions table and decodes its values: an O(N)
// administrative query, not one to run on a request's path. Expiry is
// judged by the application's clock, as everywhere in the store.
func (s *Store) Stats(ctx context.Context) (driver.Stats, error) {
	var st driver.Stats
	err := s.pool.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE expires > $1),
		count(DISTINCT user_id) FILTER (WHERE expires > $1 AND user_id <> ''),
		count(*) FILTER (WHERE expires <= $1),
		coalesce(sum(size) FILTER (WHERE expires > $1), 0)::bigint,
		coalesce(max(size) FILTER (WHERE expires > $1), 0)::bigint
	FROM (SELECT user_id, expires,
		(SELECT coalesce(sum(octet_length(j.value)), 0) FROM jsonb_each_text(t.data) AS j) AS size
		FROM `+s.table.Sanitize()+` AS t) AS sizes`, time.Now()).
		Scan(&st.Sessions, &st.Users, &st.Expired, &st.TotalBytes, &st.LargestBytes)
	if err != nil {
		return driver.Stats{}, fmt.Errorf("pgstore: stats of %s: %w", s.table.Sanitize(), err)
	}
	return st, nil
}

// SchemaVersion returns the schema version recorded in the store's tables
// (0 if none). New migrates them to the package's SchemaVersion, so on a
// Store the two are equal unless another instance changed the tables since.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	return s.version(ctx, s.pool)
}
