package sesame_test

import (
	"net/http"
	"net/http/httptest"
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
	// Reading a value that holds a map costs a private copy (a clone of
	// the map) on memstore, so that parallel readers may modify what they
	// get.
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

// BenchmarkManage measures what sessions people can manage cost on
// memstore: an atomic Update against a Get and Put, a login with and
// without a cap, and a new session with a browser's User-Agent recorded.
func BenchmarkManage(b *testing.B) {
	newManager := func(b *testing.B, cfg sesame.Config) *sesame.Manager {
		st := memstore.New(memstore.Options{})
		b.Cleanup(func() { st.Close() })
		cfg.Store = st
		return sesame.New(cfg)
	}
	incr := func(n int) (int, error) { return n + 1, nil }
	b.Run("get-put", func(b *testing.B) {
		m := newManager(b, sesame.Config{})
		benchkit.Serve(b, m, benchkit.NewSession(b, m), func(w http.ResponseWriter, r *http.Request) {
			s := sesame.FromContext(r.Context())
			n, _ := sesame.Get[int](s, "user_id")
			s.Put("user_id", n+1)
		})
	})
	b.Run("update", func(b *testing.B) {
		m := newManager(b, sesame.Config{})
		benchkit.Serve(b, m, benchkit.NewSession(b, m), func(w http.ResponseWriter, r *http.Request) {
			if _, err := sesame.Update(sesame.FromContext(r.Context()), "user_id", incr); err != nil {
				b.Fatal(err)
			}
		})
	})
	login := func(w http.ResponseWriter, r *http.Request) { sesame.FromContext(r.Context()).Login("alice") }
	b.Run("login", func(b *testing.B) {
		benchkit.Serve(b, newManager(b, sesame.Config{}), "", login)
	})
	b.Run("login-capped-at-3", func(b *testing.B) {
		benchkit.Serve(b, newManager(b, sesame.Config{MaxSessionsPerUser: 3}), "", login)
	})
	b.Run("create", func(b *testing.B) {
		benchkit.Serve(b, newManager(b, sesame.Config{}), "", benchkit.Create)
	})
	b.Run("create-with-user-agent", func(b *testing.B) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36")
		benchkit.ServeRequest(b, newManager(b, sesame.Config{}), req, benchkit.Create)
	})
}
