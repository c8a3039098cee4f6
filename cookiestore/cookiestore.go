// Package cookiestore is a client-side session store: the cookie value is the
// session itself, sealed with a key ring, and nothing is kept on the server
// (except, optionally, one revocation mark per user). It implements
// [sesame.Sealer]:
//
//	keys, err := cookiestore.KeysFromEnv() // SESAME_KEYS, newest key first
//	...
//	store, err := cookiestore.New(cookiestore.Config{Keys: keys})
//	...
//	m := sesame.New(sesame.Config{Sealer: store})
//
// # Encryption
//
// Values are sealed with XChaCha20-Poly1305 (golang.org/x/crypto), an AEAD:
// the session is both encrypted and authenticated. It was chosen over
// AES-256-GCM for its nonce. Every seal (a new session, an update, an idle
// touch, a re-seal after rotation) uses a fresh random nonce, and a stateless
// store running on many instances cannot count its seals. GCM's 96-bit random
// nonces are safe for at most 2^32 seals per key (NIST SP 800-38D), which a
// busy site reaches in weeks, and a repeated nonce lets an attacker forge
// values. XChaCha20-Poly1305's 192-bit nonces make a collision negligible
// for any number of seals, so no key ever has to be retired for wear.
//
// The price is speed, which does not matter here: sealing and opening a
// 256-byte session takes about 0.66 µs with XChaCha20-Poly1305 against
// 0.23 µs with AES-256-GCM (amd64 with AES-NI and AVX2), next to about
// 2.6 µs for the JSON of the values and 16 µs for gob in the other
// libraries. ChaCha20 is also constant-time in software on CPUs without AES
// instructions. One caveat: XChaCha20-Poly1305 is not FIPS 140 approved, so
// New fails in the Go FIPS 140-only mode (GODEBUG=fips140=only).
//
// With [Config.SignOnly], values are signed with HMAC-SHA-256 (crypto/hmac)
// instead: tamper-proof and readable by anyone holding the cookie. Use it
// only for data that may be seen by the user; it is not a privacy mode.
//
// Each key's 32-byte secret is not used directly: HKDF-SHA-256 (crypto/hkdf)
// derives one subkey for XChaCha20-Poly1305 and another for HMAC, so one key
// ring can serve both modes without reusing key material across algorithms.
//
// # What is bound and checked
//
//   - The cookie name is authenticated with the value (as AEAD associated
//     data, or in the MAC), so a value moved to another cookie is rejected.
//   - The mode is part of the value's authenticated header: an encrypting
//     store never accepts a signed value, and the reverse.
//   - The session's ID, user, creation, last-seen, deadline and expiry times
//     are inside the sealed data. [Store.Open] rejects a value whose expiry
//     or deadline has passed, or that is older than [Config.Lifetime], and
//     the Manager checks the absolute lifetime and idle timeout again from
//     the same times. A cookie replayed after its end is rejected even if
//     the browser ignored Max-Age.
//   - A value is decoded with strict base64url, so a re-encoded value (with
//     padding, another alphabet or other unused bits) is rejected.
//   - Anything that fails these checks gives an error wrapping
//     sesame.ErrNotFound, which the Manager turns into a new, empty session
//     and a debug log line. Open never panics on any input (see FuzzOpen).
//
// Values are never compressed before sealing: compressing secrets together
// with data an attacker can choose leaks them through the length (as in the
// CRIME attack).
//
// # Value format
//
// A value is unpadded base64url of
//
//	format   1 byte: 1 sealed (XChaCha20-Poly1305), 2 signed (HMAC-SHA-256)
//	key ID   1 byte length, 1 to 16 bytes
//	sealed:  24-byte nonce, ciphertext of the payload, 16-byte tag
//	signed:  payload, 32-byte HMAC-SHA-256
//
// The associated data (or the MAC's input before the payload) binds the
// header and the cookie name: the header, the name's length (2 bytes, big
// endian), the name. The payload is the session in a compact binary form:
// flags (Persist), ID, user, the four times in Unix milliseconds, and the
// values, each the JSON of [sesame.MarshalValue]. Open returns the values as
// json.RawMessage, so [sesame.Get] decodes each into its own type.
//
// The whole Set-Cookie line must fit in 4096 bytes, the limit browsers
// enforce. A larger session fails its commit with a
// *[sesame.CookieTooLargeError] that reaches the Manager's ErrorHandler
// before anything is sent; a truncated cookie is never sent. A session of
// about 2.5 KB of values fits.
//
// # Key rotation
//
// [Config.Keys] is a key ring, newest first. The first key seals; every key
// opens the values that carry its ID. A value opened with an older key is
// marked stale and re-sealed with the newest key on the same response. To
// rotate without logging anyone out:
//
//  1. Generate a key (GenerateKey, or "sesamectl keygen") and put it first
//     in SESAME_KEYS, keeping the old keys after it. Deploy.
//  2. Once every active session has been seen since, or after the session
//     lifetime at most, remove the old key. Its values are then rejected.
//
// Remove a key at once if it may have leaked: its sessions end. Rotating
// regularly (say, quarterly) limits what a leaked key exposes; the nonce
// space never requires it. See [ParseKeys] for the text form of a ring.
//
// # Revocation
//
// A sealed session needs no server, so it cannot be deleted: logging out
// removes the cookie from the browser, but a copy of it stays valid until
// its idle timeout or lifetime ends. Keep those short, or set
// [Config.Revocation] to make "log out all my devices" work:
// [sesame.Manager.RevokeAll] then calls [Store.DeleteUser], which stores one
// mark for the user ("every session created before now, except this one, is
// revoked"), and Open consults the user's mark for every session that has a
// user. That costs one RevocationStore read per request that loads a session
// with a user; requests that do not touch the session, and sessions without
// a user, cost nothing. A failure of the RevocationStore fails the request
// (the ErrorHandler's 500), rather than letting a possibly revoked session
// in. Marks compare creation times from different instances, so the
// instances' clocks must be synchronised (as every expiry check assumes).
package cookiestore

