package memstore_test

import (
	"testing"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/memstore"
	"github.com/sesame-go/sesame/sesametest"
)

func TestConformance(t *testing.T) {
	sesametest.Run(t, func(t *testing.T) sesame.Store {
		st := memstore.New()
		t.Cleanup(func() { st.Close() })
		return st
	})
}
