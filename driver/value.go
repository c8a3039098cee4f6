package driver

import (
	"encoding/json"
	"fmt"
)

// Limits on what a session holds, the same for every store, so that a
// store can size its columns: the Manager refuses longer keys and users,
// and truncates longer User-Agents.
const (
	MaxKeyLen  = 1024 // bytes
	MaxUserLen = 1024 // bytes
)

// MaxUserAgentLen is how many bytes of the User-Agent header a session
// keeps.
const MaxUserAgentLen = 256

// MarshalValue returns the JSON encoding of a session value, for stores
// that serialise: a json.RawMessage is returned as is. Load returns such
// values as json.RawMessage, which sesame.Get decodes into the caller's
// type.
func MarshalValue(v any) (json.RawMessage, error) {
	if raw, ok := v.(json.RawMessage); ok {
		return raw, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("sesame: value of type %T: %w", v, err)
	}
	return b, nil
}
