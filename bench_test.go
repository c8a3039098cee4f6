package sesame_test

import (
	"net/http"
	"testing"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/internal/benchkit"
	"github.com/sesame-go/sesame/memstore"
)

func BenchmarkMemstore(b *testing.B) {
	newManager := func(b *testing.B) *sesame.Manager {
		st := memstore.New()
		b.Cleanup(func() { st.Close() })
		return sesame.New(sesame.Config{Store: st})
	}
	b.Run("baseline-no-session", func(b *testing.B) {
		benchkit.Serve(b, nil, "", func(w http.ResponseWriter, r *http.Request) {})
	})
	b.Run("untouched", func(b *testing.B) {
		benchkit.Serve(b, newManager(b), "", func(w http.ResponseWriter, r *http.Request) {})
	})
	b.Run("read", func(b *testing.B) {
		m := newManager(b)
		benchkit.Serve(b, m, benchkit.NewSession(b, m), benchkit.Read(b))
	})
	b.Run("create", func(b *testing.B) {
		benchkit.Serve(b, newManager(b), "", benchkit.Create)
	})
	b.Run("update", func(b *testing.B) {
		m := newManager(b)
		benchkit.Serve(b, m, benchkit.NewSession(b, m), benchkit.Update)
	})
}