import (
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"slices"
	"sync"
	"time"

	"github.com/sesame-go/sesame"
	"golang.org/x/crypto/chacha20poly1305"
)

// Config configures a Store.
type Config struct {
	// Keys is the key ring, newest key first: Keys[0] seals, and every key
	// opens the values that carry its ID. It must hold at least one key,
	// and IDs must be unique. Load it with KeysFromEnv or ParseKeys.
	Keys []Key
	// SignOnly, if true, signs sessions with HMAC-SHA-256 instead of
	// encrypting them: the user can read the session's contents, but not
	// change them. Use it only for data that may be visible. Changing it
	// ends every session.
	SignOnly bool
	// Revocation, if set, keeps per-user revocation marks, so that
	// Manager.RevokeAll can end cookie-only sessions. Open then reads the
	// user's mark on every request that loads a session with a user. If
	// nil, sessions cannot be revoked and RevokeAll returns an error
	// wrapping sesame.ErrNotSupported.
	Revocation sesame.RevocationStore
	// Lifetime is how long a revocation mark is kept, and the age beyond
	// which Open rejects any session. Set it to the Manager's Lifetime. If
	// zero, sesame.DefaultLifetime (8h) is used.
	Lifetime time.Duration
}

// Store is a client-side session store: a [sesame.Sealer] that keeps the
// session in the cookie. Create it with New. It is safe for concurrent use
// and starts no goroutine.
type Store struct {
	format   byte
	keys     []ringKey // newest first
	rev      sesame.RevocationStore
	lifetime time.Duration
}

// ringKey is a key of the ring, ready to use.
type ringKey struct {
	id   string
	aead cipher.AEAD // format sealed
	macs *sync.Pool  // of hash.Hash; format signed
}

// Value formats: the first byte of every value.
const (
	formatSealed = 1
	formatSigned = 2
)

const (
	maxValue  = 4096 // no browser sends a longer cookie
	nonceSize = chacha20poly1305.NonceSizeX
	tagSize   = chacha20poly1305.Overhead
	macSize   = sha256.Size
)

// HKDF info strings: one subkey per algorithm.
const (
	infoSeal = "sesame cookiestore v1 xchacha20-poly1305"
	infoSign = "sesame cookiestore v1 hmac-sha256"
)

var b64 = base64.RawURLEncoding.Strict()

// Reasons for rejecting a value. They are logged at debug level by the
// Manager and never include the value.
var (
	errMalformed  = fmt.Errorf("cookiestore: malformed value: %w", sesame.ErrNotFound)
	errUnknownKey = fmt.Errorf("cookiestore: value sealed with a key not in the ring: %w", sesame.ErrNotFound)
	errForged     = fmt.Errorf("cookiestore: value fails authentication (tampered, or sealed for another cookie name): %w", sesame.ErrNotFound)
	errCorrupt    = fmt.Errorf("cookiestore: authentic value with a malformed payload: %w", sesame.ErrNotFound)
	errExpired    = fmt.Errorf("cookiestore: session expired: %w", sesame.ErrNotFound)
	errRevoked    = fmt.Errorf("cookiestore: session revoked: %w", sesame.ErrNotFound)
)

