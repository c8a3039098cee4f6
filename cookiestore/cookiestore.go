package cookiestore

import (
	"cmp"
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

	"github.com/sesame-go/sesame/driver"
	"golang.org/x/crypto/chacha20poly1305"
)

// Options configures a Store.
type Options struct {
	// Keys is the key ring, newest key first: Keys[0] seals, and every key
	// opens the values that carry its ID. It must hold at least one key,
	// and IDs must be unique. Load it with KeysFromEnv or ParseKeys.
	Keys []Key
	// SignOnly, if true, signs sessions with HMAC-SHA-256 instead of
	// encrypting them: the user can read the session's contents, but not
	// change them. Use it only for data that may be visible. Changing it
	// ends every session.
	SignOnly bool
	// Revocation, if set, keeps per-user revocation marks and denied
	// session IDs, so that Manager.RevokeAll, Destroy and Renew can end
	// cookie-only sessions and the copies of their cookies. Open then reads
	// the user's mark on every request that loads a session with a user. If
	// nil, sessions cannot be revoked: RevokeAll returns an error wrapping
	// driver.ErrNotSupported, and a copy of a cookie stays valid until it
	// expires, even after a Destroy or Renew.
	Revocation driver.RevocationStore
	// Lifetime is how long a revocation mark is kept (and at most a denied
	// ID), and the age beyond which Open rejects any session. Set it to the
	// Manager's sesame.Config.Lifetime: sesame.New fails if it is shorter, since it
	// would cut sessions short (a longer one only keeps marks longer than
	// needed). If zero, driver.DefaultLifetime (8h) is used.
	Lifetime time.Duration
}

// Store is a client-side session store: a [driver.Sealer] that keeps the
// session in the cookie. Create it with New. It is safe for concurrent use
// and starts no goroutine.
type Store struct {
	format   byte
	keys     []ringKey // newest first
	rev      driver.RevocationStore
	lifetime time.Duration
}

// ringKey is a key of the ring, ready to use.
type ringKey struct {
	id   string
	aead cipher.AEAD // format sealed
	macs *sync.Pool  // of hash.Hash; format signed
}

// Value formats: the first byte of every value. A value is unpadded
// base64url of the format, the key ID (1 byte of length, then 1 to 16
// bytes), and then, sealed, a 24-byte nonce, the encrypted payload and a
// 16-byte tag or, signed, the payload and a 32-byte HMAC-SHA-256. The
// associated data (see appendAD) binds the header and the cookie name.
// docs/internals/cookiestore.md has the reasons.
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
// Manager and never include the value. Only errExpired, for a value that
// authenticates, also wraps driver.ErrExpired, so that the Manager fires
// its EventExpired; a value that fails authentication says nothing about
// its times.
var (
	errMalformed  = fmt.Errorf("cookiestore: malformed value: %w", driver.ErrNotFound)
	errUnknownKey = fmt.Errorf("cookiestore: value sealed with a key not in the ring: %w", driver.ErrNotFound)
	errForged     = fmt.Errorf("cookiestore: value fails authentication (tampered, or sealed for another cookie name): %w", driver.ErrNotFound)
	errCorrupt    = fmt.Errorf("cookiestore: authentic value with a malformed payload: %w", driver.ErrNotFound)
	errExpired    = fmt.Errorf("cookiestore: %w: %w", driver.ErrNotFound, driver.ErrExpired)
	errRevoked    = fmt.Errorf("cookiestore: session revoked: %w", driver.ErrNotFound)
	errRenewed    = fmt.Errorf("cookiestore: session renewed into another ID: %w: %w", driver.ErrNotFound, driver.ErrRenewed)
)

// errRenewRevoked is Seal's answer to the renewal of a session that was
// revoked since it was opened.
var errRenewRevoked = fmt.Errorf("cookiestore: seal: the session being renewed was revoked: %w", driver.ErrNotFound)

// The interfaces a Store implements.
var (
	_ driver.Sealer      = (*Store)(nil)
	_ driver.SealRevoker = (*Store)(nil)
	_ driver.UserDeleter = (*Store)(nil)
)

