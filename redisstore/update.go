package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sesame-go/sesame/driver"
)

// Update's bounds on retries after a lost race: at most maxUpdateTries
// tries, with a full-jitter exponential backoff between them, from
// minUpdateBackoff, doubling up to maxUpdateBackoff (and the context's
// deadline).
const (
	maxUpdateTries   = 64
	minUpdateBackoff = time.Millisecond
	maxUpdateBackoff = 100 * time.Millisecond
)

// Update implements driver.Updater by compare-and-swap: it reads the
// value's field and the record's liveness (one HMGET), calls f, then runs
// a script that writes f's result only if the record is still a live
// session and the field still holds the value read (or still none): two
// round trips. A lost race (another process, or a Save or Apply, changed
// the value in between) starts again after a jittered exponential
// backoff, at most maxUpdateTries times and while ctx lasts; f is then
// called again. Updates of one key of one session through this Store take
// turns, so that they do not race each other: the CAS arbitrates only
// between processes (and other writes).
//
// f's error is returned as is. Update changes nothing but the value: not
// LastSeen, not Expires, not the key's TTL. Like Apply, it reports
// driver.ErrNotFound if there is no live record, and driver.ErrRenewed as
// well for a renewed ID.
func (s *Store) Update(ctx context.Context, id, key string, f func(old any, ok bool) (any, error)) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("update", err)
	}
	s.use(ctx)
	h, field := s.sessionKey(id), valuePrefix+key
	done, err := s.turns.take(ctx, h+"\x00"+field)
	if err != nil {
		return nil, wrap("update", err)
	}
	defer done()
	backoff := minUpdateBackoff
	for try := 1; ; try++ {
		cur, err := s.rdb.HMGet(ctx, h, field, "e", "f", "t").Result()
		if err != nil {
			return nil, wrap("update", err)
		}
		expires, err := parseMS(str(cur[1]))
		switch {
		case err != nil:
			return nil, wrap("update: malformed session", err)
		case cur[3] != nil || cur[1] == nil || !time.Now().Before(expires):
			return nil, notFound("update")
		case cur[2] != nil:
			return nil, renewed("update")
		}
		var old any
		had := "0"
		if cur[0] != nil {
			old, had = json.RawMessage(str(cur[0])), "1"
		}
		v, err := f(old, cur[0] != nil)
		if err != nil {
			return nil, err
		}
		b, err := driver.MarshalValue(v)
		if err != nil {
			return nil, fmt.Errorf("redisstore: update: value %q: %w", key, err)
		}
		cas := &call{script: updateScript, keys: []string{h}, args: []any{ms(time.Now()), field, had, str(cur[0]), string(b)}}
		if err := s.exec(ctx, []*call{cas}); err != nil {
			return nil, wrap("update", err)
		}
		switch code, _ := cas.cmd.Val().(int64); code {
		case updateDone:
			return v, nil
		case updateNotFound:
			return nil, notFound("update")
		case updateRenewed:
			return nil, renewed("update")
		case updateLost:
		default:
			return nil, fmt.Errorf("redisstore: update: unexpected script reply %v", cas.cmd.Val())
		}
		if try == maxUpdateTries {
			return nil, fmt.Errorf("redisstore: update: the value changed during each of %d tries", try)
		}
		if s.updateLost != nil {
			s.updateLost(try)
		}
		t := time.NewTimer(rand.N(backoff))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, wrap("update", ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, maxUpdateBackoff)
	}
}

// turns makes the Updates of one key of one session through a Store take
// turns: a queue per key that has Updates in flight.
type turns struct {
	mu sync.Mutex
	m  map[string]*turn
}

type turn struct {
	c chan struct{} // holds a token while an Update runs
	n int           // Updates running or waiting
}

// take waits for the turn of key, or for ctx to end, and returns the
// function that passes the turn on.
func (q *turns) take(ctx context.Context, key string) (done func(), err error) {
	q.mu.Lock()
	if q.m == nil {
		q.m = make(map[string]*turn)
	}
	t := q.m[key]
	if t == nil {
		t = &turn{c: make(chan struct{}, 1)}
		q.m[key] = t
	}
	t.n++
	q.mu.Unlock()
	leave := func() {
		q.mu.Lock()
		if t.n--; t.n == 0 {
			delete(q.m, key)
		}
		q.mu.Unlock()
	}
	select {
	case t.c <- struct{}{}:
		return func() { <-t.c; leave() }, nil
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
}
