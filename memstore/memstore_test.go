package memstore_test

import (
	"context"
	"testing"

	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/memstore"
	"github.com/sesame-go/sesame/sesametest"
)

func TestConformance(t *testing.T) {
	sesametest.Run(t, func(t *testing.T) driver.Store {
		st := memstore.New(memstore.Options{})
		t.Cleanup(func() { st.Close() })
		return st
	})
}

// plain hides every optional capability of a memstore: it is the smallest
// Store a user could write, three methods.
type plain struct{ st *memstore.Store }

func (p plain) Load(ctx context.Context, id string) (*driver.Record, error) {
	return p.st.Load(ctx, id)
}
func (p plain) Save(ctx context.Context, id string, rec *driver.Record) error {
	return p.st.Save(ctx, id, rec)
}
func (p plain) Delete(ctx context.Context, id string) (bool, error) { return p.st.Delete(ctx, id) }

// TestConformanceOfAPlainStore runs the suite on a Store without DeltaStore
// or Renewer: the Manager's fallbacks must still never resurrect a session,
// and parallel Renews must still leave one.
func TestConformanceOfAPlainStore(t *testing.T) {
	sesametest.Run(t, func(t *testing.T) driver.Store {
		st := memstore.New(memstore.Options{})
		t.Cleanup(func() { st.Close() })
		return plain{st}
	})
}
