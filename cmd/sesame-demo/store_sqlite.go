package main

import (
	"context"
	"io"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/sqlitestore"
)

func init() { stores["sqlite"] = openSQLite }

// openSQLite keeps sessions in the SQLite file named by -sqlite, so they
// survive a restart of the demo.
func openSQLite(ctx context.Context, o storeOptions, cfg *sesame.Config, _ io.Writer) (func(), error) {
	st, err := sqlitestore.Open(ctx, o.sqlite, sqlitestore.Options{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	cfg.Store = st
	return func() { st.Close() }, nil
}
