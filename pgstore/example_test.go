package pgstore_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/pgstore"
)

// This example keeps an app's sessions in PostgreSQL: it opens a pool,
// creates the store's tables on first use (concurrent starts are safe),
// purges expired sessions every five minutes, and lists and revokes a
// user's sessions through the Manager. It needs a server, so it is compiled
// but not run.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	st, err := pgstore.New(ctx, pool, pgstore.Options{
		Table:           "app.sessions", // default: sesame_sessions in the current schema
		CleanupInterval: 5 * time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close() // before pool.Close

	m := sesame.New(sesame.Config{Store: st})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.FromContext(r.Context())
		s.Renew() // a new ID at login
		s.SetUser("42")
	})
	mux.HandleFunc("GET /devices", func(w http.ResponseWriter, r *http.Request) {
		list, err := m.Sessions(r.Context(), sesame.FromContext(r.Context()).User())
		if err != nil {
			http.Error(w, "listing failed", http.StatusInternalServerError)
			return
		}
		log.Printf("%d sessions", len(list))
	})
	mux.HandleFunc("POST /logout-everywhere", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.FromContext(r.Context())
		m.RevokeAll(r.Context(), s.User(), s.ID()) // one DELETE on the user index
	})
	log.Fatal(http.ListenAndServe(":8080", m.Handler(mux)))
}
