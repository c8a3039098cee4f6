package cookiestore_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/cookiestore"
)

// The benchmarks follow the root package's (bench_test.go): the same
// session, handlers and response writer, with this store sealing the
// cookie.

// discard is a reusable ResponseWriter, so benchmarks measure the session
// work rather than a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// benchSession fills a session as the cross-library benchmarks do.
func benchSession(s *sesame.Session) {
	s.Put("user_id", 42)
	s.Put("name", "Alice Example")
	s.Put("roles", [3]string{"admin", "editor", "viewer"})
}

// serve runs h behind m for b.N requests carrying cookie (none if "").
func serve(b *testing.B, m *sesame.Manager, cookie string, h http.HandlerFunc) {
	b.Helper()
	handler := m.Handler(h)
	req := httptest.NewRequest("GET", "/", nil)
	if cookie != "" {
		req.Header.Set("Cookie", m.Name()+"="+cookie)
	}
	w := &discard{h: make(http.Header)}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		clear(w.h)
		handler.ServeHTTP(w, req)
	}
}

// benchManager returns a Manager on a cookie store and the cookie of a
// session filled by benchSession.
func benchManager(b *testing.B, cfg cookiestore.Config) (*sesame.Manager, string) {
	m := sesame.New(sesame.Config{Sealer: newStore(b, cfg)})
	rec := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		benchSession(sesame.FromContext(r.Context()))
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	return m, rec.Result().Cookies()[0].Value
}

func BenchmarkCookiestore(b *testing.B) {
	for _, mode := range []struct {
		name string
		cfg  cookiestore.Config
	}{
		{"sealed", cookiestore.Config{}},
		{"signed", cookiestore.Config{SignOnly: true}},
	} {
		b.Run(mode.name+"/read", func(b *testing.B) {
			m, cookie := benchManager(b, mode.cfg)
			serve(b, m, cookie, func(w http.ResponseWriter, r *http.Request) {
				if id, _ := sesame.Get[int](sesame.FromContext(r.Context()), "user_id"); id != 42 {
					b.Fatal("user_id not read")
				}
			})
		})
		b.Run(mode.name+"/create", func(b *testing.B) {
			m, _ := benchManager(b, mode.cfg)
			serve(b, m, "", func(w http.ResponseWriter, r *http.Request) {
				sesame.FromContext(r.Context()).Put("user_id", 42)
			})
		})
		b.Run(mode.name+"/update", func(b *testing.B) {
			m, cookie := benchManager(b, mode.cfg)
			serve(b, m, cookie, func(w http.ResponseWriter, r *http.Request) {
				s := sesame.FromContext(r.Context())
				n, _ := sesame.Get[int](s, "counter")
				s.Put("counter", n+1)
			})
		})
	}
}
