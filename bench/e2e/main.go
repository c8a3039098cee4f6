// Command e2e load-tests Sesame against its anchors over real HTTP: it
// serves the four scenarios of the bench package (untouched, read, create,
// update), with the very handlers the in-process benchmarks run, from one
// http.Server per library and backend, and drives each with wrk. Run it
// from the bench directory:
//
//	go run ./e2e                          # 3 rounds of 5s runs (about 6 minutes)
//	go run ./e2e -rounds 1 -duration 2s   # a quick check
//	./e2e.sh                              # installs wrk if it is missing, then the same
//
// It starts a private redis-server (from PATH) on a free loopback port for
// the Redis backend, and stops it on exit, also on an error or Ctrl-C.
// Each library and backend (memory: Sesame's memstore and scs's memstore;
// cookie: Sesame's cookiestore and gorilla's CookieStore with AES; redis:
// Sesame's redisstore and scs's goredisstore) gets a server on
// 127.0.0.1:0 answering /untouched, /read, /create and /update, and one
// full session seeded through the library's own middleware for /read and
// another for /update, whose cookies wrk sends. Before any load it checks
// that every server answers every path as the benchmarks require.
//
// The load is "wrk -t2 -c64 -d<duration> --latency" per scenario, backend
// and library, in interleaved rounds: in each round, for each scenario and
// backend, Sesame then its anchor, the other way round in the next round,
// so that a burst of load on a shared machine hits both. Before each
// create run, that server's library is rebuilt empty, so that the sessions
// of earlier runs do not grow the heap that every later run shares.
//
// It prints a markdown table of the medians over the rounds of the
// requests per second and of the 50th and 99th percentile latencies, with
// the targets: Sesame serves at least 1.3 times the anchor's requests per
// second with a 99th percentile no higher than the anchor's, on redis read
// and update, memory update and cookie update. Then the versions, the
// machine and the missed targets. It exits non-zero if any response was
// not a 2xx or wrk saw socket errors; missed targets alone do not fail it.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesame-go/sesame/bench"
	"github.com/sesame-go/sesame/internal/testenv"
)

// The wrk load: threads and open connections.
const (
	wrkThreads     = 2
	wrkConnections = 64
)

// errLoadErrors reports that some runs had error responses or socket
// errors; the table has been printed.
var errLoadErrors = errors.New("some runs had non-2xx responses or socket errors (see the errors column)")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "e2e:", err)
		}
		os.Exit(1)
	}
}

// scenario is one of the four scenarios, served on path.
type scenario struct {
	id, name, path string
	// cookie reports that the request carries the seeded session's
	// cookie (otherwise none).
	cookie bool
}

var scenarios = []scenario{
	{"S1", "untouched", "/untouched", false},
	{"S2", "read", "/read", true},
	{"S3", "create", "/create", false},
	{"S4", "update", "/update", true},
}

var backends = []string{"memory", "cookie", "redis"}

// anchors names, by backend, the library Sesame is compared with.
var anchors = map[string]string{"memory": "scs", "cookie": "gorilla", "redis": "scs"}

// targeted lists the scenario and backend pairs that have a target.
var targeted = map[[2]string]bool{
	{"read", "redis"}:    true,
	{"update", "redis"}:  true,
	{"update", "memory"}: true,
	{"update", "cookie"}: true,
}

// The target: Sesame's requests per second at least targetRatio times the
// anchor's, and its p99 no higher than the anchor's.
const targetRatio = 1.3

