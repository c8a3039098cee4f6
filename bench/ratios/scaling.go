package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"

	"github.com/sesame-go/sesame/bench/internal/results"
)

// scalingJobs are the scaling benchmarks, in the packages of the main
// module (the parent directory): what a write, a read and a revocation
// cost as sessions and stores grow, and the heap of memstore's sessions.
var scalingJobs = []struct{ pkg, bench, benchtime string }{
	{"memstore", "^Benchmark(BlindWrite|LoadAmong)$", "1s"},
	{"memstore", "^BenchmarkHeapPerSession$", "1x"},
	{"sqlitestore", "^Benchmark(BlindWrite|LoadAmong|RevokeUser)$", "1s"},
	{"pgstore", "^Benchmark(BlindWrite|LoadAmong|RevokeUser)$", "1s"},
	{"redisstore", "^Benchmark(BlindWrite|LoadAmong|RevokeUser)$", "1s"},
}

// scalingStores are the stores of the scaling tables, in order.
var scalingStores = []string{"memstore", "sqlitestore", "pgstore", "redisstore"}

// Scaling targets.
const (
	growthMax  = 3.0  // a one-key write into 10,000 keys, over one into 1
	amongMax   = 1.25 // a read among 1,000,000 sessions, over one among 1,000: the same within noise
	revokeMax  = 1.5  // revoking 5 sessions among 100,000 others, over among 1,000
	heapMaxB   = 600  // memstore heap per session at 1,000,000 sessions
	scalingDir = ".." // the main module, from the bench directory
)

var benchLine = regexp.MustCompile(`(?m)^Benchmark`)

// runScaling builds each package's test binary once and runs its scaling
// benchmarks count times, a pass over all the packages at a time. Each
// result line is renamed Benchmark<pkg>/<name>, so that one output holds
// the benchmarks of every package apart.
func runScaling(ctx context.Context, count int, progress io.Writer) ([]byte, error) {
	dir, err := os.MkdirTemp("", "sesame-scaling-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	root, err := filepath.Abs(scalingDir)
	if err != nil {
		return nil, err
	}
	bins := make(map[string]string)
	for _, j := range scalingJobs {
		if bins[j.pkg] != "" {
			continue
		}
		bin := filepath.Join(dir, j.pkg+".test")
		build := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, "./"+j.pkg)
		build.Dir, build.Stdout, build.Stderr = root, progress, progress
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("go test -c ./%s: %w", j.pkg, err)
		}
		bins[j.pkg] = bin
	}
	var all bytes.Buffer
	for i := range count {
		fmt.Fprintf(progress, "ratios: scaling pass %d of %d (load average %s)\n", i+1, count, loadAverage())
		for _, j := range scalingJobs {
			var out bytes.Buffer
			cmd := exec.CommandContext(ctx, bins[j.pkg], "-test.run", "^$", "-test.bench", j.bench,
				"-test.benchmem", "-test.count", "1", "-test.benchtime", j.benchtime)
			cmd.Dir = filepath.Join(root, j.pkg)
			cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, progress), progress
			err := cmd.Run()
			all.Write(benchLine.ReplaceAll(out.Bytes(), []byte("Benchmark"+j.pkg+"/")))
			if err != nil {
				return all.Bytes(), fmt.Errorf("%s benchmarks, pass %d: %w", j.pkg, i+1, err)
			}
		}
	}
	return all.Bytes(), nil
}

// reportScaling prints the scaling tables of what res holds.
func reportScaling(w io.Writer, res map[string]results.Result, check func(bool, string) string) {
	ns := func(name string) (float64, bool) {
		r, ok := res[name]
		if !ok {
			return 0, false
		}
		return r.Median("ns/op")
	}
	type table struct {
		title, small, large, smallName, largeName, what string
		max                                             float64
	}
	tables := []table{
		{"A one-key blind write into a session of 1 and of 10,000 keys (100 keys in between)",
			"BlindWrite/keys=1", "BlindWrite/keys=10000", "1 key", "10,000 keys", "growth", growthMax},
		{"A read of a 10-key session among 1,000 and among 1,000,000 sessions",
			"LoadAmong/sessions=1000", "LoadAmong/sessions=1000000", "1,000", "1,000,000", "read among 1M", amongMax},
		{"Revoking one user's 5 sessions among 1,000 and among 100,000 others",
			"RevokeUser/others=1000", "RevokeUser/others=100000", "1,000 others", "100,000 others", "revoke among 100k", revokeMax},
	}
	for _, t := range tables {
		var rows []string
		for _, st := range scalingStores {
			small, ok1 := ns(st + "/" + t.small)
			large, ok2 := ns(st + "/" + t.large)
			if !ok1 || !ok2 {
				continue
			}
			mid := ""
			if t.what == "growth" {
				if m, ok := ns(st + "/BlindWrite/keys=100"); ok {
					mid = " | " + dur(m)
				} else {
					mid = " | —"
				}
			}
			ratio := large / small
			rows = append(rows, fmt.Sprintf("| %s | %s%s | %s | %.2f× | ≤ %g× | %s |", st, dur(small), mid, dur(large),
				ratio, t.max, check(ratio <= t.max, st+" "+t.what)))
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(w, "### %s\n\n", t.title)
		if t.what == "growth" {
			fmt.Fprintf(w, "| store | %s | 100 keys | %s | ratio | target | met |\n|---|--:|--:|--:|--:|--:|---|\n", t.smallName, t.largeName)
		} else {
			fmt.Fprintf(w, "| store | %s | %s | ratio | target | met |\n|---|--:|--:|--:|--:|---|\n", t.smallName, t.largeName)
		}
		for _, r := range rows {
			fmt.Fprintln(w, r)
		}
		fmt.Fprintln(w)
	}
	if r, ok := res["memstore/HeapPerSession"]; ok {
		if b, ok := r.Median("B/session"); ok {
			fmt.Fprintf(w, "### memstore heap per session at 1,000,000 sessions\n\n")
			fmt.Fprintf(w, "| store | B/session | target | met |\n|---|--:|--:|---|\n")
			fmt.Fprintf(w, "| memstore | %.0f | ≤ %d | %s |\n\n", b, heapMaxB, check(b <= heapMaxB, "memstore heap per session"))
		}
	}
}

// dur formats a time in ns for people.
func dur(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}