// New returns a Store for cfg. It fails if the key ring is empty or
// invalid (see ParseKeys for the rules).
func New(cfg Config) (*Store, error) {
	if err := checkRing(cfg.Keys); err != nil {
		return nil, err
	}
	if cfg.Lifetime < 0 {
		return nil, fmt.Errorf("cookiestore: negative Lifetime %v", cfg.Lifetime)
	}
	s := &Store{
		format:   formatSealed,
		rev:      cfg.Revocation,
		lifetime: cfg.Lifetime,
		keys:     make([]ringKey, len(cfg.Keys)),
	}
	if s.lifetime == 0 {
		s.lifetime = sesame.DefaultLifetime
	}
	if cfg.SignOnly {
		s.format = formatSigned
	}
	for i, k := range cfg.Keys {
		rk := &s.keys[i]
		rk.id = k.ID
		if cfg.SignOnly {
			sub, err := hkdf.Key(sha256.New, k.Secret, nil, infoSign, sha256.Size)
			if err != nil {
				return nil, fmt.Errorf("cookiestore: key %q: %w", k.ID, err)
			}
			rk.macs = &sync.Pool{New: func() any { return hmac.New(sha256.New, sub) }}
			continue
		}
		sub, err := hkdf.Key(sha256.New, k.Secret, nil, infoSeal, chacha20poly1305.KeySize)
		if err == nil {
			rk.aead, err = chacha20poly1305.NewX(sub)
		}
		if err != nil {
			return nil, fmt.Errorf("cookiestore: key %q: %w", k.ID, err)
		}
	}
	return s, nil
}

// headerSize returns the size of the value header for a key ID.
func headerSize(id string) int { return 2 + len(id) }

// appendAD appends the associated data: the value's header, then the cookie
// name with its length.
func appendAD(dst, header []byte, name string) []byte {
	dst = append(dst, header...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(name)))
	return append(dst, name...)
}

// Seal implements sesame.Sealer: it returns the cookie value for the
// session, sealed (or signed) with the newest key for the cookie called
// name.
func (s *Store) Seal(_ context.Context, name string, in sesame.Sealed) (string, error) {
	if in.Record == nil || in.ID == "" {
		return "", errors.New("cookiestore: seal: a session needs an ID and a Record")
	}
	if len(name) > 0xffff {
		return "", errors.New("cookiestore: seal: cookie name too long")
	}
	k := &s.keys[0]
	hdr := headerSize(k.id)
	pre := hdr // where the payload starts
	if s.format == formatSealed {
		pre += nonceSize
	}
	adLen := hdr + 2 + len(name)
	buf := make([]byte, pre, pre+payloadSize(in.ID, in.Record)+max(tagSize, macSize)+adLen)
	buf[0], buf[1] = s.format, byte(len(k.id))
	copy(buf[2:], k.id)
	buf, err := appendPayload(buf, in.ID, in.Record)
	if err != nil {
		return "", fmt.Errorf("cookiestore: seal: %w", err)
	}
	end := len(buf)
	// The associated data goes past the room for the tag or MAC, in the
	// same allocation.
	buf = slices.Grow(buf, max(tagSize, macSize)+adLen)[:end+max(tagSize, macSize)]
	ad := appendAD(buf[len(buf):], buf[:hdr], name)
	if s.format == formatSealed {
		nonce := buf[hdr:pre]
		rand.Read(nonce) // never fails: it crashes the program instead
		end = pre + len(k.aead.Seal(buf[pre:pre], nonce, buf[pre:end], ad))
	} else {
		mac := k.macs.Get().(hash.Hash)
		mac.Reset()
		mac.Write(ad)
		mac.Write(buf[pre:end])
		end = len(mac.Sum(buf[:end]))
		k.macs.Put(mac)
	}
	return b64.EncodeToString(buf[:end]), nil
}