func run(ctx context.Context, argv []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("e2e", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rounds := fs.Int("rounds", 3, "interleaved rounds: runs of each scenario, backend and library")
	duration := fs.Duration("duration", 5*time.Second, "length of each wrk run (whole seconds)")
	if err := fs.Parse(argv[1:]); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	case *rounds < 1:
		return errors.New("-rounds must be at least 1")
	case *duration < time.Second || *duration%time.Second != 0:
		return fmt.Errorf("-duration %v: wrk takes whole seconds, at least 1s", *duration)
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return errors.New("wrk is not installed (not found in PATH): run bench/e2e.sh, which installs it, or `apt-get install wrk`")
	}

	// scs logs through the log package (and Sesame through slog's default,
	// which writes there too) the requests whose context was canceled
	// because wrk closed its connections at the end of a run; count those
	// rather than print them.
	logs := &logFilter{w: stderr}
	log.SetOutput(logs)
	defer log.SetOutput(os.Stderr)

	start := time.Now().UTC()
	loadBefore := loadAverage()
	runs := *rounds * len(scenarios) * len(backends) * 2
	fmt.Fprintf(stderr, "e2e: %d wrk runs (%d rounds × %d scenarios × %d backends × 2 libraries) of %v: %v of load, plus start-up and checks\n",
		runs, *rounds, len(scenarios), len(backends), *duration, time.Duration(runs)**duration)

	rs, err := startRedis(ctx)
	if err != nil {
		return err
	}
	defer rs.stop()
	fmt.Fprintf(stderr, "e2e: redis-server on %s\n", rs.addr)

	servers := make(map[string]*server) // by subject name
	defer func() {
		for _, s := range servers {
			s.close()
		}
	}()
	for _, sub := range bench.Subjects {
		s, err := startServer(ctx, sub, rs.addr)
		if err != nil {
			return fmt.Errorf("%s: %w", sub.Name(), err)
		}
		servers[sub.Name()] = s
	}
	for _, sub := range bench.Subjects {
		if err := servers[sub.Name()].check(ctx); err != nil {
			return fmt.Errorf("%s at %s: %w", sub.Name(), servers[sub.Name()].addr, err)
		}
	}
	fmt.Fprintln(stderr, "e2e: every server answers every path as expected")

	results := make(map[[2]string][]wrkResult) // by scenario name, subject name
	done := 0
	for round := range *rounds {
		for _, sc := range scenarios {
			for _, backend := range backends {
				order := []string{"sesame", anchors[backend]}
				if round%2 == 1 {
					slices.Reverse(order)
				}
				for _, lib := range order {
					s := servers[backend+"/"+lib]
					if sc.name == "create" {
						if err := s.renewCreate(ctx); err != nil {
							return fmt.Errorf("%s: %w", s.sub.Name(), err)
						}
					}
					runtime.GC()
					res, err := runWrk(ctx, wrk, *duration, s, sc)
					if err != nil {
						return fmt.Errorf("round %d, %s %s: %w", round+1, sc.name, s.sub.Name(), err)
					}
					done++
					fmt.Fprintf(stderr, "e2e: [%d/%d] round %d %s %s: %.0f req/s, p50 %s, p99 %s%s\n",
						done, runs, round+1, sc.name, s.sub.Name(), res.ReqPerSec, fmtLatency(res.P50), fmtLatency(res.P99), res.errorText(": "))
					key := [2]string{sc.name, s.sub.Name()}
					results[key] = append(results[key], res)
				}
			}
		}
	}

	missed, failed := printTable(stdout, results)
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "- wrk: %s\n", toolVersion(ctx, wrk, "-v"))
	fmt.Fprintf(stdout, "- go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(stdout, "- redis-server: %s\n", toolVersion(ctx, rs.path, "--version"))
	fmt.Fprintf(stdout, "- CPUs: %d (GOMAXPROCS %d); load average before %s, after %s\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), loadBefore, loadAverage())
	fmt.Fprintf(stdout, "- date: %s\n", start.Format(time.RFC3339))
	fmt.Fprintf(stdout, "- command: %s\n", commandLine(argv))
	fmt.Fprintf(stdout, "- load: wrk -t%d -c%d -d%v --latency [-H \"Cookie: %s=…\"] http://127.0.0.1:PORT/PATH; medians over %d round(s)\n",
		wrkThreads, wrkConnections, *duration, bench.CookieName, *rounds)
	if n := logs.canceled.Load(); n > 0 {
		fmt.Fprintf(stdout, "- library log lines \"context canceled\" (requests cut off as wrk closed its connections at the end of a run, not seen by wrk): %d\n", n)
	}
	if len(missed) == 0 {
		fmt.Fprintln(stdout, "\nMissed targets: none.")
	} else {
		fmt.Fprintln(stdout, "\nMissed targets:")
		for _, m := range missed {
			fmt.Fprintf(stdout, "- %s\n", m)
		}
	}
	if failed {
		return errLoadErrors
	}
	return nil
}

// server is one library on one backend, served over HTTP on a loopback
// port.
type server struct {
	sub    bench.Subject
	addr   string // host:port
	srv    *http.Server
	rdb    *redis.Client // nil off Redis
	prefix string        // Redis key prefix of the current libraries

	// readCookie and updateCookie are the values of the session cookies
	// seeded for /read and /update.
	readCookie, updateCookie string

	closeLib func()
	// create serves /create; renewCreate replaces it with one on a fresh
	// library, closed by closeCreate.
	create      atomic.Pointer[http.Handler]
	closeCreate func()
	mu          sync.Mutex // guards closeCreate
}

// startServer builds sub's library (on the Redis at redisAddr for the
// redis backend), seeds its sessions and serves the scenarios on a free
// loopback port.
func startServer(ctx context.Context, sub bench.Subject, redisAddr string) (_ *server, err error) {
	s := &server{sub: sub, closeLib: func() {}, closeCreate: func() {}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if sub.Backend == "redis" {
		s.rdb = redis.NewClient(&redis.Options{Addr: redisAddr})
		s.prefix = "e2e-" + sub.Library + ":"
	}
	lib, closeLib, err := bench.OpenSubject(ctx, sub, s.rdb, s.prefix)
	if err != nil {
		return nil, err
	}
	s.closeLib = closeLib
	if s.readCookie, err = bench.Seed(lib); err != nil {
		return nil, err
	}
	if s.updateCookie, err = bench.Seed(lib); err != nil {
		return nil, err
	}
	create := bench.CreateHandler(lib)
	s.create.Store(&create)

	mux := http.NewServeMux()
	mux.Handle("/untouched", bench.UntouchedHandler(lib))
	mux.Handle("/read", bench.ReadHandler(lib))
	mux.Handle("/create", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*s.create.Load()).ServeHTTP(w, r)
	}))
	mux.Handle("/update", bench.UpdateHandler(lib, nil))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.addr = ln.Addr().String()
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln) // ErrServerClosed once closed
	return s, nil
}

