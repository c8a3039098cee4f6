package sesame

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
)

// errReplaced is returned by writes after the ErrorHandler has answered.
var errReplaced = errors.New("sesame: response replaced by the ErrorHandler after a session error")

// Handler returns middleware that gives each request a lazily loaded
// session, available through [FromContext], and commits it before the first
// byte of the response.
//
// The commit happens on the first WriteHeader with a status of 200 or more,
// or on Write, Flush, ReadFrom or Hijack, or when next returns, whichever
// comes first. If the store fails before then, the ErrorHandler writes the
// response and later writes by next are dropped. The caller's request is
// never modified.
func (m *Manager) Handler(next http.Handler) http.Handler {
	if next == nil {
		panic("sesame: Handler(nil)")
	}
	// This is the hot path. BenchmarkMemstore (bench_test.go) measures it:
	// an untouched request costs 2 allocations (the request slab below and
	// the request copy of WithContext), a read 3 (plus the session ID), a
	// new session 9 and an update 13. Its tricks exist for those counts,
	// and each moves them: the one 256-byte slab (see request) for the
	// writer, the Session, its load context and the request context; pending changes
	// allocated on the first write only, with the commit's store context
	// inside (session.go); the store contexts (storectx.go) instead of
	// context.WithTimeout and WithoutCancel; and the Session's header slab
	// for Vary, Set-Cookie and Cache-Control (commit.go, 3 allocations).
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// One allocation holds the writer, the session and the context.
		rq := &request{ResponseWriter: w, Context: r.Context()}
		rq.s.m, rq.s.req, rq.s.p = m, r, &unchanged
		next.ServeHTTP(rq, r.WithContext(rq))
		rq.done = true
		rq.commit()
	})
}

// request is what the middleware keeps of one request, in one 256-byte
// allocation: the ResponseWriter it hands on, the request's Context
// carrying the Session (without a separate context.WithValue), and the
// Session itself. Being both, it needs no pointer to the Session.
// (TestUntouchedRequestBytes holds an untouched request to 600 bytes.)
//
// As the writer, it commits the session before the response starts. It
// implements Flush, Hijack and ReadFrom itself, since they start the
// response, and Unwrap for everything else http.ResponseController
// offers.
type request struct {
	http.ResponseWriter
	context.Context
	s         Session
	committed bool
	done      bool // the handler has returned
	failed    bool // the ErrorHandler has answered
	status    bool // a final status has been written
}

// Value implements context.Context: the Session under sessionKey, and the
// request's own values.
func (w *request) Value(key any) any {
	if key == any(sessionKey) {
		return &w.s
	}
	return w.Context.Value(key)
}

// commit commits the session once, and reports whether the response may
// go on. On failure it has the ErrorHandler answer instead.
func (w *request) commit() bool {
	if !w.committed {
		w.committed = true
		if err := w.s.commit(w.ResponseWriter.Header(), !w.done); err != nil {
			if se := (*StoreError)(nil); errors.As(err, &se) {
				w.s.m.failed(w.s.req.Context(), err, w.s.cid, "")
			}
			w.failed = true
			w.s.m.handleError(w.ResponseWriter, w.s.req, err)
		}
	}
	return !w.failed
}

func (w *request) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		if !w.failed && !w.status {
			w.ResponseWriter.WriteHeader(code) // informational: no commit
		}
		return
	}
	if w.status || !w.commit() {
		return
	}
	w.status = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *request) Write(p []byte) (int, error) {
	if !w.commit() {
		return 0, errReplaced
	}
	w.status = true
	return w.ResponseWriter.Write(p)
}

func (w *request) ReadFrom(src io.Reader) (int64, error) {
	if !w.commit() {
		return 0, errReplaced
	}
	w.status = true
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{w.ResponseWriter}, src)
}

// Flush implements http.Flusher.
func (w *request) Flush() { _ = w.FlushError() }

// FlushError commits the session and flushes, as http.ResponseController
// expects.
func (w *request) FlushError() error {
	w.commit()
	w.status = true
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack commits the session and hijacks the connection. The Set-Cookie
// header cannot be sent on a hijacked connection unless the caller writes
// it from w.Header().
func (w *request) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.commit() {
		return nil, nil, errReplaced
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (w *request) Unwrap() http.ResponseWriter { return w.ResponseWriter }
