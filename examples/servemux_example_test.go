package examples_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/memstore"
)

// Sesame on the standard ServeMux, with Go 1.22 patterns: the session
// middleware around the mux, cross-origin protection around both.
func Example_serveMux() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions := sesame.New(sesame.Config{Store: store, Insecure: true})

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login/{user}", func(w http.ResponseWriter, r *http.Request) {
		sesame.FromContext(r.Context()).Login(r.PathValue("user"))
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %q", sesame.FromContext(r.Context()).User())
	})
	handler := http.NewCrossOriginProtection().Handler(sessions.Handler(mux))

	login := httptest.NewRecorder()
	handler.ServeHTTP(login, httptest.NewRequest("POST", "/login/alice", nil))
	home := httptest.NewRequest("GET", "/", nil)
	for _, c := range login.Result().Cookies() {
		home.AddCookie(c)
	}
	page := httptest.NewRecorder()
	handler.ServeHTTP(page, home)
	fmt.Println(page.Body.String())
	// Output: hello "alice"
}