// renewCreate serves /create from a fresh, empty library, and closes the
// previous create library.
func (s *server) renewCreate(ctx context.Context) error {
	prefix := s.prefix
	if s.rdb != nil {
		var rnd [4]byte
		rand.Read(rnd[:])
		prefix += "create-" + hex.EncodeToString(rnd[:]) + ":"
	}
	lib, closeLib, err := bench.OpenSubject(ctx, s.sub, s.rdb, prefix)
	if err != nil {
		return err
	}
	h := bench.CreateHandler(lib)
	s.create.Store(&h)
	s.mu.Lock()
	prev := s.closeCreate
	s.closeCreate = closeLib
	s.mu.Unlock()
	prev()
	return nil
}

// close stops serving and closes the libraries and the Redis client.
func (s *server) close() {
	if s.srv != nil {
		s.srv.Close()
	}
	s.mu.Lock()
	s.closeCreate()
	s.mu.Unlock()
	s.closeLib()
	if s.rdb != nil {
		s.rdb.Close()
	}
}

// check makes sure the server answers every path as the benchmarks
// require, so that a broken setup fails before any load.
func (s *server) check(ctx context.Context) error {
	client := &http.Client{
		Transport: &http.Transport{Proxy: nil}, // loopback only, never a proxy
		Timeout:   10 * time.Second,
	}
	defer client.CloseIdleConnections()
	get := func(path, cookie string) (int, http.Header, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.addr+path, nil)
		if err != nil {
			return 0, nil, "", err
		}
		if cookie != "" {
			req.Header.Set("Cookie", bench.CookieName+"="+cookie)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, resp.Header, strings.TrimSpace(string(body)), err
	}
	type want struct {
		path, cookie string
		code         int
		setsCookie   bool
		why          string
	}
	for _, w := range []want{
		{"/untouched", "", http.StatusOK, false, "an untouched session sets no cookie"},
		{"/read", s.readCookie, http.StatusOK, false, "the seeded session reads user_id " + strconv.Itoa(bench.UserID)},
		{"/read", "", http.StatusInternalServerError, false, "without the seeded cookie there is no user_id to read"},
		{"/create", "", http.StatusOK, true, "a new session sets its cookie"},
		{"/update", s.updateCookie, http.StatusOK, true, "an update of the seeded session sends its cookie"},
	} {
		code, h, body, err := get(w.path, w.cookie)
		if err != nil {
			return fmt.Errorf("GET %s: %w", w.path, err)
		}
		if code != w.code {
			return fmt.Errorf("GET %s (cookie %t): status %d %q, want %d: %s", w.path, w.cookie != "", code, body, w.code, w.why)
		}
		if code != http.StatusOK {
			continue
		}
		if sets := bench.CookieValue(h) != ""; sets != w.setsCookie {
			return fmt.Errorf("GET %s: sets a session cookie: %t, want %t: %s", w.path, sets, w.setsCookie, w.why)
		}
	}
	return nil
}

