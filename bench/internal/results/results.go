// Package results parses the output of go test -bench into the runs of
// each benchmark, for the commands of the bench module.
package results

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Result holds the runs of one benchmark, by unit ("ns/op", "allocs/op",
// "B/op", "roundtrips/op").
type Result map[string][]float64

// Parse reads go test -bench output. It returns the results by benchmark
// name, without the "Benchmark" prefix and the -GOMAXPROCS suffix (for
// example "Read/memory/sesame"), and the goos, goarch, cpu and pkg lines.
func Parse(raw []byte) (map[string]Result, []string, error) {
	res := make(map[string]Result)
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
			r = make(Result)
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

// Median returns the median of the runs in unit, and whether there are any.
func (r Result) Median(unit string) (float64, bool) {
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

// Spread returns half the range of the runs in unit, relative to their
// median.
func (r Result) Spread(unit string) float64 {
	m, ok := r.Median(unit)
	if !ok || m == 0 {
		return 0
	}
	return (slices.Max(r[unit]) - slices.Min(r[unit])) / 2 / m
}
