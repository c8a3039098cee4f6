package memstore_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/internal/benchkit"
	"github.com/sesame-go/sesame/memstore"
)

// BenchmarkHeapPerSession reports the heap each stored session costs at
// 1,000,000 sessions (the target: at most 600 bytes, see bench/README.md), each holding
// the benchmarks' session {user_id int, name string, roles [3]string}
// created through the middleware. Run it with -benchtime 1x.
func BenchmarkHeapPerSession(b *testing.B) {
	const sessions = 1_000_000
	for range b.N {
		st := memstore.New(memstore.Options{CleanupInterval: -1})
		m := sesame.New(sesame.Config{Store: st})
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			benchkit.Fill(sesame.FromContext(r.Context()))
		}))
		req := httptest.NewRequest("GET", "/", nil)
		before := heap()
		for range sessions {
			h.ServeHTTP(discard{make(http.Header)}, req)
		}
		after := heap()
		if st.Len() != sessions {
			b.Fatalf("%d sessions stored, want %d", st.Len(), sessions)
		}
		b.ReportMetric(float64(after-before)/sessions, "B/session")
		runtime.KeepAlive(st)
	}
}

func heap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(p []byte) (int, error) { return len(p), nil }
func (d discard) WriteHeader(int)             {}