// runWrk drives scenario sc of s with wrk for d.
func runWrk(ctx context.Context, wrk string, d time.Duration, s *server, sc scenario) (wrkResult, error) {
	args := []string{
		"-t" + strconv.Itoa(wrkThreads), "-c" + strconv.Itoa(wrkConnections),
		"-d" + strconv.Itoa(int(d/time.Second)) + "s", "--latency",
	}
	if sc.cookie {
		cookie := s.readCookie
		if sc.name == "update" {
			cookie = s.updateCookie
		}
		args = append(args, "-H", "Cookie: "+bench.CookieName+"="+cookie)
	}
	args = append(args, "http://"+s.addr+sc.path)
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, wrk, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return wrkResult{}, ctx.Err()
		}
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out.Bytes())
	}
	res, err := parseWrk(out.String())
	if err != nil {
		return wrkResult{}, fmt.Errorf("%w; wrk printed:\n%s", err, out.Bytes())
	}
	return res, nil
}

// wrkResult is what wrk --latency reports of a run.
type wrkResult struct {
	Requests  int64   // "N requests in 2.01s"
	ReqPerSec float64 // "Requests/sec:"
	P50, P99  time.Duration
	// Non2xx is wrk's count of "Non-2xx or 3xx responses" (statuses of 400
	// or more; ours send no 3xx).
	Non2xx int64
	// Socket errors.
	Connect, Read, Write, Timeout int64
}

// socketErrors returns the total of the socket errors.
func (r wrkResult) socketErrors() int64 { return r.Connect + r.Read + r.Write + r.Timeout }

// failed reports any error response or socket error.
func (r wrkResult) failed() bool { return r.Non2xx > 0 || r.socketErrors() > 0 }

// errorText describes the errors of r after sep, or returns "" if none.
func (r wrkResult) errorText(sep string) string {
	var parts []string
	if r.Non2xx > 0 {
		parts = append(parts, fmt.Sprintf("%d non-2xx", r.Non2xx))
	}
	for _, e := range []struct {
		what string
		n    int64
	}{{"connect", r.Connect}, {"read", r.Read}, {"write", r.Write}, {"timeout", r.Timeout}} {
		if e.n > 0 {
			parts = append(parts, fmt.Sprintf("%d socket %s errors", e.n, e.what))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return sep + strings.Join(parts, ", ")
}

// parseWrk parses the output of wrk --latency. It requires the
// Requests/sec line and the 50% and 99% lines of the latency
// distribution.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	var haveRPS, haveP50, haveP99, inDist bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		var err error
		switch {
		case line == "Latency Distribution":
			inDist = true
			continue
		case inDist && (f[0] == "50%" || f[0] == "99%") && len(f) == 2:
			var d time.Duration
			if d, err = parseWrkDuration(f[1]); err == nil {
				if f[0] == "50%" {
					r.P50, haveP50 = d, true
				} else {
					r.P99, haveP99 = d, true
				}
			}
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			r.Requests, err = strconv.ParseInt(f[0], 10, 64)
		case strings.HasPrefix(line, "Requests/sec:") && len(f) == 2:
			r.ReqPerSec, err = strconv.ParseFloat(f[1], 64)
			haveRPS = err == nil
		case strings.HasPrefix(line, "Socket errors:"):
			_, err = fmt.Sscanf(line, "Socket errors: connect %d, read %d, write %d, timeout %d",
				&r.Connect, &r.Read, &r.Write, &r.Timeout)
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:"):
			r.Non2xx, err = strconv.ParseInt(f[len(f)-1], 10, 64)
		}
		if err != nil {
			return wrkResult{}, fmt.Errorf("wrk output line %q: %w", line, err)
		}
		if inDist && !strings.HasSuffix(f[0], "%") {
			inDist = false
		}
	}
	switch {
	case !haveRPS:
		return wrkResult{}, errors.New("no Requests/sec line in the wrk output")
	case !haveP50 || !haveP99:
		return wrkResult{}, errors.New("no 50% and 99% lines of a latency distribution in the wrk output (was it run with --latency?)")
	}
	return r, nil
}

