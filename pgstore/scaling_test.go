package pgstore

import (
	"testing"
	"time"

	"github.com/sesame-go/sesame/internal/benchkit"
)

// BenchmarkBlindWrite measures a one-key Apply into sessions of 1, 100 and
// 10,000 keys.
func BenchmarkBlindWrite(b *testing.B) {
	pool := testPool(b, 0)
	benchkit.BlindWrite(b, newStore(b, pool, Options{}))
}

// BenchmarkLoadAmong measures a Load with 1,000 and 1,000,000 sessions in
// the store. The others are inserted by one SQL statement per size.
func BenchmarkLoadAmong(b *testing.B) {
	pool := testPool(b, 0)
	st := newStore(b, pool, Options{})
	benchkit.LoadAmong(b, st, func(b *testing.B, from, to int) {
		now := time.Now()
		if _, err := pool.Exec(b.Context(), `INSERT INTO `+st.table.Sanitize()+`
	(id, data, user_id, created, last_seen, deadline, expires)
SELECT 'filler-' || i, '{"n":"1"}', '', $1, $1, $2, $2
FROM generate_series($3::int, $4::int - 1) AS i`, now, now.Add(time.Hour), from, to); err != nil {
			b.Fatal(err)
		}
		analyze(b, pool, st)
	})
}
