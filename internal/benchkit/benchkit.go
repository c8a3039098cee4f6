// Package benchkit holds what the in-process benchmarks of every package
// share: the session the cross-library benchmarks use, a reusable response
// writer, and a loop that serves one request b.N times.
package benchkit

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sesame-go/sesame"
)

// Fill puts the benchmarks' session into s: {user_id int, name string,
// roles [3]string}.
func Fill(s *sesame.Session) {
	s.Put("user_id", 42)
	s.Put("name", "Alice Example")
	s.Put("roles", [3]string{"admin", "editor", "viewer"})
}

// NewSession creates a session filled by Fill through m and returns its
// cookie value.
func NewSession(b testing.TB, m *sesame.Manager) string {
	b.Helper()
	return NewSessionWith(b, m, Fill)
}

// NewSessionWith creates a session filled by fill through m and returns its
// cookie value.
func NewSessionWith(b testing.TB, m *sesame.Manager, fill func(*sesame.Session)) string {
	b.Helper()
	rec := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fill(sesame.FromContext(r.Context()))
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	for _, c := range rec.Result().Cookies() {
		if c.Name == m.Name() {
			return c.Value
		}
	}
	b.Fatal("no session cookie")
	return ""
}

// discard is a reusable ResponseWriter, so benchmarks measure the session
// work rather than a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// Serve runs h, behind m unless m is nil, for b.N requests carrying the
// session cookie value (none if "").
func Serve(b *testing.B, m *sesame.Manager, cookie string, h http.HandlerFunc) {
	b.Helper()
	req := httptest.NewRequest("GET", "/", nil)
	if m != nil && cookie != "" {
		req.Header.Set("Cookie", m.Name()+"="+cookie)
	}
	ServeRequest(b, m, req, h)
}

// ServeRequest runs h, behind m unless m is nil, for b.N copies of req.
func ServeRequest(b *testing.B, m *sesame.Manager, req *http.Request, h http.HandlerFunc) {
	b.Helper()
	handler := http.Handler(h)
	if m != nil {
		handler = m.Handler(h)
	}
	w := &discard{h: make(http.Header)}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		clear(w.h)
		handler.ServeHTTP(w, req)
	}
}

// Read returns the handler of the read scenario: it reads user_id and fails
// the benchmark unless it is 42.
func Read(b testing.TB) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if id, _ := sesame.Get[int](sesame.FromContext(r.Context()), "user_id"); id != 42 {
			b.Fatal("user_id not read")
		}
	}
}

// Create puts user_id into a new session.
func Create(w http.ResponseWriter, r *http.Request) {
	sesame.FromContext(r.Context()).Put("user_id", 42)
}

// Update increments a counter.
func Update(w http.ResponseWriter, r *http.Request) {
	s := sesame.FromContext(r.Context())
	n, _ := sesame.Get[int](s, "counter")
	s.Put("counter", n+1)
}
