package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sesame-go/sesame/bench/internal/results"
)

// sample is two passes of some of the benchmarks, as go test prints them, and
// one pass of the scaling benchmarks as runScaling renames them.
const sample = `goos: linux
pkg: github.com/sesame-go/sesame/bench
BenchmarkUntouched/baseline-2   	100	8 ns/op	0 B/op	0 allocs/op
BenchmarkUntouched/memory/sesame-2	100	600 ns/op	576 B/op	2 allocs/op
BenchmarkRead/memory/sesame-2   	100	100 ns/op	16 B/op	3 allocs/op
BenchmarkRead/memory/scs-2      	100	2000 ns/op	900 B/op	50 allocs/op
BenchmarkRead/memory/sesame-2   	100	140 ns/op	16 B/op	3 allocs/op
BenchmarkRead/memory/scs-2      	100	2000 ns/op	900 B/op	50 allocs/op
BenchmarkCreate/redis/sesame-2  	100	9000 ns/op	3.0 redis-µs/op	1 roundtrips/op	100 B/op	9 allocs/op
BenchmarkCreate/redis/scs-2     	100	10000 ns/op	1.4 redis-µs/op	1 roundtrips/op	100 B/op	9 allocs/op
some log line of a benchmark
Benchmarkmemstore/BlindWrite/keys=1-2    	100	500 ns/op
Benchmarkmemstore/BlindWrite/keys=10000-2	100	1600 ns/op
Benchmarksqlitestore/BlindWrite/keys=1-2 	100	16000 ns/op
Benchmarksqlitestore/BlindWrite/keys=10000-2	100	1200000 ns/op
Benchmarkmemstore/HeapPerSession-2       	1	5000000 ns/op	610 B/session
`

func TestReport(t *testing.T) {
	res, meta, err := results.Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(res["Read/memory/sesame"]["ns/op"]); got != 2 {
		t.Fatalf("parsed %d runs of Read/memory/sesame, want 2", got)
	}
	var out bytes.Buffer
	report(&out, res, meta)
	s := out.String()
	for _, want := range []string{
		// The median of 100 and 140 over 2000: 0.06, under 0.10.
		"| read | memory | 120 ±17% | 3 | scs | 2000 ±0% | 50 | 0.06× | ≤ 0.10× | yes |",
		"| memory | 600 ±0% | +592 ns, +2 allocs, +576 B |",
		// 3.0 µs against 1.4: 2.1×, under 2.5×, and under 6 µs.
		"| create | 3.00 | 1.40 | 2.1× | ≤ 2.5×, ≤ 6 µs | yes |",
		"| memstore | 500 ns | — | 1.6 µs | 3.20× | ≤ 3× | **no** |",
		"| sqlitestore | 16.0 µs | — | 1.20 ms | 75.00× | ≤ 3× | **no** |",
		"| memstore | 610 | ≤ 600 | **no** |",
		"Targets missed (4): Create/redis, memstore growth, memstore heap per session, sqlitestore growth",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the report lacks %q:\n%s", want, s)
		}
	}
}
