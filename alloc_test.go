package sesame_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/internal/benchkit"
	"github.com/sesame-go/sesame/internal/testenv"
	"github.com/sesame-go/sesame/memstore"
)

// TestHotPathAllocations pins the allocation counts that Manager.Handler
// documents for memstore, so that they cannot drift: a change that adds
// an allocation to a request fails here, not only in a benchmark.
func TestHotPathAllocations(t *testing.T) {
	if testenv.Race {
		t.Skip("the race detector adds allocations")
	}
	st := memstore.New(memstore.Options{})
	defer st.Close()
	m := sesame.New(sesame.Config{Store: st})
	cookie := benchkit.NewSession(t, m)
	// The scenarios of BenchmarkMemstore, whose counts Handler documents.
	for _, tt := range []struct {
		name   string
		cookie string
		h      http.HandlerFunc
		want   float64
	}{
		{"untouched", "", func(w http.ResponseWriter, r *http.Request) {}, 2},
		{"read", cookie, benchkit.Read(t), 3},
		{"create", "", benchkit.Create, 9},
		{"update", cookie, benchkit.Update, 13},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			if tt.cookie != "" {
				req.Header.Set("Cookie", m.Name()+"="+tt.cookie)
			}
			h := m.Handler(tt.h)
			w := &discard{h: make(http.Header)}
			got := testing.AllocsPerRun(200, func() {
				clear(w.h)
				h.ServeHTTP(w, req)
			})
			if got != tt.want {
				t.Errorf("%s request: %v allocations, want %v (see Manager.Handler)", tt.name, got, tt.want)
			}
		})
	}
}

// discard is a ResponseWriter that keeps only its header map.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// TestUntouchedRequestBytes pins what a request that does not use its
// session allocates: the middleware's one slab (256 bytes, see
// Manager.Handler) and the request copy that WithContext makes, at most
// 600 bytes in all over a bare handler.
func TestUntouchedRequestBytes(t *testing.T) {
	if testenv.Race {
		t.Skip("the race detector adds allocations")
	}
	st := memstore.New(memstore.Options{})
	defer st.Close()
	h := sesame.New(sesame.Config{Store: st}).Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tmpl := httptest.NewRequest("GET", "/", nil)
	req := new(http.Request)
	w := &discard{h: make(http.Header)}
	const n = 1000
	perRequest := func() float64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range n {
			*req = *tmpl
			h.ServeHTTP(w, req)
		}
		runtime.ReadMemStats(&after)
		return float64(after.TotalAlloc-before.TotalAlloc) / n
	}
	got := perRequest()
	for range 2 { // the least of three, in case another goroutine allocated
		got = min(got, perRequest())
	}
	if got > 600 {
		t.Errorf("an untouched request allocates %.0f bytes; want at most 600 (the 256-byte slab and the request copy)", got)
	}
}
