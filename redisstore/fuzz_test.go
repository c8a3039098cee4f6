package redisstore

import (
	"strings"
	"testing"
)

// FuzzDecode feeds decode a session hash of arbitrary fields, as a
// corrupted or foreign key could hold: it must never panic, and a record
// it accepts has only the values the hash held under "v:" fields.
func FuzzDecode(f *testing.F) {
	f.Add("u\x00alice\x00c\x001700000000000\x00e\x009999999999999\x00v:k\x00\"x\"")
	f.Add("e\x00-1\x00d\x00abc")
	f.Add("f\x00next\x00u\x00bob")
	f.Add("")
	f.Fuzz(func(t *testing.T, flat string) {
		parts := strings.Split(flat, "\x00")
		h := make(map[string]string, len(parts)/2)
		for i := 0; i+1 < len(parts); i += 2 {
			h[parts[i]] = parts[i+1]
		}
		rec, err := decode(h)
		if err != nil {
			return
		}
		for k := range rec.Values {
			if _, ok := h[valuePrefix+k]; !ok {
				t.Fatalf("decoded value %q that the hash does not hold", k)
			}
		}
	})
}
