package sesame_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/memstore"
)

// get sends a GET request through h with the given cookie and returns the
// response.
func get(h http.Handler, path, cookie string) *http.Response {
	req := httptest.NewRequest("GET", path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

// sessionCookie returns the response's session cookie as a Cookie header.
func sessionCookie(resp *http.Response) string {
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-session" {
			return c.Name + "=" + c.Value
		}
	}
	return ""
}

func Example() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions := sesame.New(sesame.Config{Store: store})

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.FromContext(r.Context())
		n, _ := sesame.Get[int](s, "visits")
		s.Put("visits", n+1)
		fmt.Fprintf(w, "visit %d", n+1)
	})
	app := sessions.Handler(mux)

	cookie := ""
	for range 3 {
		resp := get(app, "/", cookie)
		if c := sessionCookie(resp); c != "" {
			cookie = c
		}
		var body [16]byte
		n, _ := resp.Body.Read(body[:])
		fmt.Println(string(body[:n]))
	}
	// Output:
	// visit 1
	// visit 2
	// visit 3
}

// Login gives the session a new token, its user and a new lifetime, and
// keeps its data; the old token stops working, which defeats session
// fixation.
func ExampleSession_Login() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions := sesame.New(sesame.Config{Store: store})
	app := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sesame.FromContext(r.Context())
		switch r.URL.Path {
		case "/cart":
			s.Put("cart", []string{"apple"})
		case "/login":
			s.Login("alice") // once the password checked out
		case "/me":
			cart, _ := sesame.Get[[]string](s, "cart")
			fmt.Printf("user %q, cart %v\n", s.User(), cart)
		}
	}))

	before := sessionCookie(get(app, "/cart", ""))
	after := sessionCookie(get(app, "/login", before))
	fmt.Println("new token:", after != before)
	get(app, "/me", after)
	get(app, "/me", before)
	// Output:
	// new token: true
	// user "alice", cart [apple]
	// user "", cart []
}

// Lookup tells a missing key from a value of another type; Get folds both
// into its boolean.
func ExampleLookup() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions := sesame.New(sesame.Config{Store: store})
	app := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sesame.FromContext(r.Context())
		s.Put("since", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))

		since, err := sesame.Lookup[time.Time](s, "since")
		fmt.Println(since.Format(time.DateOnly), err)

		_, err = sesame.Lookup[int](s, "since")
		var te *sesame.TypeError
		fmt.Println(errors.As(err, &te))

		_, err = sesame.Lookup[int](s, "missing")
		fmt.Println(errors.Is(err, sesame.ErrNoKey))
	}))
	get(app, "/", "")
	// Output:
	// 2026-01-02 <nil>
	// true
	// true
}

// RevokeAll logs a user out everywhere except the current session, for
// example after a password change.
func ExampleManager_RevokeAll() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions := sesame.New(sesame.Config{Store: store})
	login := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sesame.FromContext(r.Context()).Login("alice")
	}))
	phone := sessionCookie(get(login, "/", ""))
	laptop := sessionCookie(get(login, "/", ""))

	var current, user string
	whoami := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sesame.FromContext(r.Context())
		current, user = s.ID(), s.User()
	}))
	get(whoami, "/", laptop)

	list, _ := sessions.Sessions(context.Background(), "alice")
	fmt.Println("sessions before:", len(list))
	n, _ := sessions.RevokeAll(context.Background(), "alice", current)
	list, _ = sessions.Sessions(context.Background(), "alice")
	fmt.Println("revoked:", n, "left:", len(list), "kept laptop:", list[0].ID == current)
	get(whoami, "/", phone)
	fmt.Printf("phone user: %q\n", user)
	// Output:
	// sessions before: 2
	// revoked: 1 left: 1 kept laptop: true
	// phone user: ""
}

// Renew rotates the token on a change of privilege, without a new login: the
// absolute deadline stays, so periodic rotation never extends a session.
func ExampleSession_Renew() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions := sesame.New(sesame.Config{Store: store})
	var deadline time.Time
	app := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sesame.FromContext(r.Context())
		switch r.URL.Path {
		case "/login":
			s.Login("alice")
		case "/sudo":
			deadline = s.Info().Deadline
			s.Put("sudo", true)
			s.Renew()
		case "/me":
			sudo, _ := sesame.Get[bool](s, "sudo")
			fmt.Println("user", s.User(), "sudo", sudo, "same deadline", s.Info().Deadline.Equal(deadline))
		}
	}))
	c := sessionCookie(get(app, "/login", ""))
	renewed := sessionCookie(get(app, "/sudo", c))
	get(app, "/me", renewed)
	get(app, "/me", c)
	// Output:
	// user alice sudo true same deadline true
	// user  sudo false same deadline false
}

// Update changes a value atomically in the store: a counter clicked in two
// tabs at once never loses a click, and the handler shows the committed
// value.
func ExampleUpdate() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions := sesame.New(sesame.Config{Store: store})
	app := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := sesame.Update(sesame.FromContext(r.Context()), "clicks", func(n int) (int, error) { return n + 1, nil })
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, n)
	}))

	cookie := sessionCookie(get(app, "/", ""))
	done := make(chan struct{})
	for range 10 { // ten tabs at once
		go func() { get(app, "/", cookie); done <- struct{}{} }()
	}
	for range 10 {
		<-done
	}
	body, _ := io.ReadAll(get(app, "/", cookie).Body)
	fmt.Println("clicks:", string(body))
	// Output:
	// clicks: 12
}

// RequireFresh guards a sensitive route: a login older than the given age
// must reauthenticate first (here, a redirect to a password prompt whose
// handler calls Reauthenticate).
func ExampleRequireFresh() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions := sesame.New(sesame.Config{Store: store})
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		sesame.FromContext(r.Context()).Login("alice")
	})
	sensitive := sesame.RequireFresh(10*time.Minute, http.RedirectHandler("/confirm-password", http.StatusSeeOther))
	mux.Handle("/delete-account", sensitive(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "deleted")
	})))
	app := sessions.Handler(mux)

	fmt.Println("anonymous:", get(app, "/delete-account", "").StatusCode)
	cookie := sessionCookie(get(app, "/login", ""))
	fmt.Println("just logged in:", get(app, "/delete-account", cookie).StatusCode)
	// Output:
	// anonymous: 303
	// just logged in: 200
}

// A user's list of devices: each session records its client's User-Agent
// and address at creation and login, and Manager.Sessions labels them.
func ExampleManager_Sessions() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions := sesame.New(sesame.Config{
		Store:     store,
		IPStorage: sesame.IPPrefix, // keep a /24 or /48 only
		DeviceLabel: func(ua string) string { // or device.Label
			return map[string]string{"phone-ua": "Safari on iPhone"}[ua]
		},
	})
	app := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sesame.FromContext(r.Context()).Login("alice")
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("User-Agent", "phone-ua")
	req.RemoteAddr = "203.0.113.9:5555"
	app.ServeHTTP(httptest.NewRecorder(), req)

	list, _ := sessions.Sessions(context.Background(), "alice")
	for _, s := range list {
		fmt.Printf("%s from %s\n", s.Label, s.Device.IP)
	}
	// Output:
	// Safari on iPhone from 203.0.113.0/24
}
