package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/memstore"
)

// defaultStore is the store the demo uses without -store.
const defaultStore = "sqlite"

// storeOptions are the flags that configure the stores.
type storeOptions struct {
	sqlite   string // SQLite database file
	redis    string // Redis URL
	postgres string // PostgreSQL DSN
}

func (o *storeOptions) flags(fs *flag.FlagSet) {
	fs.StringVar(&o.sqlite, "sqlite", "sesame-demo.db", "SQLite database file (-store sqlite, and revocations for -store cookie)")
	fs.StringVar(&o.redis, "redis", "redis://127.0.0.1:6379/0", "Redis URL (?prefix=KEYPREFIX allowed), or host:port,... seeds of a Redis Cluster (-store redis)")
	fs.StringVar(&o.postgres, "postgres", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL DSN (-store postgres)")
}

// opener sets cfg.Store or cfg.Sealer for one store and returns a function
// that releases it. Each store registers its opener in stores, from its own
// file.
type opener func(ctx context.Context, o storeOptions, cfg *sesame.Config, stderr io.Writer) (release func(), err error)

var stores = map[string]opener{
	"memory": func(_ context.Context, _ storeOptions, cfg *sesame.Config, _ io.Writer) (func(), error) {
		st := memstore.New(memstore.Options{})
		cfg.Store = st
		return func() { st.Close() }, nil
	},
}

func storeNames() string { return strings.Join(slices.Sorted(maps.Keys(stores)), ", ") }

// openStore opens the named store into cfg.
func openStore(ctx context.Context, name string, o storeOptions, cfg *sesame.Config, stderr io.Writer) (func(), error) {
	open, ok := stores[name]
	if !ok {
		return nil, fmt.Errorf("unknown -store %q; want one of %s", name, storeNames())
	}
	return open(ctx, o, cfg, stderr)
}
