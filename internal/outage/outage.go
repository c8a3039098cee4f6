// Package outage is the load harness of the reliability tests of the
// server stores (redisstore, pgstore): clients that keep incrementing their
// own session's counter through a sesame.Manager while the test kills and
// restarts the server, and the checks of what they saw.
package outage

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
)

// Bounds of the load: it is small, short and local, and stops by itself.
const (
	loadClients = 16                   // clients, each with a session of its own
	loadPace    = 2 * time.Millisecond // pause between two requests of a client
	// maxRequests bounds each client's requests, whatever the timing.
	maxRequests = 20000
	// requestTimeout is the HTTP client's timeout: no request waits longer.
	requestTimeout = 5 * time.Second
	// maxLatency is the slowest answer allowed, during an outage or not:
	// a dead server must give a quick 5xx, not a hang.
	maxLatency = 3 * time.Second
)

// Load runs clients that each log in once, then increment a counter
// in their own session in a loop, through a sesame.Manager served over HTTP
// on 127.0.0.1, while the test takes the store's server down and brings it
// back (outage). check then judges every answer.
type Load struct {
	t       *testing.T
	srv     *httptest.Server
	tr      *http.Transport
	clients []*loadClient
	// settle is how long after a restart the clients may still fail:
	// stale pooled connections are found and dropped, failed dialers
	// probe again.
	settle  time.Duration
	outages []outage
	stop    chan struct{}
	wg      sync.WaitGroup

	mu      sync.Mutex
	handled map[string]int // ErrorHandler calls, by failed store operation
	foreign []error        // ErrorHandler errors that are not a *sesame.StoreError
}

// outage is the time line of one outage.
type outage struct {
	name    string
	down    time.Time // the kill or stop began
	dead    time.Time // the server process had exited
	restart time.Time // the restart began
	up      time.Time // the server answered again
}

type loadClient struct {
	user    string
	http    *http.Client
	samples []sample
}

// sample is one request and its answer.
type sample struct {
	start  time.Time
	took   time.Duration
	status int // 0 if no response came
	n      int // the counter, for a 200
	body   string
	err    error // no response, or an unreadable one
}

func (s sample) end() time.Time { return s.start.Add(s.took) }

// errorStatus is the ErrorHandler's answer to a store failure.
const errorStatus = http.StatusServiceUnavailable

// counterApp is the application under load. POST /login?u=USER starts a
// session for USER with a counter at 0 (Renew, SetUser, Put); POST
// /inc?u=USER increments the session's counter, a read-modify-write (one
// load, one commit), and answers its new value. An /inc whose session no
// longer belongs to USER answers 401, and one whose counter is gone 409:
// the session was lost.
func counterApp(w http.ResponseWriter, r *http.Request) {
	s := sesame.FromContext(r.Context())
	user := r.URL.Query().Get("u")
	switch r.URL.Path {
	case "/login":
		s.Renew()
		s.SetUser(user)
		s.Put("n", 0)
		fmt.Fprint(w, 0)
	case "/inc":
		n, err := sesame.Lookup[int](s, "n")
		switch {
		case s.Err() != nil:
			// The load failed: the commit, when this returns, hands the
			// error to the ErrorHandler.
		case s.User() != user:
			http.Error(w, "session lost: logged out", http.StatusUnauthorized)
		case err != nil:
			http.Error(w, "counter lost: "+err.Error(), http.StatusConflict)
		default:
			s.Put("n", n+1)
			fmt.Fprint(w, n+1) // commits first: a failed commit answers errorStatus
		}
	default:
		http.NotFound(w, r)
	}
}

// New serves counterApp through a Manager on store and logs
// every client in. Nothing runs until Start.
func New(t *testing.T, store driver.Store, settle time.Duration) *Load {
	t.Helper()
	l := &Load{t: t, settle: settle, stop: make(chan struct{}), handled: map[string]int{}}
	m := sesame.New(sesame.Config{
		Store:    store,
		Insecure: true, // plain HTTP on 127.0.0.1
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			l.mu.Lock()
			if se := (*sesame.StoreError)(nil); errors.As(err, &se) {
				l.handled[se.Op]++
			} else {
				l.foreign = append(l.foreign, err)
			}
			l.mu.Unlock()
			w.Header().Set("Retry-After", "1")
			http.Error(w, "session store unavailable", errorStatus)
		},
	})
	l.srv = httptest.NewServer(m.Handler(http.HandlerFunc(counterApp)))
	if !strings.HasPrefix(l.srv.URL, "http://127.0.0.1:") {
		l.close()
		t.Fatalf("test server on %s, want 127.0.0.1", l.srv.URL)
	}
	// One idle connection per client: no connection churn, no port
	// exhaustion.
	l.tr = &http.Transport{MaxIdleConnsPerHost: loadClients}
	t.Cleanup(l.close)
	for i := range loadClients {
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		c := &loadClient{
			user: fmt.Sprintf("client%02d", i),
			http: &http.Client{Jar: jar, Transport: l.tr, Timeout: requestTimeout},
		}
		if s := c.post(l.srv.URL + "/login?u=" + c.user); s.status != http.StatusOK || s.body != "0" {
			t.Fatalf("%s: login: status %d %q, %v; want 200 0", c.user, s.status, s.body, s.err)
		}
		l.clients = append(l.clients, c)
	}
	return l
}

