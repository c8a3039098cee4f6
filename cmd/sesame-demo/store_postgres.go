package main

import (
	"context"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/pgstore"
)

func init() { stores["postgres"] = openPostgres }

// openPostgres opens the PostgreSQL store on the -postgres DSN, creating
// its tables (pgstore.DefaultTable) if needed. Its janitor purges expired
// sessions every pgstore.DefaultCleanupInterval.
func openPostgres(ctx context.Context, o storeOptions, cfg *sesame.Config, _ io.Writer) (func(), error) {
	pool, err := pgxpool.New(ctx, o.postgres)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	st, err := pgstore.New(ctx, pool, pgstore.Options{Logger: cfg.Logger})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	cfg.Store = st
	return func() {
		st.Close()
		pool.Close()
	}, nil
}
