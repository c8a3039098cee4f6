package examples_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/memstore"
)

// Sesame in chi: Manager.Handler is a chi middleware. It goes after
// logging, recovery, compression and timeouts, and after cross-origin
// protection, before the routes.
func Example_chi() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions := sesame.New(sesame.Config{Store: store, Insecure: true})

	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(middleware.Compress(5))
	r.Use(middleware.Timeout(30 * time.Second))
	r.Use(http.NewCrossOriginProtection().Handler)
	r.Use(sessions.Handler)
	r.Post("/visit", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.FromContext(r.Context())
		n, _ := sesame.Get[int](s, "visits")
		s.Put("visits", n+1)
		fmt.Fprintf(w, "visit %d", n+1)
	})

	var cookies []*http.Cookie
	for range 2 {
		req := httptest.NewRequest("POST", "/visit", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if c := rec.Result().Cookies(); len(c) > 0 {
			cookies = c
		}
		fmt.Println(rec.Body.String())
	}
	// Output:
	// visit 1
	// visit 2
}
