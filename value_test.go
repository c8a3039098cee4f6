package sesame

import (
	"encoding/json"
	"errors"
	"github.com/sesame-go/sesame/driver"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

type cart struct {
	Items []string
	Total int64
	Note  *string
}

func TestEncodedSizeMatchesJSON(t *testing.T) {
	note := "gift"
	for _, v := range []any{
		42, int64(math.MaxInt64), -7, uint8(200), 2.5, 1e21, math.SmallestNonzeroFloat64, true, false, nil,
		"héllo", "", []string{"a", "bc"}, []int(nil), [3]string{"admin", "editor", "viewer"},
		map[string]int{"x": 1, "yy": 22}, map[int]bool{1: true}, cart{Items: []string{"apple"}, Total: 1999, Note: &note},
		&cart{}, []byte("raw bytes"), time.Date(2026, 12, 1, 12, 0, 0, 123, time.UTC), json.RawMessage(`{"a":[1,2]}`),
		[]any{1, "two", map[string]any{"three": 3.0}},
	} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodedSize(v)
		if err != nil {
			t.Errorf("encodedSize(%#v): %v", v, err)
			continue
		}
		// Floats are formatted a little differently from encoding/json;
		// everything else is exact.
		if d := got - len(want); d < -4 || d > 4 {
			t.Errorf("encodedSize(%#v) = %d, JSON is %d bytes (%s)", v, got, len(want), want)
		}
	}
	for _, bad := range []any{make(chan int), func() {}, map[string]any{"f": func() {}}} {
		if _, err := encodedSize(bad); err == nil {
			t.Errorf("encodedSize(%T) succeeded; json.Marshal fails", bad)
		}
	}
}

func TestReadValuesAreTheReadersOwn(t *testing.T) {
	stored := map[string][]int{"a": {1, 2}}
	got, err := Decode[map[string][]int](stored)
	if err != nil {
		t.Fatal(err)
	}
	got["a"][0] = 99
	got["b"] = nil
	if stored["a"][0] != 1 || len(stored) != 1 {
		t.Errorf("modifying a read value changed the stored one: %v", stored)
	}
	// Plain values are returned as they are.
	if v, _ := Decode[[3]string]([3]string{"x"}); v[0] != "x" {
		t.Errorf("array = %v", v)
	}
	if v, _ := Decode[any](cart{Total: 5}); v.(cart).Total != 5 {
		t.Errorf("any keeps the dynamic type: got %T", v)
	}
	for typ, want := range map[string]bool{"int": shares(reflect.TypeFor[int]()), "time": shares(reflect.TypeFor[time.Time]()), "array": shares(reflect.TypeFor[[3]string]())} {
		if want {
			t.Errorf("%s is reported to share memory", typ)
		}
	}
	if !shares(reflect.TypeFor[cart]()) || !shares(reflect.TypeFor[[]int]()) {
		t.Error("a struct with a slice, or a slice, is reported not to share memory")
	}
}

func TestKeysAndUsersAreChecked(t *testing.T) {
	for _, k := range []string{"", "k\x00", "k\xff", strings.Repeat("k", driver.MaxKeyLen+1)} {
		if err := checkKey(k); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("checkKey(%q) = %v, want ErrInvalidKey", k, err)
		}
	}
	for _, k := range []string{"k", "ключ", "a.b", `"`, strings.Repeat("k", driver.MaxKeyLen)} {
		if err := checkKey(k); err != nil {
			t.Errorf("checkKey(%q) = %v", k, err)
		}
	}
	for _, u := range []string{"u\x00", "\xc3"} {
		if err := checkUser(u); !errors.Is(err, ErrInvalidUser) {
			t.Errorf("checkUser(%q) = %v, want ErrInvalidUser", u, err)
		}
	}
	if err := checkUser(""); err != nil {
		t.Errorf("checkUser(\"\") = %v: no user is valid", err)
	}
}
