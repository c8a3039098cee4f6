// Command ratios runs the side-by-side benchmarks of the bench module and
// prints, as markdown tables, Sesame's cost against its anchors (scs and
// gorilla/sessions) and against the product's performance targets (the
// targets table below). Run it from the bench directory:
//
//	go run ./ratios                       # 6 passes of every benchmark
//	go run ./ratios -out results.txt      # also keep the raw output, for benchstat
//	go run ./ratios -in results.txt       # only tabulate an earlier run
//
// It builds the test binary once and runs it -count times, each pass
// running every benchmark once (with -benchmem and -benchtime), so that
// Sesame's runs and its anchors' runs alternate in time: on a shared,
// noisy machine a burst of load then hits both rather than one.
//
// Each number is the median of the runs, as benchstat reports it;
// "±" is half the range of the runs around the median, a rough measure of
// the noise. A target is met when the medians meet it. The command fails
// only if the benchmarks do; missed targets are listed at the end.
package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sesame-go/sesame/bench/internal/results"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ratios:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ratios", flag.ContinueOnError)
	fs.SetOutput(stderr)
	count := fs.Int("count", 6, "passes over the benchmarks: runs of each")
	benchtime := fs.String("benchtime", "1s", "time or iterations per run (go test -benchtime)")
	bench := fs.String("bench", ".", "benchmarks to run (go test -bench)")
	in := fs.String("in", "", "tabulate this file of go test -bench output instead of running the benchmarks")
	out := fs.String("out", "", "also write the raw go test output to this file (for benchstat)")
	scaling := fs.Bool("scaling", true, "also run the scaling benchmarks of the stores (in the parent module)")
	scount := fs.Int("scount", 3, "passes over the scaling benchmarks")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	var raw []byte
	loadBefore := loadAverage()
	if *in != "" {
		var err error
		if raw, err = os.ReadFile(*in); err != nil {
			return err
		}
	} else {
		var err error
		raw, err = runBenchmarks(ctx, *bench, *benchtime, *count, stderr)
		if err == nil && *scaling {
			var more []byte
			more, err = runScaling(ctx, *scount, stderr)
			raw = append(raw, more...)
		}
		if *out != "" {
			if werr := os.WriteFile(*out, raw, 0o644); werr != nil {
				return werr
			}
		}
		if err != nil {
			return err
		}
	}

	res, meta, err := results.Parse(raw)
	if err != nil {
		return err
	}
	if len(res) == 0 {
		return errors.New("no benchmark results found")
	}
	var env []string
	if *in == "" {
		env = append(env, fmt.Sprintf("load average (1, 5, 15 min): %s before, %s after", loadBefore, loadAverage()))
	}
	report(stdout, res, append(meta, env...))
	return nil
}

// runBenchmarks builds the package's test binary once, then runs the
// benchmarks count times, one complete pass at a time, and returns the
// output of all the passes. Interleaving the passes, rather than running
// each benchmark count times in a row as go test -count does, spreads any
// change in the machine's load over Sesame and its anchors alike.
func runBenchmarks(ctx context.Context, bench, benchtime string, count int, progress io.Writer) ([]byte, error) {
	dir, err := os.MkdirTemp("", "sesame-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bench.test")
	build := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, ".")
	build.Stdout, build.Stderr = progress, progress
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("go test -c: %w", err)
	}
	var buf bytes.Buffer
	for i := range count {
		cmd := exec.CommandContext(ctx, bin, "-test.run", "^$", "-test.bench", bench,
			"-test.benchmem", "-test.count", "1", "-test.benchtime", benchtime)
		fmt.Fprintf(progress, "ratios: pass %d of %d (load average %s)\n", i+1, count, loadAverage())
		cmd.Stdout = io.MultiWriter(&buf, progress)
		cmd.Stderr = progress
		if err := cmd.Run(); err != nil {
			return buf.Bytes(), fmt.Errorf("benchmarks, pass %d: %w", i+1, err)
		}
	}
	return buf.Bytes(), nil
}

// anchors maps each backend to the library Sesame is compared with there.
var anchors = []struct{ backend, lib string }{
	{"memory", "scs"},
	{"cookie", "gorilla"},
	{"redis", "scs"},
}

