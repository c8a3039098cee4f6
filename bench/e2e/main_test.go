package main

import (
	"strings"
	"testing"
	"time"
)

// The outputs below were captured from real runs of wrk 4.1.0 (Debian's
// 4.1.0-3+b2) against a small Go server on 127.0.0.1.

// wrkOK is wrk 4.1.0's output (wrk -t2 -c64 -d2s --latency) for a Go handler that
// answers 200: latencies in us and ms, no errors.
const wrkOK = "Running 2s test @ http://127.0.0.1:18089/ok\n" +
	"  2 threads and 64 connections\n" +
	"  Thread Stats   Avg      Stdev     Max   +/- Stdev\n" +
	"    Latency     1.11ms    1.59ms  17.87ms   87.51%\n" +
	"    Req/Sec    52.31k     6.46k   65.78k    65.00%\n" +
	"  Latency Distribution\n" +
	"     50%  527.00us\n" +
	"     75%    1.40ms\n" +
	"     90%    3.15ms\n" +
	"     99%    7.41ms\n" +
	"  208512 requests in 2.01s, 14.91MB read\n" +
	"Requests/sec: 103858.12\n" +
	"Transfer/sec:      7.43MB\n"

// wrkNon2xx is its output for a handler that answers every third request with
// 500 and sleeps 1.5s in every twentieth: the Non-2xx line and latencies
// in s, printed with a trailing space.
const wrkNon2xx = "Running 3s test @ http://127.0.0.1:18089/mixed\n" +
	"  2 threads and 64 connections\n" +
	"  Thread Stats   Avg      Stdev     Max   +/- Stdev\n" +
	"    Latency   289.05ms  462.00ms   1.50s    81.15%\n" +
	"    Req/Sec     3.08k     3.33k    7.22k    87.50%\n" +
	"  Latency Distribution\n" +
	"     50%  349.00us\n" +
	"     75%  498.51ms\n" +
	"     90%    1.12s \n" +
	"     99%    1.50s \n" +
	"  2559 requests in 3.01s, 203.25KB read\n" +
	"  Non-2xx or 3xx responses: 853\n" +
	"Requests/sec:    850.77\n" +
	"Transfer/sec:     67.57KB\n"

// wrkTimeout is its output for the same handler with --timeout 1s: socket
// timeouts beside the Non-2xx line.
const wrkTimeout = "Running 3s test @ http://127.0.0.1:18089/mixed\n" +
	"  2 threads and 64 connections\n" +
	"  Thread Stats   Avg      Stdev     Max   +/- Stdev\n" +
	"    Latency   220.82us  458.85us   3.33ms   92.19%\n" +
	"    Req/Sec     2.92k     3.01k    6.36k    87.50%\n" +
	"  Latency Distribution\n" +
	"     50%   54.00us\n" +
	"     75%  206.00us\n" +
	"     90%  522.00us\n" +
	"     99%    2.29ms\n" +
	"  2986 requests in 3.01s, 237.20KB read\n" +
	"  Socket errors: connect 0, read 0, write 0, timeout 93\n" +
	"  Non-2xx or 3xx responses: 997\n" +
	"Requests/sec:    990.65\n" +
	"Transfer/sec:     78.69KB\n"

func TestParseWrk(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  string
		want wrkResult
	}{
		{"ok", wrkOK, wrkResult{
			Requests: 208512, ReqPerSec: 103858.12,
			P50: 527 * time.Microsecond, P99: 7410 * time.Microsecond,
		}},
		{"non-2xx and seconds", wrkNon2xx, wrkResult{
			Requests: 2559, ReqPerSec: 850.77,
			P50: 349 * time.Microsecond, P99: 1500 * time.Millisecond,
			Non2xx: 853,
		}},
		{"socket timeouts", wrkTimeout, wrkResult{
			Requests: 2986, ReqPerSec: 990.65,
			P50: 54 * time.Microsecond, P99: 2290 * time.Microsecond,
			Non2xx: 997, Timeout: 93,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseWrk(tc.out)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("parseWrk =\n%+v, want\n%+v", got, tc.want)
			}
			if failed := tc.want.Non2xx+tc.want.Timeout > 0; got.failed() != failed {
				t.Errorf("failed() = %t, want %t", got.failed(), failed)
			}
		})
	}
}

