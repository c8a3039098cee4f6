package benchkit

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/sesame-go/sesame/driver"
)

// BlindWriteKeys are the session sizes BlindWrite measures.
var BlindWriteKeys = []int{1, 100, 10_000}

// BlindWrite measures a blind write, an Apply of a one-key delta, into a
// session of 1, 100 and 10,000 keys of about 32 bytes each (sub-benchmarks
// keys=N). What a store does per write should depend on the delta, not on
// the session: the target is at most 3x the 1-key cost at 10,000 keys.
func BlindWrite(b *testing.B, st driver.DeltaStore) {
	for _, keys := range BlindWriteKeys {
		b.Run("keys="+strconv.Itoa(keys), func(b *testing.B) {
			ctx := b.Context()
			id := fmt.Sprintf("blind-write-%d-%d", keys, time.Now().UnixNano())
			if err := st.Save(ctx, id, Record("", Values(keys))); err != nil {
				b.Fatal(err)
			}
			d := &driver.Delta{Set: map[string]any{"key-00000": newValue}}
			b.ReportAllocs()
			for b.Loop() {
				now := time.Now()
				d.LastSeen, d.Expires = now, now.Add(30*time.Minute)
				if _, err := st.Apply(ctx, id, d); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			rec, err := st.Load(ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			if len(rec.Values) != keys || !holds(rec.Values["key-00000"], newValue) {
				b.Fatalf("after the writes the session holds %d keys, key-00000 = %v; want %d keys and %q",
					len(rec.Values), rec.Values["key-00000"], keys, newValue)
			}
		})
	}
}

// newValue is the value BlindWrite writes.
const newValue = "a new value of about 32 bytes.."

// holds reports whether a loaded value is s, as the Go value a store keeps
// in memory or as the JSON encoding a server store returns.
func holds(v any, s string) bool {
	if raw, ok := v.(json.RawMessage); ok {
		var got string
		return json.Unmarshal(raw, &got) == nil && got == s
	}
	return v == s
}

// LoadAmongCounts are the store sizes LoadAmong measures.
var LoadAmongCounts = []int{1_000, 1_000_000}

// LoadAmong measures a Load of a 10-key session while the store holds
// 1,000 and then 1,000,000 other sessions (sub-benchmarks sessions=N). A
// read should cost the same at both sizes, within noise. fill adds the
// sessions numbered [from, to) to st, as fast as the store allows; they
// need only be live records.
func LoadAmong(b *testing.B, st driver.Store, fill func(b *testing.B, from, to int)) {
	ctx := b.Context()
	id := fmt.Sprintf("load-among-%d", time.Now().UnixNano())
	if err := st.Save(ctx, id, Record("alice", Values(10))); err != nil {
		b.Fatal(err)
	}
	have := 0
	for _, n := range LoadAmongCounts {
		fill(b, have, n)
		have = n
		b.Run("sessions="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec, err := st.Load(ctx, id)
				if err != nil {
					b.Fatal(err)
				}
				if len(rec.Values) != 10 {
					b.Fatalf("loaded %d values, want 10", len(rec.Values))
				}
			}
		})
	}
}

// SaveFill returns a LoadAmong fill that saves each session with st.Save,
// for stores where that is fast (in memory).
func SaveFill(st driver.Store) func(b *testing.B, from, to int) {
	return func(b *testing.B, from, to int) {
		ctx := b.Context()
		for i := from; i < to; i++ {
			if err := st.Save(ctx, "filler-"+strconv.Itoa(i), Record("", Values(1))); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// Values returns n keys (key-00000, key-00001, ...) holding strings of
// about 32 bytes.
func Values(n int) map[string]any {
	vals := make(map[string]any, n)
	for i := range n {
		vals[fmt.Sprintf("key-%05d", i)] = fmt.Sprintf("a value of about 32 bytes #%05d", i)
	}
	return vals
}

// Record returns a live record of user holding vals, expiring in 30
// minutes, with a deadline in an hour.
func Record(user string, vals map[string]any) *driver.Record {
	now := time.Now()
	return &driver.Record{Values: vals, User: user, Created: now, LastSeen: now,
		Deadline: now.Add(time.Hour), Expires: now.Add(30 * time.Minute)}
}
