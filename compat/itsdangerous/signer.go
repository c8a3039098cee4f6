package itsdangerous

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"strings"
	"time"
)

// KeyDerivation names how a signer derives its HMAC key from the secret
// and the salt, as itsdangerous' Signer(key_derivation=...) does.
type KeyDerivation string

// The key derivations of itsdangerous.
const (
	// DjangoConcat, the default, uses digest(salt + "signer" + secret).
	DjangoConcat KeyDerivation = "django-concat"
	// HMAC uses HMAC(secret, salt). Flask uses it.
	HMAC KeyDerivation = "hmac"
	// Concat uses digest(salt + secret).
	Concat KeyDerivation = "concat"
	// None uses the secret itself.
	None KeyDerivation = "none"
)

// LegacyEpoch is the epoch of itsdangerous before 1.0 (2011-01-01 UTC), in
// Unix seconds. Set Options.Epoch to it to read timestamps those versions
// wrote; itsdangerous 1.0 and later count from the Unix epoch.
const LegacyEpoch = 1293840000

// DefaultSignerSalt is the salt of itsdangerous' Signer and TimestampSigner
// when none is given.
const DefaultSignerSalt = "itsdangerous.Signer"

// Options configures a Signer or a TimestampSigner. Every zero value is
// itsdangerous' default.
type Options struct {
	// Salt namespaces the signatures. If empty, "itsdangerous.Signer" is
	// used (for a serializer, "itsdangerous").
	Salt string
	// KeyDerivation derives the key from the secret and the salt. If
	// empty, DjangoConcat is used.
	KeyDerivation KeyDerivation
	// Digest is the hash of the HMAC and of the key derivation. If nil,
	// sha1.New is used, as in itsdangerous; sha256.New is the other
	// common choice.
	Digest func() hash.Hash
	// Sep separates the value, the timestamp and the signature. If empty,
	// "." is used. It must not be a character of URL-safe base64.
	Sep string
	// Fallbacks are older secrets, still accepted when verifying (as
	// itsdangerous' list of secret keys, or Flask's SECRET_KEY_FALLBACKS).
	// Signing always uses the secret.
	Fallbacks []string
	// Epoch is added to the timestamps, in Unix seconds. If zero, the Unix
	// epoch is used, as in itsdangerous 1.0 and later (see LegacyEpoch).
	Epoch int64
	// Now returns the current time. If nil, time.Now is used.
	Now func() time.Time
}

// Signer signs byte strings as itsdangerous.Signer does:
// value + sep + base64url(HMAC(key, value)). It is safe for concurrent use.
type Signer struct {
	keys   [][]byte // derived keys, the signing key first
	digest func() hash.Hash
	sep    []byte
	o      Options
}

