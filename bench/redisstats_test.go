package bench

import (
	"bufio"
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesame-go/sesame/internal/testenv"
)

// serverTime reads the time the Redis server spent running commands, from
// INFO commandstats. It uses a client of its own, so that its INFO calls
// are not counted as the library's round trips.
//
// Redis counts a command that a script or a transaction runs twice: under
// its own name, and in the time of the EVALSHA or EXEC that ran it. So the
// time of a request is the time of the commands its library sent at the
// top level (counted by tripCounter): all of an EVALSHA's or an EXEC's,
// and, of a command such as HSET that ran both at the top level and inside
// scripts, the top-level calls' share of its time. Redis counts every
// client's commands, so the figure is only the library's when nothing else
// uses the server: run the benchmarks against a private one (README.md).
type serverTime struct{ rdb *redis.Client }

// serverStats is INFO commandstats: by command, its calls and usec.
type serverStats map[string]struct{ calls, usec float64 }

func newServerTime(b *testing.B) *serverTime {
	b.Helper()
	opts, err := redis.ParseURL(testenv.RedisURL())
	if err != nil {
		b.Fatalf("SESAME_REDIS_URL: %v", err)
	}
	st := &serverTime{redis.NewClient(opts)}
	b.Cleanup(func() { st.rdb.Close() })
	return st
}

func (st *serverTime) stats(b *testing.B) serverStats {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := st.rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		b.Fatalf("INFO commandstats: %v", err)
	}
	s, err := parseCommandStats(info)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// parseCommandStats parses the reply of INFO commandstats, whose lines read
// "cmdstat_hgetall:calls=2,usec=6,usec_per_call=3.00,...".
func parseCommandStats(info string) (serverStats, error) {
	s := make(serverStats)
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		name, fields, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		var st struct{ calls, usec float64 }
		for f := range strings.SplitSeq(fields, ",") {
			k, v, _ := strings.Cut(f, "=")
			var dst *float64
			switch k {
			case "calls":
				dst = &st.calls
			case "usec":
				dst = &st.usec
			default:
				continue
			}
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, err
			}
			*dst = n
		}
		s[strings.TrimPrefix(name, "cmdstat_")] = st
	}
	return s, sc.Err()
}

// topLevel returns the server time, in µs, of the commands sent between
// two readings of the stats, given the top-level commands sent by name,
// and that time by command.
func topLevel(before, after serverStats, sentBefore, sentAfter map[string]int64) (float64, map[string]float64) {
	by := make(map[string]float64)
	var total float64
	for name, n := range sentAfter {
		sent := float64(n - sentBefore[name])
		calls := after[name].calls - before[name].calls
		if sent <= 0 || calls <= 0 {
			continue
		}
		usec := (after[name].usec - before[name].usec) * min(1, sent/calls)
		by[name] = usec
		total += usec
	}
	return total, by
}

// report reports the server time per iteration since before, as
// redis-µs/op, and, with -v, its split by command.
func (st *serverTime) report(b *testing.B, before serverStats, sentBefore, sentAfter map[string]int64) {
	total, by := topLevel(before, st.stats(b), sentBefore, sentAfter)
	b.ReportMetric(total/float64(b.N), "redis-µs/op")
	if testing.Verbose() {
		var split []string
		for _, name := range slices.Sorted(maps.Keys(by)) {
			split = append(split, name+" "+strconv.FormatFloat(by[name]/float64(b.N), 'f', 2, 64))
		}
		b.Logf("server µs/op by command: %s", strings.Join(split, ", "))
	}
}

// TestTopLevelServerTime checks the accounting on a reading taken from
// Redis 7.0: a script whose HSET is counted under hset too, beside a
// top-level HSET of the same count.
func TestTopLevelServerTime(t *testing.T) {
	before, err := parseCommandStats("# Commandstats\r\ncmdstat_hset:calls=10,usec=20,usec_per_call=2.00,rejected_calls=0,failed_calls=0\r\n")
	if err != nil {
		t.Fatal(err)
	}
	after, err := parseCommandStats("# Commandstats\r\n" +
		"cmdstat_evalsha:calls=100,usec=1000,usec_per_call=10.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_hset:calls=210,usec=420,usec_per_call=2.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_info:calls=3,usec=300,usec_per_call=100.00,rejected_calls=0,failed_calls=0\r\n")
	if err != nil {
		t.Fatal(err)
	}
	// 100 EVALSHAs (each ran an HSET) and 100 top-level HSETs.
	total, by := topLevel(before, after, map[string]int64{"hset": 5}, map[string]int64{"hset": 105, "evalsha": 100})
	if total != 1200 || by["evalsha"] != 1000 || by["hset"] != 200 {
		t.Errorf("topLevel = %v, %v; want 1200: evalsha 1000 and half of hset's 400", total, by)
	}
}