// New returns a Store for opts. It fails if the key ring is empty or
// invalid (see ParseKeys for the rules).
func New(opts Options) (*Store, error) {
	if err := checkRing(opts.Keys); err != nil {
		return nil, err
	}
	if opts.Lifetime < 0 {
		return nil, fmt.Errorf("cookiestore: negative Lifetime %v", opts.Lifetime)
	}
	s := &Store{
		format:   formatSealed,
		rev:      opts.Revocation,
		lifetime: opts.Lifetime,
		keys:     make([]ringKey, len(opts.Keys)),
	}
	if s.lifetime == 0 {
		s.lifetime = driver.DefaultLifetime
	}
	if opts.SignOnly {
		s.format = formatSigned
	}
	for i, k := range opts.Keys {
		rk := &s.keys[i]
		rk.id = k.ID
		if opts.SignOnly {
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

// Seal implements driver.Sealer: it returns the cookie value for the
// session, sealed (or signed) with the newest key for the cookie called
// name. The value carries in.Origin, or, for a renewal (in.Prev set), the
// origin of in.Prev: every renewal of a session keeps its first ID.
//
// When in.Prev is set (a Renew or Login gives the session a new ID), the
// previous session has a user, and Options.Revocation is set, Seal also
// reads the user's mark, once. If the mark revokes in.Prev (a RevokeAll, a
// Destroy or another renewal since it was opened), Seal returns an error
// wrapping driver.ErrNotFound and seals nothing. If in.Prev is the session
// that a RevokeAll kept, the new session stays kept: its Created is moved
// up to the mark's Before (its Deadline does not move). Once the value is
// sealed, Seal denies in.Prev.ID as renewed away until the previous
// session's end, so that copies of the pre-renewal cookie stop opening
// (Open answers driver.ErrRenewed for them): 1 mark read and 1 write in
// all. If the user's list of denied IDs is full (driver.MaxDenied), Seal
// sets a mark instead that revokes every other session of the user, and
// keeps the new one. Any other error is a failure of the RevocationStore.
func (s *Store) Seal(ctx context.Context, name string, in driver.Sealed) (string, error) {
	if in.Record == nil || in.ID == "" {
		return "", errors.New("cookiestore: seal: a session needs an ID and a Record")
	}
	if len(name) > 0xffff {
		return "", errors.New("cookiestore: seal: cookie name too long")
	}
	prev := in.Prev
	origin := in.Origin
	if prev != nil {
		origin = cmp.Or(prev.Origin, prev.ID)
	}
	renewal := s.rev != nil && prev != nil && prev.Record != nil && prev.Record.User != "" && prev.ID != in.ID
	if renewal {
		r, err := s.rev.Revocation(ctx, prev.Record.User, prev.ID, origin)
		if err != nil {
			return "", fmt.Errorf("cookiestore: seal: reading the revocation mark: %w", err)
		}
		if r.Revokes(prev.ID, origin, prev.Record.Created) {
			return "", errRenewRevoked
		}
		if r.Keep == prev.ID && in.Record.User == prev.Record.User && in.Record.Created.Before(r.Before) {
			rec := *in.Record // the Manager's Record is not modified
			rec.Created = r.Before
			in.Record = &rec
		}
	}
	v, err := s.seal(name, in.ID, origin, in.Record)
	if err != nil {
		return "", fmt.Errorf("cookiestore: seal: %w", err)
	}
	// A value too long for any cookie is never sent (the Manager fails the
	// commit): the previous session then stays valid.
	if renewal && len(name)+1+len(v) <= maxValue {
		if err := s.deny(ctx, prev.Record.User, prev.ID, true, s.end(prev.Record), in.ID); err != nil {
			return "", fmt.Errorf("cookiestore: seal: denying the previous session ID: %w", err)
		}
	}
	return v, nil
}

// deny denies id of user until expires; if the user's list is full, it
// sets a mark that revokes every session of the user but keep instead.
func (s *Store) deny(ctx context.Context, user, id string, renewed bool, expires time.Time, keep string) error {
	ok, err := s.rev.Deny(ctx, user, id, renewed, expires)
	if err != nil || ok {
		return err
	}
	return s.mark(ctx, user, keep)
}

// mark sets user's mark, revoking every session of user created until now
// except keep, and returns once the clock has passed the mark's time (at
// most 1 ms later), so that a session created after it stays valid.
func (s *Store) mark(ctx context.Context, user, keep string) error {
	before := time.Now().Truncate(time.Millisecond).Add(time.Millisecond)
	r := driver.Revocation{Before: before, Keep: keep, Expires: before.Add(s.lifetime)}
	if err := s.rev.SetRevocation(ctx, user, r); err != nil {
		return fmt.Errorf("storing the revocation mark: %w", err)
	}
	time.Sleep(time.Until(before))
	return nil
}

// seal seals (or signs) the session (id, origin, rec) with the newest key
// for the cookie called name.
func (s *Store) seal(name, id, origin string, rec *driver.Record) (string, error) {
	k := &s.keys[0]
	hdr := headerSize(k.id)
	pre := hdr // where the payload starts
	if s.format == formatSealed {
		pre += nonceSize
	}
	adLen := hdr + 2 + len(name)
	buf := make([]byte, pre, pre+payloadSize(id, origin, rec)+max(tagSize, macSize)+adLen)
	buf[0], buf[1] = s.format, byte(len(k.id))
	copy(buf[2:], k.id)
	buf, err := appendPayload(buf, id, origin, rec)
	if err != nil {
		return "", err
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

// end returns when every copy of the session rec stops opening anyway: the
// earlier of its Deadline and its creation plus Options.Lifetime. A denied
// ID is kept until then, and no longer.
func (s *Store) end(rec *driver.Record) time.Time {
	end := rec.Created.Add(s.lifetime)
	if !rec.Deadline.IsZero() && rec.Deadline.Before(end) {
		end = rec.Deadline
	}
	return end
}

// Revoke implements driver.SealRevoker: the Manager calls it when it
// destroys a session that has a user, live or renewed away. It denies the
// session's origin (its first ID, which every renewal keeps) until the
// session's end (its Deadline, or its creation plus Options.Lifetime if
// earlier), so that every copy of its cookie, and of every cookie renewed
// from it, stops opening: 1 RevocationStore write. The denial is dropped
// after that end, when Open rejects the copies as expired anyway. If the
// user's list of denied IDs is full (driver.MaxDenied), Revoke sets a mark
// instead, which revokes every session of the user.
//
// Without Options.Revocation, or for a session without a user (marks are
// kept per user), nothing can be revoked: Revoke returns nil, and copies of
// the cookie stay valid until they expire.
func (s *Store) Revoke(ctx context.Context, in driver.Sealed) error {
	if s.rev == nil || in.Record == nil || in.Record.User == "" || in.ID == "" {
		return nil
	}
	if err := s.deny(ctx, in.Record.User, cmp.Or(in.Origin, in.ID), false, s.end(in.Record), ""); err != nil {
		return fmt.Errorf("cookiestore: revoke: denying the session: %w", err)
	}
	return nil
}

// Open implements driver.Sealer: it authenticates and decodes a value
// sealed for the cookie called name. Any value it cannot authenticate, or
// whose session has expired, is too old or is revoked (by the user's mark,
// or because its origin or ID is denied), gives an error wrapping
// driver.ErrNotFound. For an authentic value whose session has expired
// (past its Expires or Deadline, or older than Options.Lifetime), the error
// also wraps driver.ErrExpired, and Open returns the expired session with
// it, so that the Manager's EventExpired names it. For an authentic value
// whose ID was renewed away (and that nothing else revokes), the error also
// wraps driver.ErrRenewed, and Open returns the session with it, so that
// the Manager refuses the request's changes (the browser holds the newer
// cookie) and a Destroy revokes it; a revoked one is returned beside its
// error too, for the same reason: a Destroy of a cookie revoked by a mark
// revokes its origin, and so its renewals. A forged or tampered value gives
// ErrNotFound alone. For a live session with a user, with
// Options.Revocation set, Open reads the user's mark and the denials of the
// session's ID and origin: 1 RevocationStore read, whose cost does not
// depend on how many IDs the user has denied. Any other error is a failure
// of the RevocationStore, and fails the request.
//
// A session without a user is never checked: its renewal is not recorded
// (marks are kept per user), so a copy of an anonymous cookie taken before
// a Login still opens, as the anonymous session it was.
//
// A value opened with a key other than the newest is returned with Stale
// set, so that the Manager re-seals it with the newest key.
func (s *Store) Open(ctx context.Context, name, value string) (driver.Sealed, error) {
	if len(value) == 0 || len(value) > maxValue || len(name) > 0xffff {
		return driver.Sealed{}, errMalformed
	}
	n := b64.DecodedLen(len(value))
	// Room past the decoded value for the associated data (at most 2+255+2
	// bytes plus the name) and a MAC, so that Open allocates once.
	buf := make([]byte, n, n+2+255+2+len(name)+macSize)
	if m, err := b64.Decode(buf, []byte(value)); err != nil || m != n {
		return driver.Sealed{}, errMalformed
	}
	if len(buf) < 2 || buf[0] != s.format || len(buf) < 2+int(buf[1]) {
		return driver.Sealed{}, errMalformed
	}
	hdr := 2 + int(buf[1])
	ki := s.key(buf[2:hdr])
	if ki < 0 {
		return driver.Sealed{}, errUnknownKey
	}
	k := &s.keys[ki]
	ad := appendAD(buf[n:n], buf[:hdr], name)
	var payload []byte
	if s.format == formatSealed {
		if len(buf) < hdr+nonceSize+tagSize {
			return driver.Sealed{}, errMalformed
		}
		ct := buf[hdr+nonceSize : n]
		var err error
		if payload, err = k.aead.Open(ct[:0], buf[hdr:hdr+nonceSize], ct, ad); err != nil {
			return driver.Sealed{}, errForged
		}
	} else {
		if len(buf) < hdr+macSize {
			return driver.Sealed{}, errMalformed
		}
		payload = buf[hdr : n-macSize]
		mac := k.macs.Get().(hash.Hash)
		mac.Reset()
		mac.Write(ad)
		mac.Write(payload)
		sum := mac.Sum(ad[len(ad):])
		k.macs.Put(mac)
		if !hmac.Equal(sum, buf[n-macSize:n]) {
			return driver.Sealed{}, errForged
		}
	}
	id, origin, rec, err := decodePayload(payload)
	if err != nil || id == "" {
		return driver.Sealed{}, errCorrupt
	}
	now := time.Now()
	if !now.Before(rec.Expires) || !rec.Deadline.IsZero() && !now.Before(rec.Deadline) ||
		!now.Before(rec.Created.Add(s.lifetime)) {
		return driver.Sealed{ID: id, Record: rec, Origin: origin}, errExpired // for the Manager's event
	}
	if s.rev != nil && rec.User != "" {
		r, err := s.rev.Revocation(ctx, rec.User, id, cmp.Or(origin, id))
		if err != nil {
			return driver.Sealed{}, fmt.Errorf("cookiestore: open: reading the revocation mark: %w", err)
		}
		if r.Revokes(id, origin, rec.Created) {
			renewed := r.Denied[id]
			delete(r.Denied, id) // what revokes it but its renewal?
			if renewed && !r.Revokes(id, origin, rec.Created) {
				return driver.Sealed{ID: id, Record: rec, Origin: origin}, errRenewed
			}
			// Revoked: returned for a Destroy, which revokes its origin too.
			return driver.Sealed{ID: id, Record: rec, Origin: origin}, errRevoked
		}
	}
	return driver.Sealed{ID: id, Record: rec, Stale: ki > 0, Origin: origin}, nil
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
// Options.Revocation, and otherwise returns an error wrapping
// driver.ErrNotSupported.
//
// It stores one mark for the user, replacing any earlier one (the denied
// IDs stay): every session of the user created before now, rounded up to
// the next millisecond, is revoked, except keep. A Renew keeps a session's
// creation time, so the sessions renewed from a revoked one are revoked
// too, and Seal refuses to renew a revoked session. keep stays valid
// through its renewals: Seal gives the session renewed from keep a
// creation time of at least the mark's. DeleteUser returns only once the
// clock has passed the mark's time (at most 1 ms later), so a session
// created after it returns, such as a Login later in the same request,
// stays valid. The mark is kept for Options.Lifetime, after which Open
// rejects the sessions it revoked as too old anyway.
//
// A cookie store cannot know how many cookies exist, so on success the
// count is always driver.CountUnknown.
func (s *Store) DeleteUser(ctx context.Context, user, keep string) (int, error) {
	if s.rev == nil {
		return 0, fmt.Errorf("cookiestore: revoking sessions needs Options.Revocation: %w", driver.ErrNotSupported)
	}
	if err := s.mark(ctx, user, keep); err != nil {
		return 0, fmt.Errorf("cookiestore: %w", err)
	}
	return driver.CountUnknown, nil
}

// Lifetime returns the session lifetime the store was configured with, so
// that sesame.New can check that it agrees with the Manager's.
func (s *Store) Lifetime() time.Duration { return s.lifetime }