// post sends one request and records its answer.
func (c *loadClient) post(url string) sample {
	s := sample{start: time.Now()}
	resp, err := c.http.Post(url, "", nil)
	if err == nil {
		var b []byte
		b, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		s.status, s.body = resp.StatusCode, strings.TrimSpace(string(b))
		if err == nil && s.status == http.StatusOK {
			s.n, err = strconv.Atoi(s.body)
		}
	}
	s.took, s.err = time.Since(s.start), err
	return s
}

// Start starts the clients' loops.
func (l *Load) Start() {
	for _, c := range l.clients {
		l.wg.Go(func() {
			for range maxRequests {
				c.samples = append(c.samples, c.post(l.srv.URL+"/inc?u="+c.user))
				select {
				case <-l.stop:
					return
				case <-time.After(loadPace):
				}
			}
		})
	}
}

// Outage takes the server down with kill, which returns once its process
// has exited, keeps the load on for hold, then brings the server back with
// restart, which returns once it answers.
func (l *Load) Outage(name string, hold time.Duration, kill, restart func()) {
	o := outage{name: name, down: time.Now()}
	kill()
	o.dead = time.Now()
	time.Sleep(hold)
	o.restart = time.Now()
	restart()
	o.up = time.Now()
	l.outages = append(l.outages, o)
	l.t.Logf("%s: process gone %v after the signal; down %v; answering %v after the restart began",
		name, o.dead.Sub(o.down).Round(time.Millisecond), o.up.Sub(o.down).Round(time.Millisecond),
		o.up.Sub(o.restart).Round(time.Millisecond))
}

// Finish stops the clients, waits for their last requests, and closes the
// HTTP server and client.
func (l *Load) Finish() {
	close(l.stop)
	l.wg.Wait()
	l.close()
}

func (l *Load) close() {
	if l.srv != nil {
		l.srv.Close()
	}
	if l.tr != nil {
		l.tr.CloseIdleConnections()
	}
}

// phase of a request, by when it ran.
const (
	healthy    = iota // between outages, settled: it must succeed
	down              // wholly while the server process was dead: it must fail cleanly
	transition        // across a boundary: either
)

// phase returns the phase of a request that ran from start to end, and
// the index of the outage it follows (-1 for none).
func (l *Load) phase(start, end time.Time) (int, int) {
	after := -1
	for i, o := range l.outages {
		if start.Before(o.down) {
			break
		}
		after = i
	}
	if after >= 0 {
		o := l.outages[after]
		if !start.Before(o.dead) && end.Before(o.restart) {
			return down, after
		}
		if start.Before(o.up.Add(l.settle)) {
			return transition, after
		}
	}
	if next := after + 1; next < len(l.outages) && !end.Before(l.outages[next].down) {
		return transition, after
	}
	return healthy, after
}

