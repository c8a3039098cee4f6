package cookiestore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/cookiestore"
	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/internal/benchkit"
)

// The benchmarks follow the root package's (bench_test.go): the same
// session, handlers and response writer, with this store sealing the
// cookie.
func BenchmarkCookiestore(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts cookiestore.Options
	}{
		{"sealed", cookiestore.Options{}},
		{"signed", cookiestore.Options{SignOnly: true}},
	} {
		newManager := func(b *testing.B) *sesame.Manager {
			return sesame.New(sesame.Config{Sealer: newStore(b, mode.opts)})
		}
		b.Run(mode.name+"/read", func(b *testing.B) {
			m := newManager(b)
			benchkit.Serve(b, m, benchkit.NewSession(b, m), benchkit.Read(b))
		})
		b.Run(mode.name+"/create", func(b *testing.B) {
			benchkit.Serve(b, newManager(b), "", benchkit.Create)
		})
		b.Run(mode.name+"/update", func(b *testing.B) {
			m := newManager(b)
			benchkit.Serve(b, m, benchkit.NewSession(b, m), benchkit.Update)
		})
	}
}

// BenchmarkReadAfterDenials is a read-only request of a user whose other
// sessions were renewed many times, each renewal denying an ID: its cost
// must not grow with them (the list stays below driver.MaxDenied, and Open
// reads the presented ID's entry only).
func BenchmarkReadAfterDenials(b *testing.B) {
	for _, n := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("denials=%d", n), func(b *testing.B) {
			marks := revocations(b)
			st := newStore(b, cookiestore.Options{Revocation: marks})
			prev := driver.Sealed{ID: "first", Record: &driver.Record{User: "alice", Created: time.Now(), Expires: time.Now().Add(time.Hour)}}
			for i := range n {
				v, err := st.Seal(b.Context(), "session", driver.Sealed{ID: fmt.Sprint("id", i), Record: prev.Record, Prev: &prev})
				if err != nil {
					b.Fatal(err)
				}
				if prev, err = st.Open(b.Context(), "session", v); err != nil {
					b.Fatal(err)
				}
			}
			m := sesame.New(sesame.Config{Sealer: st})
			cookie := benchkit.NewSessionWith(b, m, func(s *sesame.Session) { s.Login("alice"); benchkit.Fill(s) })
			benchkit.Serve(b, m, cookie, benchkit.Read(b))
		})
	}
}
