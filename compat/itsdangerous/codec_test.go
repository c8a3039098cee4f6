package itsdangerous

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFlaskTags(t *testing.T) {
	tests := []struct {
		name, json string
		want       any
		err        error
	}{
		{"a plain object", `{"a":1,"b":[true,null]}`, map[string]any{"a": json.Number("1"), "b": []any{true, nil}}, nil},
		{"a tuple", `{"x":{" t":[1,"a"]}}`, map[string]any{"x": []any{json.Number("1"), "a"}}, nil},
		{"bytes", `{"x":{" b":"AAE="}}`, map[string]any{"x": []byte{0, 1}}, nil},
		{"markup", `{"x":{" m":"<b>"}}`, map[string]any{"x": "<b>"}, nil},
		{"a UUID", `{"x":{" u":"12345678123456781234567812345678"}}`, map[string]any{"x": "12345678-1234-5678-1234-567812345678"}, nil},
		{"a datetime", `{"x":{" d":"Wed, 21 Oct 2015 07:28:00 GMT"}}`, map[string]any{"x": time.Date(2015, 10, 21, 7, 28, 0, 0, time.UTC)}, nil},
		{"an escaped dict", `{"x":{" di":{" t__":{" b":"eA=="}}}}`, map[string]any{"x": map[string]any{" t": []byte("x")}}, nil},
		{"nested tags", `{"x":{" t":[{" t":[]}]}}`, map[string]any{"x": []any{[]any{}}}, nil},
		{"a tag beside other keys", `{"x":{" t":1,"y":2}}`, map[string]any{"x": map[string]any{" t": json.Number("1"), "y": json.Number("2")}}, nil},
		{"an unknown tag", `{"x":{" od":[]}}`, map[string]any{"x": map[string]any{" od": []any{}}}, nil},
		{"a tuple that is no list", `{"x":{" t":1}}`, nil, ErrBadPayload},
		{"bad bytes", `{"x":{" b":"!"}}`, nil, ErrBadPayload},
		{"bytes that are no string", `{"x":{" b":1}}`, nil, ErrBadPayload},
		{"a bad UUID", `{"x":{" u":"123"}}`, nil, ErrBadPayload},
		{"a bad datetime", `{"x":{" d":"yesterday"}}`, nil, ErrBadPayload},
		{"a bad escaped dict", `{"x":{" di":{"a":1}}}`, nil, ErrBadPayload},
		{"a tagged session", `{" t":[]}`, nil, ErrBadPayload},
		{"a list session", `[1]`, nil, ErrBadPayload},
		{"no JSON", `{`, nil, ErrBadPayload},
		{"trailing data", `{} x`, nil, ErrBadPayload},
	}
	c := Flask("k")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := c.Decode(c.s.SignPayload([]byte(tt.json)))
			if !errors.Is(err, tt.err) {
				t.Fatalf("Decode(%s) error %v, want %v", tt.json, err, tt.err)
			}
			if err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode(%s) = %#v, want %#v", tt.json, got, tt.want)
			}
		})
	}
}

func TestCodecsRoundTrip(t *testing.T) {
	when := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	in := map[string]any{"user": "u", "n": 1, "raw": []byte("hi"), "when": when, "esc": map[string]any{" b": "s"}, "pad": strings.Repeat("p", 500)}
	for name, c := range map[string]Codec{"flask": Flask("k"), "starlette": Starlette("k")} {
		t.Run(name, func(t *testing.T) {
			cookie, err := c.Encode(in)
			if err != nil {
				t.Fatal(err)
			}
			out, issued, err := c.Decode(cookie)
			if err != nil || time.Since(issued) > time.Minute {
				t.Fatalf("Decode: %v, issued %v", err, issued)
			}
			if out["user"] != "u" || out["n"] != json.Number("1") || !reflect.DeepEqual(out["esc"], map[string]any{" b": "s"}) {
				t.Errorf("Decode = %#v", out)
			}
			if name == "flask" && (!reflect.DeepEqual(out["raw"], []byte("hi")) || out["when"] != when) {
				t.Errorf("Flask tags lost: %#v", out)
			}
			if _, _, err := c.Decode(cookie[:len(cookie)-1]); !errors.Is(err, ErrBadSignature) {
				t.Errorf("truncated cookie: %v", err)
			}
		})
	}
}

func TestCodecMaxAge(t *testing.T) {
	c := Starlette("k")
	now := time.Now()
	c.s = NewTimestampSigner("k", Options{Now: func() time.Time { return now.Add(-StarletteMaxAge - time.Minute) }})
	cookie, _ := c.Encode(map[string]any{"a": 1})
	fresh := Starlette("k")
	if _, _, err := fresh.Decode(cookie); !errors.Is(err, ErrExpired) {
		t.Errorf("a cookie older than 14 days: %v", err)
	}
	fresh.MaxAge = 0
	if _, _, err := fresh.Decode(cookie); err != nil {
		t.Errorf("without MaxAge: %v", err)
	}
}

func TestStarletteBadPayload(t *testing.T) {
	c := Starlette("k")
	for name, payload := range map[string]string{"not base64": "!!!", "not JSON": "bm9wZQ==", "not an object": "WzFd"} {
		if _, _, err := c.Decode(string(c.s.Sign([]byte(payload)))); !errors.Is(err, ErrBadPayload) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestZlibBombRejected(t *testing.T) {
	s := NewURLSafeTimedSerializer("k", Options{})
	token := s.SignPayload([]byte(`"` + strings.Repeat("a", maxPayload+10) + `"`))
	if !strings.HasPrefix(token, ".") {
		t.Fatal("payload not compressed")
	}
	if _, _, err := s.UnsignPayload(token, 0); !errors.Is(err, ErrBadPayload) {
		t.Errorf("UnsignPayload = %v, want ErrBadPayload", err)
	}
	var v any
	if _, err := s.Loads(s.SignPayload([]byte("{")), 0, &v); !errors.Is(err, ErrBadPayload) {
		t.Errorf("Loads(bad JSON) = %v", err)
	}
	if tok, err := s.Dumps([]int{1}); err != nil {
		t.Error(err)
	} else if _, err := s.Loads(tok, time.Minute, &v); err != nil || !reflect.DeepEqual(v, []any{1.0}) {
		t.Errorf("Loads = %v, %v", v, err)
	}
}
