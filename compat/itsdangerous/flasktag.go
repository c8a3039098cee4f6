package itsdangerous

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The keys of Flask's TaggedJSONSerializer (flask/json/tag.py).
const (
	tagDict     = " di"
	tagTuple    = " t"
	tagBytes    = " b"
	tagMarkup   = " m"
	tagUUID     = " u"
	tagDateTime = " d"
)

func isTag(k string) bool {
	switch k {
	case tagDict, tagTuple, tagBytes, tagMarkup, tagUUID, tagDateTime:
		return true
	}
	return false
}

// maxDepth bounds the nesting that untagScan follows.
const maxDepth = 1000

// untagScan undoes Flask's tags, innermost first, as json.loads with
// object_hook=untag does.
func untagScan(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nested too deeply", ErrBadPayload)
	}
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			u, err := untagScan(e, depth+1)
			if err != nil {
				return nil, err
			}
			v[k] = u
		}
		if len(v) != 1 {
			return v, nil
		}
		for k, e := range v {
			if !isTag(k) {
				return v, nil
			}
			return untag(k, e)
		}
	case []any:
		for i, e := range v {
			u, err := untagScan(e, depth+1)
			if err != nil {
				return nil, err
			}
			v[i] = u
		}
	}
	return v, nil
}

func untag(k string, v any) (any, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: flask tag %q: %s", ErrBadPayload, k, why)
	}
	if k == tagTuple {
		if l, ok := v.([]any); ok {
			return l, nil
		}
		return nil, bad(fmt.Sprintf("want a list, got %T", v))
	}
	if k == tagDict {
		m, ok := v.(map[string]any)
		if !ok || len(m) != 1 {
			return nil, bad("want an object with one key")
		}
		for key, e := range m {
			if !strings.HasSuffix(key, "__") {
				return nil, bad("key without the __ suffix")
			}
			return map[string]any{key[:len(key)-2]: e}, nil
		}
	}
	s, ok := v.(string)
	if !ok {
		return nil, bad(fmt.Sprintf("want a string, got %T", v))
	}
	switch k {
	case tagBytes:
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, bad(err.Error())
		}
		return b, nil
	case tagMarkup:
		return s, nil
	case tagUUID:
		h := strings.ReplaceAll(strings.TrimPrefix(strings.Trim(s, "{}"), "urn:uuid:"), "-", "")
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 16 {
			return nil, bad("not a UUID")
		}
		h = hex.EncodeToString(b)
		return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
	case tagDateTime:
		t, err := http.ParseTime(s)
		if err != nil {
			return nil, bad(err.Error())
		}
		return t.UTC(), nil
	}
	return nil, bad("unknown tag")
}

// tag is TaggedJSONSerializer.tag for the Go values that have a Flask tag:
// []byte, time.Time, and maps whose only key is a tag key.
func tag(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			for k, e := range v {
				if isTag(k) {
					return map[string]any{tagDict: map[string]any{k + "__": tag(e)}}
				}
			}
		}
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = tag(e)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = tag(e)
		}
		return l
	case []byte:
		return map[string]any{tagBytes: base64.StdEncoding.EncodeToString(v)}
	case time.Time:
		return map[string]any{tagDateTime: v.UTC().Format(http.TimeFormat)}
	}
	return v
}
