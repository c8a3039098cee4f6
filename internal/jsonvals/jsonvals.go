// Package jsonvals is the value encoding the SQL stores share: a session's
// values as one JSON object mapping each key to a JSON string that holds the
// value's exact encoding by driver.MarshalValue. Kept as strings, values
// come back byte for byte (a database's JSON type may normalise numbers,
// reorder keys or reject \u0000), and a JSON merge patch replaces a value
// wholesale instead of merging nested objects.
package jsonvals

import (
	"encoding/json"
	"fmt"

	"github.com/sesame-go/sesame/driver"
)

// Encode returns vals in the shared encoding; "{}" when empty.
func Encode(vals map[string]any) (string, error) {
	if len(vals) == 0 {
		return "{}", nil
	}
	enc := make(map[string]string, len(vals))
	for k, v := range vals {
		raw, err := driver.MarshalValue(v)
		if err != nil {
			return "", fmt.Errorf("value %q: %w", k, err)
		}
		enc[k] = string(raw)
	}
	b, err := json.Marshal(enc)
	if err != nil {
		return "", fmt.Errorf("encoding values: %w", err)
	}
	return string(b), nil
}

// Decode decodes the shared encoding into values that are json.RawMessages,
// which sesame.Get decodes into the caller's types; nil when empty.
func Decode(data []byte) (map[string]any, error) {
	if len(data) == 0 || string(data) == "{}" {
		return nil, nil
	}
	var enc map[string]string
	if err := json.Unmarshal(data, &enc); err != nil {
		return nil, fmt.Errorf("decoding values: %w", err)
	}
	if len(enc) == 0 {
		return nil, nil
	}
	vals := make(map[string]any, len(enc))
	for k, v := range enc {
		vals[k] = json.RawMessage(v)
	}
	return vals, nil
}