// parseWrkDuration parses a latency as wrk prints it: a number with two
// decimals and a unit of us, ms, s, m or h ("527.00us", "7.41ms",
// "1.50s").
func parseWrkDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   time.Duration
	}{ // "us" and "ms" before "s"
		{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second},
		{"m", time.Minute}, {"h", time.Hour},
	}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("bad wrk latency %q", s)
			}
			return time.Duration(v * float64(u.unit)), nil
		}
	}
	return 0, fmt.Errorf("wrk latency %q has no unit of us, ms, s, m or h", s)
}

// summary is the medians over the rounds of one scenario on one subject,
// and the errors of all its runs.
type summary struct {
	ok        bool // there were runs
	reqPerSec float64
	p50, p99  time.Duration
	errors    wrkResult // only the error counts, summed
}

func summarize(runs []wrkResult) summary {
	if len(runs) == 0 {
		return summary{}
	}
	s := summary{ok: true}
	var rps, p50, p99 []float64
	for _, r := range runs {
		rps = append(rps, r.ReqPerSec)
		p50 = append(p50, float64(r.P50))
		p99 = append(p99, float64(r.P99))
		s.errors.Non2xx += r.Non2xx
		s.errors.Connect += r.Connect
		s.errors.Read += r.Read
		s.errors.Write += r.Write
		s.errors.Timeout += r.Timeout
	}
	s.reqPerSec = median(rps)
	s.p50, s.p99 = time.Duration(median(p50)), time.Duration(median(p99))
	return s
}

// median returns the median of xs (the mean of the middle two if their
// number is even), or 0 if there are none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Sorted(slices.Values(xs))
	if n := len(xs); n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[len(xs)/2]
}

// verdict judges a targeted row: met, or missed and why. Errors in either
// library's runs miss the target, since an error answered fast is not a
// request served.
func verdict(sesame, anchor summary, anchorName string) (met bool, why string) {
	var reasons []string
	if sesame.errors.failed() || anchor.errors.failed() {
		reasons = append(reasons, "errors during the load")
	}
	ratio := sesame.reqPerSec / anchor.reqPerSec
	if !(ratio >= targetRatio) {
		reasons = append(reasons, fmt.Sprintf("req/s %.2f× %s's, target ≥ %.1f×", ratio, anchorName, targetRatio))
	}
	if sesame.p99 > anchor.p99 {
		reasons = append(reasons, fmt.Sprintf("p99 %s > %s's %s", fmtLatency(sesame.p99), anchorName, fmtLatency(anchor.p99)))
	}
	return len(reasons) == 0, strings.Join(reasons, "; ")
}

// printTable prints the results as a markdown table, and returns the
// missed targets and whether any run had errors.
func printTable(w io.Writer, results map[[2]string][]wrkResult) (missed []string, failed bool) {
	fmt.Fprintf(w, "Targets: Sesame req/s ≥ %.1f× the anchor's and Sesame p99 ≤ the anchor's p99, on redis S2 and S4, memory S4 and cookie S4.\n", targetRatio)
	fmt.Fprintln(w, "The cookie S1 anchor is gorilla, which has no middleware: its row is the bare handler.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| scenario | backend | Sesame req/s | anchor | anchor req/s | Sesame/anchor | Sesame p50 | Sesame p99 | anchor p50 | anchor p99 | target | errors |")
	fmt.Fprintln(w, "|---|---|--:|---|--:|--:|--:|--:|--:|--:|---|---|")
	for _, sc := range scenarios {
		for _, backend := range backends {
			anchor := anchors[backend]
			ses := summarize(results[[2]string{sc.name, backend + "/sesame"}])
			anc := summarize(results[[2]string{sc.name, backend + "/" + anchor}])
			if !ses.ok || !anc.ok {
				continue
			}
			target := "—"
			if targeted[[2]string{sc.name, backend}] {
				met, why := verdict(ses, anc, anchor)
				if met {
					target = "met"
				} else {
					target = "missed"
					missed = append(missed, fmt.Sprintf("%s %s on %s: %s", sc.id, sc.name, backend, why))
				}
			}
			var errs []string
			if t := ses.errors.errorText(""); t != "" {
				errs = append(errs, "Sesame: "+t)
			}
			if t := anc.errors.errorText(""); t != "" {
				errs = append(errs, anchor+": "+t)
			}
			errText := "—"
			if len(errs) > 0 {
				errText = strings.Join(errs, "; ")
				failed = true
			}
			fmt.Fprintf(w, "| %s %s | %s | %.0f | %s | %.0f | %.2f× | %s | %s | %s | %s | %s | %s |\n",
				sc.id, sc.name, backend, ses.reqPerSec, anchor, anc.reqPerSec, ses.reqPerSec/anc.reqPerSec,
				fmtLatency(ses.p50), fmtLatency(ses.p99), fmtLatency(anc.p50), fmtLatency(anc.p99), target, errText)
		}
	}
	return missed, failed
}

