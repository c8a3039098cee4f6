package redisstore

import (
	"testing"

	"github.com/sesame-go/sesame/internal/benchkit"
)

// BenchmarkBlindWrite measures a one-key Apply into sessions of 1, 100 and
// 10,000 keys.
func BenchmarkBlindWrite(b *testing.B) {
	st := testStore(b, standalone(b))
	if err := st.LoadScripts(b.Context()); err != nil {
		b.Fatal(err)
	}
	benchkit.BlindWrite(b, st)
}

// BenchmarkLoadAmong measures a Load with 1,000 and 1,000,000 sessions in
// the store. The others are saved in pipelines of 500.
func BenchmarkLoadAmong(b *testing.B) {
	st := testStore(b, standalone(b))
	anon := func(int) string { return "" }
	benchkit.LoadAmong(b, st, func(b *testing.B, from, to int) {
		populate(b, st, "filler", from, to, anon)
	})
}