// targets holds the ratio targets (Sesame/anchor, in ns/op), by scenario
// and backend. A missing entry means there is none.
var targets = map[string]map[string]float64{
	"Read":   {"memory": 0.10, "cookie": 0.15, "redis": 0.75},
	"Create": {"memory": 0.40, "cookie": 0.40, "redis": 0.85},
	"Update": {"memory": 0.15, "cookie": 0.20, "redis": 0.70},
}

// Untouched targets: at most this much over the no-session baseline.
const (
	untouchedAllocs = 2
	untouchedBytes  = 600
)

// serverTargets holds the targets of Redis server time per request
// (redis-µs/op), by scenario: at most ratio times scs's and, if max is
// set, at most max µs.
var serverTargets = map[string]struct{ ratio, max float64 }{
	"Read":   {ratio: 3},
	"Create": {ratio: 2.5, max: 6},
	"Update": {ratio: 4},
}

// roundTrips holds the Redis round-trip targets, by scenario.
var roundTrips = map[string]float64{"Untouched": 0, "Read": 1, "Create": 1, "Update": 2}

var scenarios = []string{"Untouched", "Read", "Create", "Update"}

func report(w io.Writer, res map[string]results.Result, meta []string) {
	var missed []string
	check := func(ok bool, what string) string {
		if ok {
			return "yes"
		}
		missed = append(missed, what)
		return "**no**"
	}

	if base, ok := res["Untouched/baseline"]; ok {
		baseNs, _ := base.Median("ns/op")
		baseAllocs, _ := base.Median("allocs/op")
		fmt.Fprintf(w, "### Untouched: no cookie, handler ignores the session\n\n")
		baseBytes, _ := base.Median("B/op")
		fmt.Fprintf(w, "Over a handler with no session middleware (%s ns/op, %.0f allocs/op, %.0f B/op). ",
			num(baseNs, base.Spread("ns/op")), baseAllocs, baseBytes)
		fmt.Fprintf(w, "Target: at most +%d allocs and +%d B/op.\n\n", untouchedAllocs, untouchedBytes)
		fmt.Fprintln(w, "| backend | Sesame ns/op | Sesame over baseline | scs ns/op | scs over baseline | target | met |")
		fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|---|")
		over := func(r results.Result) string {
			ns, _ := r.Median("ns/op")
			allocs, _ := r.Median("allocs/op")
			bytes, _ := r.Median("B/op")
			return fmt.Sprintf("%+.0f ns, %+.0f allocs, %+.0f B", ns-baseNs, allocs-baseAllocs, bytes-baseBytes)
		}
		for _, a := range anchors {
			s, ok := res["Untouched/"+a.backend+"/sesame"]
			if !ok {
				continue
			}
			sNs, _ := s.Median("ns/op")
			sAllocs, _ := s.Median("allocs/op")
			sBytes, _ := s.Median("B/op")
			scsCol, scsOver := "—", "—"
			if c, ok := res["Untouched/"+a.backend+"/scs"]; ok {
				cNs, _ := c.Median("ns/op")
				scsCol, scsOver = num(cNs, c.Spread("ns/op")), over(c)
			}
			met := check(sAllocs-baseAllocs <= untouchedAllocs && sBytes-baseBytes <= untouchedBytes, "Untouched/"+a.backend)
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | +%d allocs, +%d B | %s |\n",
				a.backend, num(sNs, s.Spread("ns/op")), over(s), scsCol, scsOver, untouchedAllocs, untouchedBytes, met)
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "### Read, create, update: Sesame against its anchor on the same backend\n\n")
	fmt.Fprintln(w, "| scenario | backend | Sesame ns/op | allocs | anchor | anchor ns/op | allocs | Sesame/anchor | target | met |")
	fmt.Fprintln(w, "|---|---|--:|--:|---|--:|--:|--:|--:|---|")
	for _, sc := range scenarios[1:] {
		for _, a := range anchors {
			s, ok1 := res[sc+"/"+a.backend+"/sesame"]
			c, ok2 := res[sc+"/"+a.backend+"/"+a.lib]
			if !ok1 || !ok2 {
				continue
			}
			sNs, _ := s.Median("ns/op")
			cNs, _ := c.Median("ns/op")
			sAllocs, _ := s.Median("allocs/op")
			cAllocs, _ := c.Median("allocs/op")
			ratio := sNs / cNs
			target, met := "—", "—"
			if t, ok := targets[sc][a.backend]; ok {
				target = fmt.Sprintf("≤ %.2f×", t)
				met = check(ratio <= t, sc+"/"+a.backend)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %.0f | %s | %s | %.0f | %.2f× | %s | %s |\n",
				strings.ToLower(sc), a.backend, num(sNs, s.Spread("ns/op")), sAllocs,
				a.lib, num(cNs, c.Spread("ns/op")), cAllocs, ratio, target, met)
		}
	}
	fmt.Fprintln(w)

	var rt []string
	for _, sc := range scenarios {
		s, ok := res[sc+"/redis/sesame"]
		if !ok {
			continue
		}
		sRT, ok := s.Median("roundtrips/op")
		if !ok {
			continue
		}
		cRT := "—"
		if c, ok := res[sc+"/redis/scs"]; ok {
			if v, ok := c.Median("roundtrips/op"); ok {
				cRT = strconv.FormatFloat(v, 'g', 3, 64)
			}
		}
		want := roundTrips[sc]
		rt = append(rt, fmt.Sprintf("| %s | %s | %s | %g | %s |", strings.ToLower(sc),
			strconv.FormatFloat(sRT, 'g', 3, 64), cRT, want, check(sRT <= want, sc+"/redis round trips")))
	}
	if len(rt) > 0 {
		fmt.Fprintf(w, "### Redis round trips per request\n\n")
		fmt.Fprintln(w, "| scenario | Sesame | scs | target | met |")
		fmt.Fprintln(w, "|---|--:|--:|--:|---|")
		for _, line := range rt {
			fmt.Fprintln(w, line)
		}
		fmt.Fprintln(w)
	}

	var st []string
	for _, sc := range scenarios {
		s, ok1 := res[sc+"/redis/sesame"]
		c, ok2 := res[sc+"/redis/scs"]
		if !ok1 || !ok2 {
			continue
		}
		sUs, ok1 := s.Median("redis-µs/op")
		cUs, ok2 := c.Median("redis-µs/op")
		if !ok1 || !ok2 {
			continue
		}
		ratio, target, met := "—", "—", "—"
		if cUs > 0 {
			ratio = fmt.Sprintf("%.1f×", sUs/cUs)
		}
		if t, ok := serverTargets[sc]; ok {
			target = fmt.Sprintf("≤ %g×", t.ratio)
			ok := cUs > 0 && sUs/cUs <= t.ratio
			if t.max > 0 {
				target += fmt.Sprintf(", ≤ %g µs", t.max)
				ok = ok && sUs <= t.max
			}
			met = check(ok, sc+"/redis server time")
		}
		st = append(st, fmt.Sprintf("| %s | %.2f | %.2f | %s | %s | %s |", strings.ToLower(sc), sUs, cUs, ratio, target, met))
	}
	if len(st) > 0 {
		fmt.Fprintf(w, "### Redis server time per request (µs, from INFO commandstats)\n\n")
		fmt.Fprintln(w, "| scenario | Sesame | scs | Sesame/scs | target | met |")
		fmt.Fprintln(w, "|---|--:|--:|--:|--:|---|")
		for _, line := range st {
			fmt.Fprintln(w, line)
		}
		fmt.Fprintln(w)
	}

	reportScaling(w, res, check)

	fmt.Fprintf(w, "Medians of %d runs; ± is half the range of the runs.\n", runs(res))
	for _, m := range meta {
		fmt.Fprintf(w, "%s  \n", m)
	}
	if len(missed) == 0 {
		fmt.Fprintf(w, "\nAll targets met.\n")
	} else {
		slices.SortFunc(missed, cmp.Compare)
		fmt.Fprintf(w, "\nTargets missed (%d): %s\n", len(missed), strings.Join(missed, ", "))
	}
}

// num formats a duration in ns with its spread.
func num(ns, spread float64) string {
	return fmt.Sprintf("%.0f ±%.0f%%", ns, spread*100)
}

// runs returns the largest number of runs of any benchmark.
func runs(res map[string]results.Result) int {
	n := 0
	for _, r := range res {
		n = max(n, len(r["ns/op"]))
	}
	return n
}

// loadAverage returns the 1, 5 and 15-minute load averages, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}
