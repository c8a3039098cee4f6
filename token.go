package sesame

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"io"
	"sync"
)

// tokenLen is the length of a token: 32 random bytes in unpadded base64url.
const tokenLen = 43

var b64 = base64.RawURLEncoding.Strict()

// newToken returns a new token: 256 bits from crypto/rand, base64url-encoded.
func newToken() string {
	var b [32]byte
	rand.Read(b[:]) // never returns an error; it crashes the program instead
	var out [tokenLen]byte
	b64.Encode(out[:], b[:])
	return string(out[:])
}

// validToken reports whether s has the exact shape of a token: 43 characters
// of base64url that decode, canonically, to 32 bytes.
func validToken(s string) bool {
	if len(s) != tokenLen {
		return false
	}
	var src [tokenLen]byte
	var dst [33]byte
	copy(src[:], s)
	n, err := b64.Decode(dst[:], src[:])
	return err == nil && n == 32
}

// hasher turns tokens into session IDs: SHA-256, or HMAC-SHA-256 keyed with
// Config.Secret.
type hasher struct {
	pool sync.Pool // of *mac; nil New without a secret
}

// mac is a pooled HMAC with room for its sum, so hashing allocates nothing.
type mac struct {
	hash.Hash
	sum [sha256.Size]byte
}

func newHasher(secret []byte) *hasher {
	h := &hasher{}
	if len(secret) > 0 {
		key := append([]byte(nil), secret...)
		h.pool.New = func() any { return &mac{Hash: hmac.New(sha256.New, key)} }
	}
	return h
}

// id returns the session ID for a token.
func (h *hasher) id(token string) string {
	if h.pool.New == nil {
		var sum [sha256.Size]byte
		if len(token) == tokenLen { // always, but for a caller's odd input
			var buf [tokenLen]byte
			copy(buf[:], token)
			sum = sha256.Sum256(buf[:])
		} else {
			sum = sha256.Sum256([]byte(token))
		}
		return encodeID(&sum)
	}
	m := h.pool.Get().(*mac)
	m.Reset()
	io.WriteString(m, token)
	id := encodeID((*[sha256.Size]byte)(m.Sum(m.sum[:0])))
	h.pool.Put(m)
	return id
}

func encodeID(sum *[sha256.Size]byte) string {
	var out [tokenLen]byte
	b64.Encode(out[:], sum[:])
	return string(out[:])
}
