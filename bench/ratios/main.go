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
	"bufio"
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
		if *out != "" {
			if werr := os.WriteFile(*out, raw, 0o644); werr != nil {
				return werr
			}
		}
		if err != nil {
			return err
		}
	}

	res, meta, err := parse(raw)
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

// result holds the runs of one benchmark, by unit ("ns/op", "allocs/op",
// "B/op", "roundtrips/op").
type result map[string][]float64

// parse reads go test -bench output. It returns the results by benchmark
// name, without the "Benchmark" prefix and the -GOMAXPROCS suffix (for
// example "Read/memory/sesame"), and the goos, goarch, cpu and pkg lines.
func parse(raw []byte) (map[string]result, []string, error) {
	res := make(map[string]result)
	var meta []string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := sc.Text()
		for _, p := range []string{"goos:", "goarch:", "cpu:", "pkg:"} {
			if strings.HasPrefix(line, p) && !slices.Contains(meta, line) {
				meta = append(meta, line)
			}
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // not a result line (a benchmark's log output, say)
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		r := res[name]
		if r == nil {
			r = make(result)
			res[name] = r
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: bad value %q", f[0], f[i])
			}
			r[f[i+1]] = append(r[f[i+1]], v)
		}
	}
	return res, meta, sc.Err()
}

// median returns the median of the runs in unit, and whether there are any.
func (r result) median(unit string) (float64, bool) {
	v := slices.Clone(r[unit])
	if len(v) == 0 {
		return 0, false
	}
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2, true
	}
	return v[len(v)/2], true
}

// spread returns half the range of the runs in unit, relative to their
// median.
func (r result) spread(unit string) float64 {
	m, ok := r.median(unit)
	if !ok || m == 0 {
		return 0
	}
	return (slices.Max(r[unit]) - slices.Min(r[unit])) / 2 / m
}

// anchors maps each backend to the library Sesame is compared with there.
var anchors = []struct{ backend, lib string }{
	{"memory", "scs"},
	{"cookie", "gorilla"},
	{"redis", "scs"},
}

// targets holds the ratio targets (Sesame/anchor), by scenario and
// backend. A missing entry means there is none.
var targets = map[string]map[string]float64{
	"Read":   {"memory": 0.2, "cookie": 0.25, "redis": 0.8},
	"Create": {"memory": 0.5, "cookie": 0.5, "redis": 0.5},
	"Update": {"memory": 0.2, "cookie": 0.25},
}

// Untouched targets: at most this much over the no-session baseline.
const (
	untouchedNs     = 150
	untouchedAllocs = 3
)

// roundTrips holds the Redis round-trip targets, by scenario.
var roundTrips = map[string]float64{"Untouched": 0, "Read": 1, "Create": 1, "Update": 2}

var scenarios = []string{"Untouched", "Read", "Create", "Update"}

func report(w io.Writer, res map[string]result, meta []string) {
	var missed []string
	check := func(ok bool, what string) string {
		if ok {
			return "yes"
		}
		missed = append(missed, what)
		return "**no**"
	}

	if base, ok := res["Untouched/baseline"]; ok {
		baseNs, _ := base.median("ns/op")
		baseAllocs, _ := base.median("allocs/op")
		fmt.Fprintf(w, "### Untouched: no cookie, handler ignores the session\n\n")
		fmt.Fprintf(w, "Over a handler with no session middleware (%s ns/op, %.0f allocs/op). ", num(baseNs, base.spread("ns/op")), baseAllocs)
		fmt.Fprintf(w, "Target: at most +%d ns and +%d allocs.\n\n", untouchedNs, untouchedAllocs)
		fmt.Fprintln(w, "| backend | Sesame ns/op | Sesame over baseline | scs ns/op | scs over baseline | target met |")
		fmt.Fprintln(w, "|---|--:|--:|--:|--:|---|")
		for _, a := range anchors {
			s, ok := res["Untouched/"+a.backend+"/sesame"]
			if !ok {
				continue
			}
			sNs, _ := s.median("ns/op")
			sAllocs, _ := s.median("allocs/op")
			scsCol, scsOver := "—", "—"
			if c, ok := res["Untouched/"+a.backend+"/scs"]; ok {
				cNs, _ := c.median("ns/op")
				cAllocs, _ := c.median("allocs/op")
				scsCol = num(cNs, c.spread("ns/op"))
				scsOver = fmt.Sprintf("%+.0f ns, %+.0f allocs", cNs-baseNs, cAllocs-baseAllocs)
			}
			met := check(sNs-baseNs <= untouchedNs && sAllocs-baseAllocs <= untouchedAllocs, "Untouched/"+a.backend)
			fmt.Fprintf(w, "| %s | %s | %+.0f ns, %+.0f allocs | %s | %s | %s |\n",
				a.backend, num(sNs, s.spread("ns/op")), sNs-baseNs, sAllocs-baseAllocs, scsCol, scsOver, met)
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
			sNs, _ := s.median("ns/op")
			cNs, _ := c.median("ns/op")
			sAllocs, _ := s.median("allocs/op")
			cAllocs, _ := c.median("allocs/op")
			ratio := sNs / cNs
			target, met := "—", "—"
			if t, ok := targets[sc][a.backend]; ok {
				target = fmt.Sprintf("≤ %.2f×", t)
				met = check(ratio <= t, sc+"/"+a.backend)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %.0f | %s | %s | %.0f | %.2f× | %s | %s |\n",
				strings.ToLower(sc), a.backend, num(sNs, s.spread("ns/op")), sAllocs,
				a.lib, num(cNs, c.spread("ns/op")), cAllocs, ratio, target, met)
		}
	}
	fmt.Fprintln(w)

	var rt []string
	for _, sc := range scenarios {
		s, ok := res[sc+"/redis/sesame"]
		if !ok {
			continue
		}
		sRT, ok := s.median("roundtrips/op")
		if !ok {
			continue
		}
		cRT := "—"
		if c, ok := res[sc+"/redis/scs"]; ok {
			if v, ok := c.median("roundtrips/op"); ok {
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
func runs(res map[string]result) int {
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
