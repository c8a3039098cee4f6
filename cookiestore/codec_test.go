package cookiestore

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/sesame-go/sesame/driver"
)

// FuzzDecodePayload feeds the payload decoder arbitrary bytes. It only ever
// sees authenticated payloads, but must still never panic, and whatever it
// accepts must encode back to the same session.
func FuzzDecodePayload(f *testing.F) {
	now := time.Now()
	for _, rec := range []*driver.Record{
		{},
		{User: "alice", Persist: true, Created: now, LastSeen: now, Deadline: now.Add(time.Hour), Expires: now.Add(time.Minute),
			Values: map[string]any{"user_id": 42, "name": "Alice", "raw": json.RawMessage(`[1,2]`)}},
		{User: "bob", Created: now, LastSeen: now, Expires: now.Add(time.Minute), AuthenticatedAt: now.Add(-time.Minute),
			Device: driver.Device{UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", IP: "2001:db8::1"}, Values: map[string]any{"k": 1}},
		{AuthenticatedAt: now},
		{Device: driver.Device{IP: "203.0.113.0/24"}},
	} {
		for _, origin := range []string{"", "first-id"} {
			p, err := appendPayload(nil, "some-id", origin, rec)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(p)
			f.Add(p[:len(p)-1])
		}
	}
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{flagAuthenticated | flagDevice, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	old, _ := hex.DecodeString(previousPayload)
	f.Add(old)
	f.Fuzz(func(t *testing.T, p []byte) {
		id, origin, rec, err := decodePayload(p)
		if err != nil {
			return
		}
		again, err := appendPayload(nil, id, origin, rec)
		if err != nil {
			t.Fatalf("re-encoding a decoded payload: %v", err)
		}
		id2, origin2, rec2, err := decodePayload(again)
		if err != nil {
			t.Fatalf("decoding a re-encoded payload: %v", err)
		}
		if id2 != id || origin2 != origin || rec2.User != rec.User || rec2.Persist != rec.Persist ||
			!rec2.Created.Equal(rec.Created) || !rec2.LastSeen.Equal(rec.LastSeen) ||
			!rec2.Deadline.Equal(rec.Deadline) || !rec2.Expires.Equal(rec.Expires) ||
			!rec2.AuthenticatedAt.Equal(rec.AuthenticatedAt) || rec2.Device != rec.Device ||
			!maps.EqualFunc(rec.Values, rec2.Values, func(a, b any) bool {
				return string(a.(json.RawMessage)) == string(b.(json.RawMessage))
			}) {
			t.Fatalf("round trip changed the session:\n%q %+v\n%q %+v", id, rec, id2, rec2)
		}
	})
}

// previousPayload is a payload encoded by the code before AuthenticatedAt
// and Device were added (kept, not regenerated): the session "fixture-id"
// of alice, Persist, created 2026-01-02T03:04:05.006Z, last seen a minute
// later, no deadline, expiring 2200-01-01, holding cart ["apple","pear"].
const previousPayload = "010a666978747572652d696405616c6963659cb2cccaef66dcdbd3caef66ffdfe6a2e2a01c80a08d99bda603010463617274105b226170706c65222c2270656172225d"

func TestPayloadOfThePreviousFormatDecodesAsBefore(t *testing.T) {
	p, err := hex.DecodeString(previousPayload)
	if err != nil {
		t.Fatal(err)
	}
	id, origin, rec, err := decodePayload(p)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		t.Errorf("origin %q, want none", origin)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	if id != "fixture-id" || rec.User != "alice" || !rec.Persist ||
		!rec.Created.Equal(created) || !rec.LastSeen.Equal(created.Add(time.Minute)) ||
		!rec.Deadline.IsZero() || !rec.Expires.Equal(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		!rec.AuthenticatedAt.IsZero() || rec.Device != (driver.Device{}) ||
		len(rec.Values) != 1 || string(rec.Values["cart"].(json.RawMessage)) != `["apple","pear"]` {
		t.Fatalf("decoded %q %+v", id, rec)
	}
	// A session without the new fields encodes exactly as before.
	again, err := appendPayload(nil, id, "", rec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, p) {
		t.Errorf("re-encoded as %x, want the previous payload %x", again, p)
	}
}

func TestAuthenticationTimeAndDeviceAreCompact(t *testing.T) {
	now := time.Now()
	base := driver.Record{User: "alice", Created: now, LastSeen: now, Deadline: now.Add(time.Hour), Expires: now.Add(time.Minute)}
	size := func(rec driver.Record) int {
		t.Helper()
		p, err := appendPayload(nil, "id", "", &rec)
		if err != nil {
			t.Fatal(err)
		}
		return len(p)
	}
	without := size(base)
	ua := strings.Repeat("u", driver.MaxUserAgentLen)
	for _, tc := range []struct {
		name  string
		edit  func(*driver.Record)
		extra int
	}{
		{"authenticated at creation (a Login)", func(r *driver.Record) { r.AuthenticatedAt = r.Created }, 1},
		{"authenticated 30 s after creation", func(r *driver.Record) { r.AuthenticatedAt = r.Created.Add(30 * time.Second) }, 3},
		{"authenticated 8 h after creation", func(r *driver.Record) { r.AuthenticatedAt = r.Created.Add(8 * time.Hour) }, 4},
		{"an empty device", func(r *driver.Record) { r.Device = driver.Device{} }, 0},
		{"an IPv4 address only", func(r *driver.Record) { r.Device.IP = "203.0.113.45" }, 2 + 12},
		{"a 256-byte User-Agent and an IPv6 address", func(r *driver.Record) {
			r.Device = driver.Device{UserAgent: ua, IP: "2001:db8:85a3:8d3:1319:8a2e:370:7348"}
		}, 2 + 256 + 1 + 36},
	} {
		rec := base
		tc.edit(&rec)
		if got := size(rec) - without; got != tc.extra {
			t.Errorf("%s adds %d bytes to the payload, want %d", tc.name, got, tc.extra)
		}
		p, _ := appendPayload(nil, "id", "", &rec)
		_, _, out, err := decodePayload(p)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := rec.AuthenticatedAt.Truncate(time.Millisecond) // the zero time stays zero
		if out.Device != rec.Device || !out.AuthenticatedAt.Equal(want) || out.AuthenticatedAt.IsZero() != want.IsZero() {
			t.Errorf("%s: decoded Device %+v, AuthenticatedAt %v; sealed %+v, %v", tc.name, out.Device, out.AuthenticatedAt, rec.Device, rec.AuthenticatedAt)
		}
	}
}
