package cookiestore

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// KeySize is the length of a key's secret: 32 bytes (256 bits).
const KeySize = 32

// maxIDLen is the longest key ID. Every value carries its key's ID.
const maxIDLen = 16

// EnvKeys is the environment variable that [KeysFromEnv] reads.
const EnvKeys = "SESAME_KEYS"

// ErrNoKeys reports an empty key ring.
var ErrNoKeys = errors.New("cookiestore: empty key ring")

// Key is one key of a key ring.
//
// Its String and GoString methods never show the secret, so a Key can be
// logged or printed with %v or %#v. Use [FormatKeys] to print the secret.
type Key struct {
	// ID names the key. Every value the key seals carries it, so that the
	// right key opens the value. It is 1 to 16 ASCII letters, digits, '-',
	// '_' or '.', and is not secret.
	ID string
	// Secret is the key material: KeySize (32) bytes from a
	// cryptographically secure random source.
	Secret []byte
}

// String returns the key's ID and hides its secret.
func (k Key) String() string {
	return "cookiestore.Key{ID: " + strconv.Quote(k.ID) + ", Secret: <redacted>}"
}

// GoString is String, so that %#v does not print the secret either.
func (k Key) GoString() string { return k.String() }

// GenerateKey returns a new key with 32 bytes from crypto/rand. If id is
// empty, the key's ID is the current UTC date and 4 random hex digits, such
// as "20260124-9f3a", so that IDs sort by age and rarely collide.
func GenerateKey(id string) (Key, error) {
	if id == "" {
		var b [2]byte
		rand.Read(b[:]) // never fails: it crashes the program instead
		id = time.Now().UTC().Format("20060102") + "-" + hex.EncodeToString(b[:])
	}
	if !validID(id) {
		return Key{}, fmt.Errorf("cookiestore: invalid key ID %q: %s", id, idRule)
	}
	k := Key{ID: id, Secret: make([]byte, KeySize)}
	rand.Read(k.Secret)
	return k, nil
}

// FormatKeys returns keys in the text form that [ParseKeys] reads, newest
// key first: "ID:SECRET" entries separated by commas, each secret in
// unpadded base64url. The result holds secrets: keep it out of logs.
//
//	20260124-9f3a:xbm3oW2n1Jc6pR0kR8t0a2i7bHq1ZyTnS1dWv4cK0aE,20251101-07c2:...
func FormatKeys(keys ...Key) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k.ID)
		b.WriteByte(':')
		b.WriteString(base64.RawURLEncoding.EncodeToString(k.Secret))
	}
	return b.String()
}

// ParseKeys parses a key ring in the text form [FormatKeys] prints, newest
// key first:
//
//   - Entries are "ID:SECRET", separated by commas, spaces or newlines.
//   - An ID is 1 to 16 ASCII letters, digits, '-', '_' or '.'; IDs are
//     unique within the ring.
//   - A SECRET is 32 bytes in base64: unpadded base64url as FormatKeys
//     prints it, standard padded base64 as "openssl rand -base64 32"
//     prints it, or either alphabet with or without padding.
//   - A '#' starts a comment that runs to the end of the line, so a ring
//     can be kept in a file.
//
// The first key seals; every key opens. The error names the entry at fault
// (by position and ID) and never contains a secret. An empty ring gives an
// error wrapping [ErrNoKeys].
func ParseKeys(text string) ([]Key, error) { return parseKeys("", text) }

// KeysFromEnv parses the key ring in the environment variable SESAME_KEYS
// (see [EnvKeys] and [ParseKeys]). If the variable is unset or holds no key,
// the error wraps ErrNoKeys.
func KeysFromEnv() ([]Key, error) {
	keys, err := parseKeys(EnvKeys+": ", os.Getenv(EnvKeys))
	if errors.Is(err, ErrNoKeys) {
		return nil, fmt.Errorf("cookiestore: %s is unset or holds no key: %w", EnvKeys, err)
	}
	return keys, err
}

const idRule = "want 1 to 16 ASCII letters, digits, '-', '_' or '.'"

// parseKeys parses a key ring; where, if not empty, says where the text
// came from ("SESAME_KEYS: ") in error messages.
func parseKeys(where, text string) ([]Key, error) {
	var keys []Key
	for line := range strings.Lines(text) {
		line, _, _ = strings.Cut(line, "#")
		for _, entry := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
			n := len(keys) + 1
			id, secret, ok := strings.Cut(entry, ":")
			if !ok {
				return nil, fmt.Errorf("cookiestore: %skey %d: want ID:SECRET", where, n)
			}
			if !validID(id) {
				// The ID is not shown: a malformed entry may hold a secret there.
				return nil, fmt.Errorf("cookiestore: %skey %d: invalid ID: %s", where, n, idRule)
			}
			b, err := decodeSecret(secret)
			if err != nil {
				return nil, fmt.Errorf("cookiestore: %skey %d (%q): secret is not base64: %w", where, n, id, err)
			}
			if len(b) != KeySize {
				return nil, fmt.Errorf("cookiestore: %skey %d (%q): secret is %d bytes, want %d", where, n, id, len(b), KeySize)
			}
			keys = append(keys, Key{ID: id, Secret: b})
		}
	}
	if err := checkRing(keys); err != nil {
		return nil, err
	}
	return keys, nil
}

// secretEncodings are the encodings a secret may use. No string is valid in
// two of them with different meanings.
var secretEncodings = []*base64.Encoding{
	base64.RawURLEncoding.Strict(), base64.URLEncoding.Strict(),
	base64.RawStdEncoding.Strict(), base64.StdEncoding.Strict(),
}

// decodeSecret decodes base64 in the standard or URL alphabet, padded or
// not.
func decodeSecret(s string) ([]byte, error) {
	var first error
	for _, enc := range secretEncodings {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		first = cmp.Or(first, err)
	}
	return nil, first
}

// checkRing validates a key ring.
func checkRing(keys []Key) error {
	if len(keys) == 0 {
		return ErrNoKeys
	}
	seen := make(map[string]int, len(keys))
	for i, k := range keys {
		if !validID(k.ID) {
			return fmt.Errorf("cookiestore: key %d: invalid ID: %s", i+1, idRule)
		}
		if len(k.Secret) != KeySize {
			return fmt.Errorf("cookiestore: key %d (%q): secret is %d bytes, want %d", i+1, k.ID, len(k.Secret), KeySize)
		}
		if j, dup := seen[k.ID]; dup {
			return fmt.Errorf("cookiestore: duplicate key ID %q (keys %d and %d)", k.ID, j, i+1)
		}
		seen[k.ID] = i + 1
	}
	return nil
}

func validID(id string) bool {
	if len(id) == 0 || len(id) > maxIDLen {
		return false
	}
	for i := range len(id) {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
