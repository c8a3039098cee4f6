package cookiestore_test

import (
	"testing"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/cookiestore"
	"github.com/sesame-go/sesame/internal/benchkit"
)

// The benchmarks follow the root package's (bench_test.go): the same
// session, handlers and response writer, with this store sealing the
// cookie.
func BenchmarkCookiestore(b *testing.B) {
	for _, mode := range []struct {
		name string
		cfg  cookiestore.Config
	}{
		{"sealed", cookiestore.Config{}},
		{"signed", cookiestore.Config{SignOnly: true}},
	} {
		newManager := func(b *testing.B) *sesame.Manager {
			return sesame.New(sesame.Config{Sealer: newStore(b, mode.cfg)})
		}
		b.Run(mode.name+"/read", func(b *testing.B) {
			m := newManager(b)
			benchkit.Serve(b, m, benchkit.NewSession(b, m), benchkit.Read(b))
		})
		b.Run(mode.name+"/create", func(b *testing.B) {
			benchkit.Serve(b, newManager(b), "", benchkit.Create)
		})
		b.Run(mode.name+"/update", func(b *testing.B) {
			m := newManager(b)
			benchkit.Serve(b, m, benchkit.NewSession(b, m), benchkit.Update)
		})
	}
}