// NewSigner returns a Signer for secret. It panics if secret is empty, the
// key derivation is unknown or the separator is a base64 character: those
// are programming errors.
func NewSigner(secret string, o Options) *Signer {
	if secret == "" {
		panic("itsdangerous: empty secret")
	}
	if o.Salt == "" {
		o.Salt = DefaultSignerSalt
	}
	if o.KeyDerivation == "" {
		o.KeyDerivation = DjangoConcat
	}
	if o.Digest == nil {
		o.Digest = sha1.New
	}
	if o.Sep == "" {
		o.Sep = "."
	}
	if strings.ContainsAny(o.Sep, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=") {
		panic(fmt.Sprintf("itsdangerous: separator %q is a base64 character", o.Sep))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Signer{digest: o.Digest, sep: []byte(o.Sep), o: o}
	for _, sec := range append([]string{secret}, o.Fallbacks...) {
		s.keys = append(s.keys, s.deriveKey([]byte(sec)))
	}
	return s
}

func (s *Signer) deriveKey(secret []byte) []byte {
	salt := []byte(s.o.Salt)
	switch s.o.KeyDerivation {
	case Concat:
		h := s.digest()
		h.Write(salt)
		h.Write(secret)
		return h.Sum(nil)
	case DjangoConcat:
		h := s.digest()
		h.Write(salt)
		h.Write([]byte("signer"))
		h.Write(secret)
		return h.Sum(nil)
	case HMAC:
		h := hmac.New(s.digest, secret)
		h.Write(salt)
		return h.Sum(nil)
	case None:
		return secret
	}
	panic(fmt.Sprintf("itsdangerous: unknown key derivation %q", s.o.KeyDerivation))
}

func (s *Signer) mac(key, value []byte) []byte {
	h := hmac.New(s.digest, key)
	h.Write(value)
	return h.Sum(nil)
}

// Signature returns the base64url signature of value with the secret.
func (s *Signer) Signature(value []byte) []byte {
	return b64encode(s.mac(s.keys[0], value))
}

// Sign returns value + sep + signature.
func (s *Signer) Sign(value []byte) []byte {
	out := make([]byte, 0, len(value)+len(s.sep)+28)
	out = append(out, value...)
	out = append(out, s.sep...)
	return append(out, s.Signature(value)...)
}

// Unsign verifies signed, with the secret and then the fallbacks, in
// constant time, and returns the value. The error wraps ErrBadSignature.
func (s *Signer) Unsign(signed []byte) ([]byte, error) {
	i := bytes.LastIndex(signed, s.sep)
	if i < 0 {
		return nil, fmt.Errorf("%w: no %q found in value", ErrBadSignature, s.sep)
	}
	value, sig := signed[:i], signed[i+len(s.sep):]
	if s.verify(value, sig) {
		return value, nil
	}
	return nil, fmt.Errorf("%w: signature %q does not match", ErrBadSignature, truncate(sig))
}

func (s *Signer) verify(value, sig []byte) bool {
	raw, err := b64decode(sig)
	if err != nil {
		return false
	}
	ok := false
	for _, k := range s.keys {
		ok = hmac.Equal(raw, s.mac(k, value)) || ok
	}
	return ok
}

// TimestampSigner signs as itsdangerous.TimestampSigner does:
// value + sep + base64url(big-endian seconds, leading zero bytes dropped) +
// sep + signature of both. It is safe for concurrent use.
type TimestampSigner struct {
	Signer
}

// NewTimestampSigner returns a TimestampSigner for secret. It panics as
// NewSigner does.
func NewTimestampSigner(secret string, o Options) *TimestampSigner {
	return &TimestampSigner{Signer: *NewSigner(secret, o)}
}

// Sign returns value signed with the current time.
func (t *TimestampSigner) Sign(value []byte) []byte { return t.SignAt(value, t.o.Now()) }

// SignAt returns value signed with the time at, to the second.
func (t *TimestampSigner) SignAt(value []byte, at time.Time) []byte {
	ts := max(at.Unix()-t.o.Epoch, 0)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(ts))
	v := append(append(bytes.Clone(value), t.sep...), b64encode(bytes.TrimLeft(b[:], "\x00"))...)
	return t.Signer.Sign(v)
}

// Unsign verifies signed and returns its value and the time it was signed.
// If maxAge is positive, a token older than maxAge (in whole seconds, as
// itsdangerous counts) or dated in the future gives an error wrapping
// ErrExpired, with the value and the time. Other errors wrap
// ErrBadSignature.
func (t *TimestampSigner) Unsign(signed []byte, maxAge time.Duration) ([]byte, time.Time, error) {
	result, sigErr := t.Signer.Unsign(signed)
	if sigErr != nil {
		return nil, time.Time{}, sigErr
	}
	i := bytes.LastIndex(result, t.sep)
	if i < 0 {
		return nil, time.Time{}, fmt.Errorf("%w: timestamp missing", ErrBadSignature)
	}
	value, tsb := result[:i], result[i+len(t.sep):]
	raw, err := b64decode(tsb)
	if err != nil || len(raw) > 8 {
		return nil, time.Time{}, fmt.Errorf("%w: malformed timestamp", ErrBadSignature)
	}
	var b [8]byte
	copy(b[8-len(raw):], raw)
	ts := binary.BigEndian.Uint64(b[:])
	if ts > 1<<40 { // beyond year 36812: not a time itsdangerous writes
		return nil, time.Time{}, fmt.Errorf("%w: malformed timestamp", ErrBadSignature)
	}
	sec := int64(ts) + t.o.Epoch
	issued := time.Unix(sec, 0).UTC()
	if maxAge > 0 {
		age := t.o.Now().Unix() - sec
		if limit := int64(maxAge / time.Second); age > limit {
			return value, issued, fmt.Errorf("%w: age %d > %d seconds", ErrExpired, age, limit)
		}
		if age < 0 {
			return value, issued, fmt.Errorf("%w: age %d < 0 seconds", ErrExpired, age)
		}
	}
	return value, issued, nil
}

func b64encode(b []byte) []byte {
	out := make([]byte, base64.RawURLEncoding.EncodedLen(len(b)))
	base64.RawURLEncoding.Encode(out, b)
	return out
}

// b64decode decodes URL-safe base64 with or without padding, as
// itsdangerous' base64_decode does.
func b64decode(b []byte) ([]byte, error) {
	b = bytes.TrimRight(b, "=")
	out := make([]byte, base64.RawURLEncoding.DecodedLen(len(b)))
	n, err := base64.RawURLEncoding.Decode(out, b)
	return out[:n], err
}

func truncate(b []byte) string {
	if len(b) > 32 {
		return string(b[:32]) + "..."
	}
	return string(b)
}