func TestParseWrkErrorText(t *testing.T) {
	r, err := parseWrk(wrkTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.errorText(": "), ": 997 non-2xx, 93 socket timeout errors"; got != want {
		t.Errorf("errorText = %q, want %q", got, want)
	}
	if r, _ := parseWrk(wrkOK); r.errorText(": ") != "" {
		t.Errorf("errorText of a clean run = %q, want none", r.errorText(": "))
	}
}

func TestParseWrkRejects(t *testing.T) {
	for name, out := range map[string]string{
		// What wrk prints (on stderr, exiting 1) when nothing listens.
		"refused": "unable to connect to 127.0.0.1:1 Connection refused\n",
		// A run without --latency has no distribution.
		"no --latency":    strings.Join(withoutLines(strings.Split(wrkOK, "\n"), "Latency Distribution", "%"), "\n"),
		"no Requests/sec": strings.Replace(wrkOK, "Requests/sec: 103858.12\n", "", 1),
		"bad latency":     strings.Replace(wrkOK, "7.41ms", "7.41xs", 1),
		"bad socket line": strings.Replace(wrkTimeout, "timeout 93", "timeout lots", 1),
	} {
		if r, err := parseWrk(out); err == nil {
			t.Errorf("%s: parseWrk = %+v, want an error", name, r)
		}
	}
}

// withoutLines returns lines without those containing any of subs.
func withoutLines(lines []string, subs ...string) []string {
	var kept []string
	for _, l := range lines {
		drop := false
		for _, s := range subs {
			drop = drop || strings.Contains(l, s)
		}
		if !drop {
			kept = append(kept, l)
		}
	}
	return kept
}

func TestParseWrkDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"527.00us": 527 * time.Microsecond,
		"0.00us":   0,
		"7.41ms":   7410 * time.Microsecond,
		"1.50s":    1500 * time.Millisecond,
		"2.00m":    2 * time.Minute,
		"1.25h":    75 * time.Minute,
	} {
		got, err := parseWrkDuration(in)
		if err != nil || got != want {
			t.Errorf("parseWrkDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "12", "ms", "1.0xs", "-1.00ms", "1,5s"} {
		if got, err := parseWrkDuration(in); err == nil {
			t.Errorf("parseWrkDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{5}, 5},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		in := append([]float64(nil), tc.in...)
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		for i := range in {
			if in[i] != tc.in[i] {
				t.Fatalf("median reordered its argument: %v, was %v", tc.in, in)
			}
		}
	}
}

func TestVerdict(t *testing.T) {
	anchor := summary{ok: true, reqPerSec: 1000, p99: 10 * time.Millisecond}
	for _, tc := range []struct {
		name   string
		sesame summary
		met    bool
		why    string
	}{
		{"met", summary{ok: true, reqPerSec: 1300, p99: 10 * time.Millisecond}, true, ""},
		{"slow", summary{ok: true, reqPerSec: 1250, p99: 5 * time.Millisecond}, false, "req/s 1.25× scs's, target ≥ 1.3×"},
		{"tail", summary{ok: true, reqPerSec: 2000, p99: 11 * time.Millisecond}, false, "p99 11.00 ms > scs's 10.00 ms"},
		{"errors", summary{ok: true, reqPerSec: 5000, p99: time.Millisecond, errors: wrkResult{Non2xx: 1}}, false, "errors during the load"},
	} {
		met, why := verdict(tc.sesame, anchor, "scs")
		if met != tc.met || why != tc.why {
			t.Errorf("%s: verdict = %t, %q; want %t, %q", tc.name, met, why, tc.met, tc.why)
		}
	}
}
