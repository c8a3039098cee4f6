package sesame

import (
	"context"
	"sync"
	"sync/atomic"
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
// next to a round trip. Measured: with context.WithTimeout in its place, a
// request that reads its session allocates 7 times instead of 3 (see
// TestHotPathAllocations).
type storeCtx struct {
	parent   context.Context
	deadline int64         // Unix nanoseconds; 0: none of our own
	state    atomic.Uint32 // a ctxState; it only ever leaves live once
	detached bool          // ignore parent's cancellation and deadline
	watch    atomic.Pointer[ctxWatch]
}

// ctxWatch is the part of a storeCtx that only Done needs: its channel, and
// what closes it.
type ctxWatch struct {
	mu     sync.Mutex
	done   chan struct{}
	closed bool
	timer  *time.Timer
	stop   func() bool // stops the context.AfterFunc on parent
}

func (w *ctxWatch) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.closed = true
		close(w.done)
	}
}

// ctxState is what a storeCtx has come to; it is a byte rather than an
// error to keep the struct, which sits in every request, small.
type ctxState uint32

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
	w := c.watch.Load()
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
	if w.stop != nil {
		w.stop()
	}
	w.timer, w.stop = nil, nil
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
	if w := c.watch.Load(); w != nil {
		return w.done
	}
	w := &ctxWatch{done: make(chan struct{})}
	if !c.watch.CompareAndSwap(nil, w) {
		return c.watch.Load().done
	}
	if c.Err() != nil { // ended before w was there to close
		w.close()
		return w.done
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if c.deadline != 0 {
		w.timer = time.AfterFunc(time.Until(time.Unix(0, c.deadline)), func() { c.end(timedOut) })
	}
	if !c.detached {
		w.stop = context.AfterFunc(c.parent, func() { c.end(stateOf(c.parent.Err())) })
	}
	return w.done
}

// end moves c from live to st, once, and closes its channel.
func (c *storeCtx) end(st ctxState) {
	if !c.state.CompareAndSwap(uint32(live), uint32(st)) {
		return
	}
	if w := c.watch.Load(); w != nil {
		w.close()
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
	if st := ctxState(c.state.Load()); st != live {
		return st.err()
	}
	if st := c.check(); st != live {
		c.end(st)
		return ctxState(c.state.Load()).err()
	}
	return nil
}

func (c *storeCtx) Value(key any) any { return c.parent.Value(key) }