// Open implements sesame.Sealer: it authenticates and decodes a value
// sealed for the cookie called name. Any value it cannot authenticate, or
// whose session has expired, is too old or is revoked, gives an error
// wrapping sesame.ErrNotFound. Any other error is a failure of the
// RevocationStore.
//
// A value opened with a key other than the newest is returned with Stale
// set, so that the Manager re-seals it with the newest key.
func (s *Store) Open(ctx context.Context, name, value string) (sesame.Sealed, error) {
	if len(value) == 0 || len(value) > maxValue || len(name) > 0xffff {
		return sesame.Sealed{}, errMalformed
	}
	n := b64.DecodedLen(len(value))
	// Room past the decoded value for the associated data (at most 2+255+2
	// bytes plus the name) and a MAC, so that Open allocates once.
	buf := make([]byte, n, n+2+255+2+len(name)+macSize)
	if m, err := b64.Decode(buf, []byte(value)); err != nil || m != n {
		return sesame.Sealed{}, errMalformed
	}
	if len(buf) < 2 || buf[0] != s.format || len(buf) < 2+int(buf[1]) {
		return sesame.Sealed{}, errMalformed
	}
	hdr := 2 + int(buf[1])
	ki := s.key(buf[2:hdr])
	if ki < 0 {
		return sesame.Sealed{}, errUnknownKey
	}
	k := &s.keys[ki]
	ad := appendAD(buf[n:n], buf[:hdr], name)
	var payload []byte
	if s.format == formatSealed {
		if len(buf) < hdr+nonceSize+tagSize {
			return sesame.Sealed{}, errMalformed
		}
		ct := buf[hdr+nonceSize : n]
		var err error
		if payload, err = k.aead.Open(ct[:0], buf[hdr:hdr+nonceSize], ct, ad); err != nil {
			return sesame.Sealed{}, errForged
		}
	} else {
		if len(buf) < hdr+macSize {
			return sesame.Sealed{}, errMalformed
		}
		payload = buf[hdr : n-macSize]
		mac := k.macs.Get().(hash.Hash)
		mac.Reset()
		mac.Write(ad)
		mac.Write(payload)
		sum := mac.Sum(ad[len(ad):])
		k.macs.Put(mac)
		if !hmac.Equal(sum, buf[n-macSize:n]) {
			return sesame.Sealed{}, errForged
		}
	}
	id, rec, err := decodePayload(payload)
	if err != nil || id == "" {
		return sesame.Sealed{}, errCorrupt
	}
	now := time.Now()
	if !now.Before(rec.Expires) || !rec.Deadline.IsZero() && !now.Before(rec.Deadline) ||
		!now.Before(rec.Created.Add(s.lifetime)) {
		return sesame.Sealed{}, errExpired
	}
	if s.rev != nil && rec.User != "" {
		r, err := s.rev.Revocation(ctx, rec.User)
		if err != nil {
			return sesame.Sealed{}, fmt.Errorf("cookiestore: reading the revocation mark: %w", err)
		}
		if r.Revokes(id, rec.Created) {
			return sesame.Sealed{}, errRevoked
		}
	}
	return sesame.Sealed{ID: id, Record: rec, Stale: ki > 0}, nil
}

// key returns the index in the ring of the key with the given ID, or -1.
func (s *Store) key(id []byte) int {
	for i := range s.keys {
		if s.keys[i].id == string(id) {
			return i
		}
	}
	return -1
}

// DeleteUser revokes every session of user except the one with ID keep
// (none if keep is ""); [sesame.Manager.RevokeAll] calls it. It needs
// Config.Revocation, and otherwise returns an error wrapping
// sesame.ErrNotSupported.
//
// It stores one mark for the user, replacing any earlier one: every session
// of the user created (or renewed) before now, rounded up to the next
// millisecond, is revoked, except keep. It returns only once the clock has
// passed that time (at most 1 ms later), so a session created or renewed
// after it returns, such as a Renew later in the same request, stays valid.
// The mark is kept for Config.Lifetime, after which Open rejects the
// sessions it revoked as too old anyway.
//
// A cookie store cannot know how many cookies exist, so on success the
// count is always -1, meaning "unknown".
func (s *Store) DeleteUser(ctx context.Context, user, keep string) (int, error) {
	if s.rev == nil {
		return 0, fmt.Errorf("cookiestore: revoking sessions needs Config.Revocation: %w", sesame.ErrNotSupported)
	}
	before := time.Now().Truncate(time.Millisecond).Add(time.Millisecond)
	r := sesame.Revocation{Before: before, Keep: keep, Expires: before.Add(s.lifetime)}
	if err := s.rev.SetRevocation(ctx, user, r); err != nil {
		return 0, fmt.Errorf("cookiestore: storing the revocation mark: %w", err)
	}
	time.Sleep(time.Until(before))
	return -1, nil
}
