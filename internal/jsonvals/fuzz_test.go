package jsonvals

import (
	"encoding/json"
	"testing"
)

// FuzzDecode feeds Decode arbitrary column contents: it must never panic,
// and what it decodes must encode back to the same values.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{`{}`, ``, `{"a":"1"}`, `{"k":"{\"x\":[1,2]}","\u00e9":"\"s\""}`, `{"a":1}`, `[]`, `null`, `{"a":"1"`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vals, err := Decode(data)
		if err != nil {
			return
		}
		for k, v := range vals {
			if _, ok := v.(json.RawMessage); !ok {
				t.Fatalf("value %q is a %T, want json.RawMessage", k, v)
			}
		}
		enc, err := Encode(vals)
		if err != nil {
			t.Fatalf("Encode of decoded values: %v", err)
		}
		again, err := Decode([]byte(enc))
		if err != nil || len(again) != len(vals) {
			t.Fatalf("round trip: %d values, then %d (%v)", len(vals), len(again), err)
		}
		for k, v := range vals {
			if string(again[k].(json.RawMessage)) != string(v.(json.RawMessage)) {
				t.Fatalf("value %q: %q, then %q", k, v, again[k])
			}
		}
	})
}

func TestEncodeKeepsValuesExactly(t *testing.T) {
	in := map[string]any{"n": json.RawMessage(`1e2`), "big": int64(1<<62 + 1), "s": "é\u0000"}
	enc, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode([]byte(enc))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"n": `1e2`, "big": `4611686018427387905`, "s": `"é\u0000"`} {
		if got := string(out[k].(json.RawMessage)); got != want {
			t.Errorf("%s = %s, want %s", k, got, want)
		}
	}
	if _, err := Encode(map[string]any{"f": func() {}}); err == nil {
		t.Error("Encode of a func succeeded")
	}
}
