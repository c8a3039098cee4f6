package itsdangerous_test

import (
	"fmt"
	"net/http"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/compat/itsdangerous"
	"github.com/sesame-go/sesame/memstore"
)

// Moving a Flask app to Sesame: visitors keep their session and their
// login (Flask-Login keeps the user in "_user_id").
func ExampleMigrate() {
	m := sesame.New(sesame.Config{Store: memstore.New(memstore.Options{})})
	flask := itsdangerous.Flask("the Flask app's SECRET_KEY")

	mux := http.NewServeMux()
	mux.HandleFunc("GET /cart", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.FromContext(r.Context())
		cart, _ := sesame.Get[[]int](s, "cart") // set by Flask, now in Sesame
		fmt.Fprintf(w, "%s has %d items\n", s.User(), len(cart))
	})

	adopt := itsdangerous.Migrate(m, flask, itsdangerous.MigrateOptions{UserKey: "_user_id"})
	handler := m.Handler(adopt(mux))
	_ = handler // http.ListenAndServe(":8080", handler)
}

// Reading a Flask session cookie.
func ExampleFlaskCodec_Decode() {
	flask := itsdangerous.Flask("secret")
	cookie, _ := flask.Encode(map[string]any{"user": "alice", "raw": []byte("hi")})

	session, _, err := flask.Decode(cookie)
	fmt.Println(session["user"], string(session["raw"].([]byte)), err)

	_, _, err = itsdangerous.Flask("another secret").Decode(cookie)
	fmt.Println(err != nil)
	// Output:
	// alice hi <nil>
	// true
}
