package cookiestore_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/cookiestore"
	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/memstore"
)

// This example loads the key ring from the SESAME_KEYS environment
// variable, keeps revocation marks in a memstore, and serves one request.
func Example() {
	// In production SESAME_KEYS comes from the deployment, newest key first,
	// in the form FormatKeys prints ("ID:SECRET,ID:SECRET").
	key, _ := cookiestore.GenerateKey("2026-01")
	os.Setenv(cookiestore.EnvKeys, cookiestore.FormatKeys(key))

	keys, err := cookiestore.KeysFromEnv()
	if err != nil {
		log.Fatal(err) // for example: cookiestore: SESAME_KEYS: key 1 ("2026-01"): secret is 16 bytes, want 32
	}
	marks := memstore.New(memstore.Options{}) // any driver.RevocationStore, so RevokeAll works
	defer marks.Close()
	store, err := cookiestore.New(cookiestore.Options{
		Keys:       keys,
		Revocation: marks,
		Lifetime:   driver.DefaultLifetime, // the Manager's Lifetime
	})
	if err != nil {
		log.Fatal(err)
	}
	sessions := sesame.New(sesame.Config{Sealer: store, Lifetime: driver.DefaultLifetime})

	handler := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sesame.FromContext(r.Context())
		if err := s.Renew(); err != nil {
			http.Error(w, "session error", http.StatusInternalServerError)
			return
		}
		s.SetUser("alice")
		s.Put("cart", []string{"apple"})
	}))
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest("POST", "https://example.com/login", nil))
	c := rec.Result().Cookies()[0]
	fmt.Println(c.Name, c.HttpOnly, c.Secure, len(c.Value) > 0)
	// Output: __Host-session true true true
}

// This example prints a new key in the text form that SESAME_KEYS and
// ParseKeys take, as a key generator command does. To rotate, put the new
// key first and keep the old ones after it.
func ExampleGenerateKey() {
	key, err := cookiestore.GenerateKey("") // ID from today's date
	if err != nil {
		log.Fatal(err)
	}
	old := os.Getenv(cookiestore.EnvKeys)
	ring := cookiestore.FormatKeys(key)
	if old != "" {
		ring += "," + old
	}
	fmt.Printf("SESAME_KEYS=%s\n", ring)
}