// Check judges every answer. It needs Finish first.
//
//   - Every answer is a 200 with the counter, or the ErrorHandler's clean
//     errorStatus, within maxLatency; nothing else, and no request without
//     an answer.
//   - Healthy requests (before the first outage, or settled after a
//     restart) all succeed; requests made wholly while the server was dead
//     all fail cleanly, and every client made some.
//   - After each restart every client succeeds again: same Manager, same
//     store client, no app restart, no new login.
//   - No acknowledged increment is lost: each 200 shows at least the last
//     acknowledged value plus one. A failed request may still have
//     committed (the server died after writing, before answering), so a
//     200 may show up to one more per failure since, but never more: no
//     phantom writes.
func (l *Load) Check() {
	t := l.t
	t.Helper()
	type outageStats struct {
		during, after5xx int           // clean failures while dead, and after the restart
		recovery         time.Duration // from the server answering to the slowest client's first 200
	}
	stats := make([]outageStats, len(l.outages))
	reported := 0
	errorf := func(format string, args ...any) { // the first 20 bad answers, then a count
		t.Helper()
		if reported++; reported <= 20 {
			t.Errorf(format, args...)
		}
	}
	defer func() {
		if reported > 20 {
			t.Errorf("... and %d more bad answers", reported-20)
		}
	}()
	var total, ok, failed int
	committed := 0 // failed requests whose increment was applied all the same
	var lat []time.Duration
	for _, c := range l.clients {
		last, unsure := 0, 0 // the last acknowledged value, failures since
		sawDown := make([]bool, len(l.outages))
		recovered := make([]bool, len(l.outages))
		for i, s := range c.samples {
			total++
			lat = append(lat, s.took)
			what := fmt.Sprintf("%s request %d (at %s)", c.user, i, l.when(s.start))
			if s.took > maxLatency {
				errorf("%s took %v, more than %v", what, s.took.Round(time.Millisecond), maxLatency)
			}
			ph, after := l.phase(s.start, s.end())
			switch {
			case s.err != nil:
				unsure++
				errorf("%s: no clean answer: %v", what, s.err)
				continue
			case s.status == http.StatusOK:
				ok++
				if s.n < last+1 {
					errorf("%s: counter %d after an acknowledged %d: %d acknowledged increments lost", what, s.n, last, last+1-s.n)
				} else if s.n > last+1+unsure {
					errorf("%s: counter %d after an acknowledged %d and %d failed requests: a phantom increment", what, s.n, last, unsure)
				}
				if s.n > last+1 && s.n <= last+1+unsure {
					committed += s.n - last - 1
				}
				last, unsure = s.n, 0
				if after >= 0 && !recovered[after] && s.start.After(l.outages[after].restart) {
					recovered[after] = true
					stats[after].recovery = max(stats[after].recovery, s.end().Sub(l.outages[after].up))
				}
			case s.status == errorStatus:
				failed++
				unsure++
				if ph == down {
					sawDown[after] = true
					stats[after].during++
				} else if after >= 0 && s.start.After(l.outages[after].up) {
					stats[after].after5xx++
				}
			default:
				errorf("%s: status %d %q, want 200 or the ErrorHandler's %d", what, s.status, s.body, errorStatus)
				unsure++
				continue
			}
			if ph == healthy && s.status != http.StatusOK {
				errorf("%s: status %d %q while the server was up", what, s.status, s.body)
			}
			if ph == down && s.status == http.StatusOK {
				errorf("%s: status 200 while the server was dead", what)
			}
		}
		for i, o := range l.outages {
			if !sawDown[i] {
				t.Errorf("%s: no request failed cleanly during %s", c.user, o.name)
			}
			if !recovered[i] {
				t.Errorf("%s: no request succeeded after %s", c.user, o.name)
			}
		}
		if last < 1 {
			t.Errorf("%s: no increment acknowledged at all", c.user)
		}
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	handled := 0
	var ops []string
	for _, op := range slices.Sorted(maps.Keys(l.handled)) {
		handled += l.handled[op]
		ops = append(ops, fmt.Sprintf("%s %d", op, l.handled[op]))
	}
	if len(l.foreign) > 0 {
		t.Errorf("the ErrorHandler got %d errors that are not a *sesame.StoreError, first: %v", len(l.foreign), l.foreign[0])
	}
	if handled != failed {
		t.Errorf("the ErrorHandler answered %d store errors, the clients got %d × %d", handled, failed, errorStatus)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(p*float64(len(lat)-1))].Round(10 * time.Microsecond)
	}
	t.Logf("%d clients, %d requests: %d × 200, %d × %d (ErrorHandler, failed store op: %s), %d other; latency p50 %v, p99 %v, max %v",
		len(l.clients), total, ok, failed, errorStatus, strings.Join(ops, ", "), total-ok-failed, pct(0.5), pct(0.99), pct(1))
	t.Logf("%d of the failed requests had committed all the same (the server died after the write, before the answer)", committed)
	for i, o := range l.outages {
		t.Logf("%s: %d requests made while the server was dead, all %d; every client had a 200 within %v of the server answering; %d × %d after it answered",
			o.name, stats[i].during, errorStatus, stats[i].recovery.Round(time.Millisecond), stats[i].after5xx, errorStatus)
	}
}

// when formats t relative to the outages, for messages.
func (l *Load) when(t time.Time) string {
	for i := len(l.outages) - 1; i >= 0; i-- {
		if o := l.outages[i]; !t.Before(o.down) {
			return fmt.Sprintf("%s + %v", o.name, t.Sub(o.down).Round(time.Millisecond))
		}
	}
	if len(l.outages) > 0 {
		return fmt.Sprintf("%s - %v", l.outages[0].name, l.outages[0].down.Sub(t).Round(time.Millisecond))
	}
	return t.Format(time.StampMilli)
}

// CheckGoroutines fails t if more goroutines run than baseline, counted
// before the clients were made, once those that are ending have had up to
// 5s to exit (go-redis's dial prober sleeps 1s between probes). No
// tolerance: every goroutine the test started must be gone.
func CheckGoroutines(t *testing.T, baseline int) {
	t.Helper()
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(5 * time.Second); n > baseline && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	if n > baseline {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines left, %d before the clients were made:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
		return
	}
	t.Logf("goroutines: %d after closing, %d before: none leaked", n, baseline)
}
