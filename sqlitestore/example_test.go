package sqlitestore_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/sqlitestore"
)

// Open a store on a database file and serve sessions from it. The file and
// its tables are created on first use, and sessions survive a restart.
func Example() {
	dir, err := os.MkdirTemp("", "sesame-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sessions.db")

	// serve runs one request against a store opened on path, as a new
	// process would, and returns the session cookie it got back.
	serve := func(cookie *http.Cookie) *http.Cookie {
		st, err := sqlitestore.Open(context.Background(), path, sqlitestore.Options{})
		if err != nil {
			log.Fatal(err)
		}
		defer st.Close() // stops the janitor and closes the database

		m := sesame.New(sesame.Config{Store: st})
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := sesame.FromContext(r.Context())
			n, _ := sesame.Get[int](s, "visits")
			s.Put("visits", n+1)
			fmt.Printf("visit %d\n", n+1)
		}))
		req := httptest.NewRequest("GET", "/", nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if c := rec.Result().Cookies(); len(c) > 0 {
			return c[0]
		}
		return cookie
	}

	cookie := serve(nil)
	serve(cookie) // after a "restart": same file, same session
	// Output:
	// visit 1
	// visit 2
}
