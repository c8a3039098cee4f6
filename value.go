package sesame

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sesame-go/sesame/driver"
)

// This file is the value codec: how a session value goes to a store and
// comes back as the type the caller asks for, and which keys and users every
// store can keep exactly.

// checkKey reports a key that some store could not keep byte for byte:
// PostgreSQL's jsonb rejects NUL and SQLite's JSON rewrites invalid UTF-8.
func checkKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	return checkText(key, driver.MaxKeyLen, ErrInvalidKey)
}

// checkUser is checkKey for users; "" (no user) is valid.
func checkUser(user string) error { return checkText(user, driver.MaxUserLen, ErrInvalidUser) }

// checkText reports, as an error wrapping invalid, a string longer than
// limit bytes, not valid UTF-8, or holding a NUL byte.
func checkText(s string, limit int, invalid error) error {
	switch {
	case len(s) > limit:
		return fmt.Errorf("%w: %d bytes > %d", invalid, len(s), limit)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w %q: not valid UTF-8", invalid, s)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%w %q: holds a NUL byte", invalid, s)
	}
	return nil
}

// Decode converts a stored value, as found in driver.Record.Values, to T, as
// [Lookup] does: a Go value of type T is returned as is (or as a copy, if
// it holds maps, slices or pointers), and a json.RawMessage is decoded
// into T.
func Decode[T any](v any) (T, error) { return convert[T]("", v) }

func convert[T any](key string, v any) (T, error) {
	if t, ok := v.(T); ok {
		return private(t), nil
	}
	var zero T
	raw, isJSON := v.(json.RawMessage)
	if isJSON && string(raw) != "null" {
		var t T
		if err := json.Unmarshal(raw, &t); err != nil {
			return zero, &TypeError{Key: key, Want: typeName[T](), Got: "json", Err: err}
		}
		return t, nil
	}
	if v == nil || isJSON { // a nil Put: the zero value of a type that can hold nil
		switch reflect.TypeFor[T]().Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
			return zero, nil
		}
		return zero, &TypeError{Key: key, Want: typeName[T](), Got: "nil"}
	}
	return zero, &TypeError{Key: key, Want: typeName[T](), Got: fmt.Sprintf("%T", v)}
}

func typeName[T any]() string { return reflect.TypeFor[T]().String() }

// private returns v, or a deep copy of it if it shares memory (a map, a
// slice, a pointer, or a struct or array holding one). A store that keeps
// Go values (memstore) hands every reader the same value, and two requests
// that modify what they read must not race: each gets its own copy of every
// map, slice and pointer reachable through exported fields. Values of plain
// types (numbers, strings, arrays and structs of them, time.Time) cost
// nothing.
func private[T any](v T) T {
	if t := reflect.TypeFor[T](); t.Kind() == reflect.Interface {
		if dt := reflect.TypeOf(any(v)); dt == nil || !shares(dt) {
			return v
		}
	} else if !shares(t) {
		return v
	}
	// The common shapes, without reflection.
	switch x := any(v).(type) {
	case map[string]string:
		return any(maps.Clone(x)).(T)
	case map[string]int:
		return any(maps.Clone(x)).(T)
	case map[string]bool:
		return any(maps.Clone(x)).(T)
	case []string:
		return any(slices.Clone(x)).(T)
	case []int:
		return any(slices.Clone(x)).(T)
	case []int64:
		return any(slices.Clone(x)).(T)
	}
	return privateCopy(v)
}

// privateCopy is private's general case, apart so that only it makes v
// escape.
func privateCopy[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	var out T
	reflect.ValueOf(&out).Elem().Set(deepCopy(rv, 0))
	return out
}

// deepCopy returns a copy of v that shares no map, slice or pointer with
// it (channels and funcs are shared, and so is what hides behind unexported
// struct fields or a cycle deeper than 64 levels).
func deepCopy(v reflect.Value, depth int) reflect.Value {
	t := v.Type()
	if depth > 64 || !shares(t) {
		return v
	}
	switch v.Kind() {
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		m := reflect.MakeMapWithSize(t, v.Len())
		for it := v.MapRange(); it.Next(); {
			m.SetMapIndex(it.Key(), deepCopy(it.Value(), depth+1))
		}
		return m
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeSlice(t, v.Len(), v.Len())
		if !shares(t.Elem()) {
			reflect.Copy(c, v)
			return c
		}
		for i := range v.Len() {
			c.Index(i).Set(deepCopy(v.Index(i), depth+1))
		}
		return c
	case reflect.Array:
		c := reflect.New(t).Elem()
		for i := range v.Len() {
			c.Index(i).Set(deepCopy(v.Index(i), depth+1))
		}
		return c
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(deepCopy(v.Elem(), depth+1))
		return p
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		c := reflect.New(t).Elem()
		c.Set(deepCopy(v.Elem(), depth+1))
		return c
	case reflect.Struct:
		c := reflect.New(t).Elem()
		c.Set(v)
		for i := range t.NumField() {
			if f := c.Field(i); f.CanSet() {
				f.Set(deepCopy(v.Field(i), depth+1))
			}
		}
		return c
	}
	return v
}

var sharesCache sync.Map // reflect.Type -> bool

// shares reports whether values of type t can share memory with a copy.
func shares(t reflect.Type) bool {
	if v, ok := sharesCache.Load(t); ok {
		return v.(bool)
	}
	s := sharesWalk(t, map[reflect.Type]bool{})
	sharesCache.Store(t, s)
	return s
}

var timeType = reflect.TypeFor[time.Time]()

func sharesWalk(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t == timeType {
		return false // immutable in practice: its pointer is the Location
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Map, reflect.Slice, reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return t.Len() > 0 && sharesWalk(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if sharesWalk(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}
