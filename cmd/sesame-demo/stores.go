package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/memstore"
)

const (
	defaultStore = "memory"
	storeNames   = "memory"
)

// storeOptions are the flags that configure the stores.
type storeOptions struct{}

func (o *storeOptions) flags(fs *flag.FlagSet) {}

// openStore sets cfg.Store or cfg.Sealer for the named store and returns a
// function that releases it.
func openStore(ctx context.Context, name string, o storeOptions, cfg *sesame.Config, stderr io.Writer) (func(), error) {
	switch name {
	case "memory":
		st := memstore.New()
		cfg.Store = st
		return func() { st.Close() }, nil
	}
	return nil, fmt.Errorf("unknown -store %q; want one of %s", name, storeNames)
}
