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
		st := memstore.New(memstore.Options{})
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
	// Reading a value that holds a map costs a private copy (a JSON round
	// trip) on memstore, so that parallel readers may modify what they get.
	b.Run("read-map", func(b *testing.B) {
		m := newManager(b)
		cart := map[string]int{"apple": 1, "pear": 2, "plum": 3, "fig": 4, "kiwi": 5}
		cookie := benchkit.NewSessionWith(b, m, func(s *sesame.Session) { s.Put("cart", cart) })
		benchkit.Serve(b, m, cookie, func(w http.ResponseWriter, r *http.Request) {
			if c, _ := sesame.Get[map[string]int](sesame.FromContext(r.Context()), "cart"); len(c) != 5 {
				b.Fatal("cart not read")
			}
		})
	})
}
