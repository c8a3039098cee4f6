package sesame

import (
	"context"
	"sync"
	"time"
)

// storeCtx is the context of the store calls of a request: the request's
// context (for a load) or its values without its cancellation (for a
// commit, which completes even if the client has gone: a half-applied
// logout or renewal would be worse than the wasted work), bounded by
// Config.StoreTimeout.
//
// It does what context.WithTimeout and context.WithoutCancel do, but it
// lives in the Session, and it makes a channel and a timer only if a store
// asks for Done: a store that checks Err alone (memstore) costs no
// allocation. Stores that talk to a server ask for Done, and pay for it
// next to a round trip.
type storeCtx struct {
	parent   context.Context
	deadline int64 // Unix nanoseconds; 0: none of our own
	mu       sync.Mutex
	state    ctxState
	detached bool // ignore parent's cancellation and deadline
	done     chan struct{}
	timer    *time.Timer
	stop     func() bool // stops the context.AfterFunc on parent
}

// ctxState is what a storeCtx has come to; it is a byte rather than an
// error to keep the struct, which sits in every request, small.
type ctxState uint8

const (
	live ctxState = iota
	canceled
	timedOut
)

func (st ctxState) err() error {
	switch st {
	case canceled:
		return context.Canceled
	case timedOut:
		return context.DeadlineExceeded
	}
	return nil
}

func stateOf(err error) ctxState {
	switch err {
	case nil:
		return live
	case context.DeadlineExceeded:
		return timedOut
	}
	return canceled
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// bound makes c the context of store calls under parent, starting at now,
// and returns it, or parent itself when c would add nothing. It is called
// once per storeCtx, before any store sees it: a store may use a context
// after its call has returned (database/sql does), so a storeCtx is never
// reused.
func (c *storeCtx) bound(parent context.Context, detach bool, timeout time.Duration, now time.Time) context.Context {
	c.parent, c.detached = parent, detach
	if timeout > 0 {
		c.deadline = now.Add(timeout).UnixNano()
	}
	if !detach && c.deadline == 0 {
		return parent
	}
	return c
}

// release stops c's timer and its watch on the parent, if any.
func (c *storeCtx) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.stop != nil {
		c.stop()
	}
	c.timer, c.stop = nil, nil
}

func (c *storeCtx) Deadline() (time.Time, bool) {
	var d time.Time
	var ok bool
	if !c.detached {
		d, ok = c.parent.Deadline()
	}
	if c.deadline != 0 {
		if own := time.Unix(0, c.deadline); !ok || own.Before(d) {
			d, ok = own, true
		}
	}
	return d, ok
}

func (c *storeCtx) Done() <-chan struct{} {
	if c.detached && c.deadline == 0 {
		return nil // never done
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done != nil {
		return c.done
	}
	if c.state = c.check(); c.state != live {
		c.done = closedChan
		return c.done
	}
	c.done = make(chan struct{})
	if c.deadline != 0 {
		c.timer = time.AfterFunc(time.Until(time.Unix(0, c.deadline)), func() { c.cancel(timedOut) })
	}
	if !c.detached {
		c.stop = context.AfterFunc(c.parent, func() { c.cancel(stateOf(c.parent.Err())) })
	}
	return c.done
}

func (c *storeCtx) cancel(st ctxState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == live {
		c.state = st
		close(c.done)
	}
}

// check returns the state c has at this moment, from its parent or its
// deadline.
func (c *storeCtx) check() ctxState {
	if !c.detached {
		if err := c.parent.Err(); err != nil {
			return stateOf(err)
		}
	}
	if c.deadline != 0 && time.Now().UnixNano() >= c.deadline {
		return timedOut
	}
	return live
}

func (c *storeCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != live {
		return c.state.err()
	}
	if c.state = c.check(); c.state != live {
		if c.done == nil {
			c.done = closedChan
		} else {
			close(c.done)
		}
	}
	return c.state.err()
}

func (c *storeCtx) Value(key any) any { return c.parent.Value(key) }
