// Package janitor runs a store's periodic purge of expired records, for the
// stores that have no native expiry (memstore, sqlitestore, pgstore).
package janitor

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Janitor is a goroutine that purges every interval until Stop.
type Janitor struct {
	stop context.CancelFunc
	done chan struct{}
	once sync.Once
}

// Interval resolves a store's CleanupInterval option by the convention every
// store follows: zero means def, and negative means no janitor (returned as
// a negative interval).
func Interval(opt, def time.Duration) time.Duration {
	if opt == 0 {
		return def
	}
	return opt
}

// Start calls purge every interval in a new goroutine, logging its errors
// and counts to log under the store's name, until Stop. A negative interval
// starts nothing; Stop still works.
func Start(interval time.Duration, purge func(context.Context) (int, error), log *slog.Logger, store string) *Janitor {
	ctx, stop := context.WithCancel(context.Background())
	j := &Janitor{stop: stop, done: make(chan struct{})}
	if interval <= 0 {
		close(j.done)
		return j
	}
	go func() {
		defer close(j.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				n, err := purge(ctx)
				switch {
				case err != nil && ctx.Err() == nil:
					log.ErrorContext(ctx, store+": purge failed", "err", err)
				case n > 0:
					log.DebugContext(ctx, store+": purged expired sessions", "count", n)
				}
			}
		}
	}()
	return j
}

// Stop stops the janitor, cancelling a purge in progress, and waits for it
// to exit. It may be called more than once.
func (j *Janitor) Stop() {
	j.once.Do(j.stop)
	<-j.done
}
