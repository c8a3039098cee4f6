package sesame

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strconv"
)

// This file is the limits on what a session holds (Config.MaxSize and
// Config.MaxKeys): checked by Put when it can tell, and by the commit and
// Update before anything reaches the store.

// checkLimits checks the values a commit would store against MaxKeys and
// MaxSize, when the request put values. A blind write is checked on its own
// values: the session it adds to is checked when it is next read and
// changed.
func (s *Session) checkLimits(vals map[string]any) error {
	if len(s.p.set) == 0 {
		return nil
	}
	return s.m.limits(vals)
}

// limits checks a session's values against MaxKeys and MaxSize.
func (m *Manager) limits(vals map[string]any) error {
	cfg := &m.cfg
	if cfg.MaxKeys > 0 && len(vals) > cfg.MaxKeys {
		return &LimitError{Limit: "keys", Got: len(vals), Max: cfg.MaxKeys}
	}
	if cfg.MaxSize <= 0 {
		return nil
	}
	size := 0
	for k, v := range vals {
		n, err := encodedSize(v)
		if err != nil {
			return fmt.Errorf("sesame: value %q: %w", k, err)
		}
		size += len(k) + n
	}
	if size > cfg.MaxSize {
		return &LimitError{Limit: "size", Got: size, Max: cfg.MaxSize}
	}
	return nil
}

// checkWith checks the session, with key set to v, against MaxKeys and
// MaxSize.
func (s *Session) checkWith(key string, v any) error {
	cur := s.values()
	vals := make(map[string]any, len(cur)+1)
	maps.Copy(vals, cur)
	vals[key] = v
	return s.m.limits(vals)
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