// fmtLatency prints d in µs below a millisecond, in ms below a second,
// else in s.
func fmtLatency(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// redisServer is a private redis-server process on a loopback port.
type redisServer struct {
	path   string // of the redis-server binary
	addr   string // 127.0.0.1:port
	cmd    *exec.Cmd
	exited chan struct{}   // closed when the process has exited
	out    *testenv.Buffer // its output
}

// startRedis starts redis-server from PATH on a free loopback port,
// without persistence, and waits until it answers PING.
func startRedis(ctx context.Context) (_ *redisServer, err error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server is needed for the redis backend: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	rs := &redisServer{
		path:   path,
		addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		exited: make(chan struct{}),
		out:    &testenv.Buffer{},
	}
	rs.cmd = exec.Command(path, "--save", "", "--appendonly", "no", "--port", strconv.Itoa(port), "--bind", "127.0.0.1")
	rs.cmd.Stdout, rs.cmd.Stderr = rs.out, rs.out
	if err := rs.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting redis-server: %w", err)
	}
	go func() {
		rs.cmd.Wait() // its exit is reported by closing exited
		close(rs.exited)
	}()
	defer func() {
		if err != nil {
			rs.stop()
		}
	}()

	rdb := redis.NewClient(&redis.Options{Addr: rs.addr, MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		perr := rdb.Ping(pctx).Err()
		cancel()
		if perr == nil {
			return rs, nil
		}
		select {
		case <-rs.exited:
			return nil, fmt.Errorf("redis-server exited before answering PING on %s: %s", rs.addr, rs.out.String())
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("redis-server on %s does not answer PING: %w", rs.addr, perr)
		}
	}
}

// stop terminates the server, killing it if it is still running after 5s.
func (rs *redisServer) stop() {
	select {
	case <-rs.exited:
		return
	default:
	}
	rs.cmd.Process.Signal(syscall.SIGTERM) // it may have just exited
	select {
	case <-rs.exited:
	case <-time.After(5 * time.Second):
		rs.cmd.Process.Kill()
		<-rs.exited
	}
}

// logFilter passes log lines on to w, except those that end in "context
// canceled", which it counts.
type logFilter struct {
	w        io.Writer
	mu       sync.Mutex
	canceled atomic.Int64
}

func (f *logFilter) Write(p []byte) (int, error) {
	if bytes.HasSuffix(bytes.TrimSpace(p), []byte(context.Canceled.Error())) {
		f.canceled.Add(1)
		return len(p), nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.w.Write(p)
}

// toolVersion returns the first line that path prints for arg (wrk -v
// exits 1 after its usage), without wrk's copyright.
func toolVersion(ctx context.Context, path, arg string) string {
	out, _ := exec.CommandContext(ctx, path, arg).CombinedOutput()
	line, _, _ := strings.Cut(string(out), "\n")
	line, _, _ = strings.Cut(line, " Copyright")
	if line = strings.TrimSpace(line); line == "" {
		return "unknown"
	}
	return line
}

// commandLine returns the command line that ran e2e, shell-quoted; "go run
// ./e2e" when go run built it in a temporary directory.
func commandLine(argv []string) string {
	name := argv[0]
	if strings.Contains(name, "go-build") {
		name = "go run ./e2e"
	}
	parts := []string{name}
	for _, a := range argv[1:] {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// loadAverage returns the 1-minute load average, or "?" if unknown.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
