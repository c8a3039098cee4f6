package sqlitestore_test

import (
	"testing"
	"time"

	"github.com/sesame-go/sesame/internal/benchkit"
)

// BenchmarkBlindWrite measures a one-key Apply into sessions of 1, 100 and
// 10,000 keys.
func BenchmarkBlindWrite(b *testing.B) {
	benchkit.BlindWrite(b, open(b, tempDB(b)))
}

// BenchmarkLoadAmong measures a Load with 1,000 and 1,000,000 sessions in
// the store. The others are inserted by one SQL statement per size.
func BenchmarkLoadAmong(b *testing.B) {
	path := tempDB(b)
	st, db := open(b, path), rawDB(b, path)
	benchkit.LoadAmong(b, st, func(b *testing.B, from, to int) {
		now := time.Now()
		if _, err := db.ExecContext(b.Context(), `WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2 - 1)
			INSERT INTO sesame_sessions (id, user_id, vals, created, last_seen, deadline, expires)
			SELECT 'filler-' || i, '', '{"n":"1"}', ?3, ?3, ?4, ?4 FROM n`,
			from, to, now.UnixMilli(), now.Add(time.Hour).UnixMilli()); err != nil {
			b.Fatal(err)
		}
	})
}
