package sesame_test

import (
	"net/http"
	"net/http/httptest"
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
