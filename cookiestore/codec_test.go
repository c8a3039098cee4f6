package cookiestore

import (
	"encoding/json"
	"maps"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
)

// FuzzDecodePayload feeds the payload decoder arbitrary bytes. It only ever
// sees authenticated payloads, but must still never panic, and whatever it
// accepts must encode back to the same session.
func FuzzDecodePayload(f *testing.F) {
	now := time.Now()
	for _, rec := range []*sesame.Record{
		{},
		{User: "alice", Persist: true, Created: now, LastSeen: now, Deadline: now.Add(time.Hour), Expires: now.Add(time.Minute),
			Values: map[string]any{"user_id": 42, "name": "Alice", "raw": json.RawMessage(`[1,2]`)}},
	} {
		p, err := appendPayload(nil, "some-id", rec)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
		f.Add(p[:len(p)-1])
	}
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, p []byte) {
		id, rec, err := decodePayload(p)
		if err != nil {
			return
		}
		again, err := appendPayload(nil, id, rec)
		if err != nil {
			t.Fatalf("re-encoding a decoded payload: %v", err)
		}
		id2, rec2, err := decodePayload(again)
		if err != nil {
			t.Fatalf("decoding a re-encoded payload: %v", err)
		}
		if id2 != id || rec2.User != rec.User || rec2.Persist != rec.Persist ||
			!rec2.Created.Equal(rec.Created) || !rec2.LastSeen.Equal(rec.LastSeen) ||
			!rec2.Deadline.Equal(rec.Deadline) || !rec2.Expires.Equal(rec.Expires) ||
			!maps.EqualFunc(rec.Values, rec2.Values, func(a, b any) bool {
				return string(a.(json.RawMessage)) == string(b.(json.RawMessage))
			}) {
			t.Fatalf("round trip changed the session:\n%q %+v\n%q %+v", id, rec, id2, rec2)
		}
	})
}
