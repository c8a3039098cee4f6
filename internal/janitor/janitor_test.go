package janitor

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPurgesUntilStopped(t *testing.T) {
	var calls atomic.Int64
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	first := make(chan struct{})
	j := Start(time.Millisecond, func(ctx context.Context) (int, error) {
		if calls.Add(1) == 2 {
			close(first)
		}
		return 0, errors.New("db down")
	}, log, "teststore")
	<-first // it runs again after a failure
	j.Stop()
	j.Stop()
	n := calls.Load()
	time.Sleep(5 * time.Millisecond)
	if calls.Load() != n {
		t.Error("the janitor purged after Stop returned")
	}
	if !strings.Contains(logs.String(), "teststore: purge failed") {
		t.Errorf("the failure was not logged: %q", logs.String())
	}
}

func TestNegativeIntervalStartsNothing(t *testing.T) {
	j := Start(-1, func(context.Context) (int, error) { t.Error("purged"); return 0, nil }, slog.Default(), "x")
	j.Stop()
	if Interval(0, time.Minute) != time.Minute || Interval(-1, time.Minute) != -1 || Interval(time.Second, time.Minute) != time.Second {
		t.Error("Interval does not follow the convention")
	}
}
