package sesame

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sesame-go/sesame/driver"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// This file is the value codec: how a session value goes to a store and
// comes back as the type the caller asks for, and which keys and users every
// store can keep exactly.

// checkKey reports a key that some store could not keep byte for byte:
// PostgreSQL's jsonb rejects NUL and SQLite's JSON rewrites invalid UTF-8.
func checkKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case len(key) > driver.MaxKeyLen:
		return fmt.Errorf("%w: %d bytes > %d", ErrInvalidKey, len(key), driver.MaxKeyLen)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w %q: not valid UTF-8", ErrInvalidKey, key)
	case strings.IndexByte(key, 0) >= 0:
		return fmt.Errorf("%w %q: holds a NUL byte", ErrInvalidKey, key)
	}
	return nil
}

// checkUser is checkKey for users; "" (no user) is valid.
func checkUser(user string) error {
	switch {
	case len(user) > driver.MaxUserLen:
		return fmt.Errorf("%w: %d bytes > %d", ErrInvalidUser, len(user), driver.MaxUserLen)
	case !utf8.ValidString(user):
		return fmt.Errorf("%w %q: not valid UTF-8", ErrInvalidUser, user)
	case strings.IndexByte(user, 0) >= 0:
		return fmt.Errorf("%w %q: holds a NUL byte", ErrInvalidUser, user)
	}
	return nil
}

// encodedSize returns the size a value counts for against Config.MaxSize:
// the length of its JSON encoding, measured without encoding it where it
// can be (a store that keeps Go values would otherwise pay for a JSON
// encoding of the whole session at every commit). It fails as
// json.Marshal would for a value that cannot be encoded.
func encodedSize(v any) (int, error) {
	switch v := v.(type) {
	case json.RawMessage:
		return len(v), nil
	case string:
		return len(v) + 2, nil
	case int:
		var buf [20]byte
		return len(strconv.AppendInt(buf[:0], int64(v), 10)), nil
	case int64:
		var buf [20]byte
		return len(strconv.AppendInt(buf[:0], v, 10)), nil
	case bool:
		if v {
			return 4, nil
		}
		return 5, nil
	case nil:
		return 4, nil
	}
	return sizeOf(reflect.ValueOf(v), 0)
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// sizeOf measures the JSON encoding of v: exactly for strings, booleans
// and integers, closely for floats and struct field names (escaping is not
// counted), and by encoding for types with their own marshalling.
func sizeOf(v reflect.Value, depth int) (int, error) {
	if depth > 64 {
		return 0, errors.New("sesame: value nested too deeply")
	}
	if !v.IsValid() {
		return 4, nil // null
	}
	t := v.Type()
	if t.NumMethod() > 0 && (t.Implements(marshalerType) || t.Implements(textMarshalerType)) {
		b, err := json.Marshal(v.Interface())
		return len(b), err
	}
	var buf [32]byte
	switch v.Kind() {
	case reflect.String:
		return v.Len() + 2, nil
	case reflect.Bool:
		if v.Bool() {
			return 4, nil
		}
		return 5, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return len(strconv.AppendInt(buf[:0], v.Int(), 10)), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return len(strconv.AppendUint(buf[:0], v.Uint(), 10)), nil
	case reflect.Float32, reflect.Float64:
		return len(strconv.AppendFloat(buf[:0], v.Float(), 'g', -1, 64)), nil
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return 4, nil
		}
		return sizeOf(v.Elem(), depth+1)
	case reflect.Slice:
		if v.IsNil() {
			return 4, nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return (v.Len()+2)/3*4 + 2, nil // base64
		}
		fallthrough
	case reflect.Array:
		n := 2 + max(v.Len()-1, 0)
		for i := range v.Len() {
			m, err := sizeOf(v.Index(i), depth+1)
			if err != nil {
				return 0, err
			}
			n += m
		}
		return n, nil
	case reflect.Map:
		if v.IsNil() {
			return 4, nil
		}
		n := 2 + max(v.Len()-1, 0)
		for it := v.MapRange(); it.Next(); {
			k, err := sizeOf(it.Key(), depth+1)
			if err != nil {
				return 0, err
			}
			if it.Key().Kind() != reflect.String {
				k += 2 // a number key is quoted
			}
			m, err := sizeOf(it.Value(), depth+1)
			if err != nil {
				return 0, err
			}
			n += k + 1 + m
		}
		return n, nil
	case reflect.Struct:
		n := 2
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			m, err := sizeOf(v.Field(i), depth+1)
			if err != nil {
				return 0, err
			}
			n += len(f.Name) + 4 + m // "name":value,
		}
		return n, nil
	}
	return 0, &json.UnsupportedTypeError{Type: t}
}

// Decode converts a stored value, as found in [Record.Values], to T, as
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
