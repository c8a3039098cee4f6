package memstore_test

import (
	"testing"

	"github.com/sesame-go/sesame/internal/benchkit"
	"github.com/sesame-go/sesame/memstore"
)

// BenchmarkBlindWrite measures a one-key Apply into sessions of 1, 100 and
// 10,000 keys.
func BenchmarkBlindWrite(b *testing.B) {
	st := memstore.New(memstore.Options{CleanupInterval: -1})
	b.Cleanup(func() { st.Close() })
	benchkit.BlindWrite(b, st)
}

// BenchmarkLoadAmong measures a Load with 1,000 and 1,000,000 sessions in
// the store.
func BenchmarkLoadAmong(b *testing.B) {
	st := memstore.New(memstore.Options{CleanupInterval: -1})
	b.Cleanup(func() { st.Close() })
	benchkit.LoadAmong(b, st, benchkit.SaveFill(st))
}
