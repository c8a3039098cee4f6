package cookiestore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"

	"github.com/sesame-go/sesame/driver"
)

// The payload is the session as sealed or signed, in a compact binary form
// (all integers are varints from encoding/binary):
//
//	flags          1 byte: bit 0 Record.Persist, bit 1 authenticated,
//	               bit 2 device, bit 3 origin; the other bits are zero
//	id             uvarint length, bytes
//	user           uvarint length, bytes
//	created        varint Unix milliseconds
//	last seen      varint Unix milliseconds
//	deadline       varint Unix milliseconds
//	expires        varint Unix milliseconds
//	authenticated  if bit 1: varint milliseconds after created
//	device         if bit 2: user agent, IP (each uvarint length, bytes)
//	origin         if bit 3: uvarint length, bytes (driver.Sealed.Origin)
//	count          uvarint number of values
//	values         count × (uvarint length, key bytes, uvarint length, JSON bytes)
//
// Times keep millisecond precision. A zero AuthenticatedAt and an empty
// Device take no room (their bit is clear), and AuthenticatedAt takes one
// byte when it is Created (a Login) and a few when it is later (a
// Reauthenticate). Values are the JSON of driver.MarshalValue, so each
// keeps its type through the round trip.
//
// Bits 1 to 3 are the only change since the first version of the payload,
// which had them clear: a value sealed by that version decodes as before
// (see TestValuesSealedInThePreviousFormatStillOpen). A session that was
// never renewed has no origin (it is its ID) and takes no room for it.

const (
	flagPersist       = 1 << 0
	flagAuthenticated = 1 << 1
	flagDevice        = 1 << 2
	flagOrigin        = 1 << 3
	flagsKnown        = flagPersist | flagAuthenticated | flagDevice | flagOrigin
)

var errPayload = errors.New("cookiestore: malformed payload")

// appendPayload appends the payload of the session (id, origin, rec) to
// dst.
func appendPayload(dst []byte, id, origin string, rec *driver.Record) ([]byte, error) {
	var flags byte
	if rec.Persist {
		flags |= flagPersist
	}
	if !rec.AuthenticatedAt.IsZero() {
		flags |= flagAuthenticated
	}
	if rec.Device != (driver.Device{}) {
		flags |= flagDevice
	}
	if origin != "" && origin != id {
		flags |= flagOrigin
	}
	dst = append(dst, flags)
	dst = appendString(dst, id)
	dst = appendString(dst, rec.User)
	for _, t := range [...]time.Time{rec.Created, rec.LastSeen, rec.Deadline, rec.Expires} {
		dst = binary.AppendVarint(dst, t.UnixMilli())
	}
	if flags&flagAuthenticated != 0 {
		dst = binary.AppendVarint(dst, rec.AuthenticatedAt.UnixMilli()-rec.Created.UnixMilli())
	}
	if flags&flagDevice != 0 {
		dst = appendString(dst, rec.Device.UserAgent)
		dst = appendString(dst, rec.Device.IP)
	}
	if flags&flagOrigin != 0 {
		dst = appendString(dst, origin)
	}
	dst = binary.AppendUvarint(dst, uint64(len(rec.Values)))
	for k, v := range rec.Values {
		raw, err := driver.MarshalValue(v)
		if err != nil {
			return nil, err
		}
		dst = appendString(dst, k)
		dst = binary.AppendUvarint(dst, uint64(len(raw)))
		dst = append(dst, raw...)
	}
	return dst, nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// payloadSize estimates the size of the payload of rec, for a buffer
// that appendPayload rarely has to grow.
func payloadSize(id, origin string, rec *driver.Record) int {
	n := 48 + len(id) + len(origin) + len(rec.User)
	if !rec.AuthenticatedAt.IsZero() || rec.Device != (driver.Device{}) {
		n += 16 + len(rec.Device.UserAgent) + len(rec.Device.IP)
	}
	for k, v := range rec.Values {
		n += len(k) + 16
		if raw, ok := v.(json.RawMessage); ok {
			n += len(raw)
		}
	}
	return n
}

// decodePayload decodes a payload; origin is "" for a session never
// renewed. The strings it returns share one copy of p, and the values are
// json.RawMessage slices of p itself: p must not be modified afterwards.
func decodePayload(p []byte) (id, origin string, rec *driver.Record, err error) {
	d := decoder{b: p, s: string(p)}
	flags := d.byte()
	id = d.string()
	rec = &driver.Record{User: d.string(), Persist: flags&flagPersist != 0}
	rec.Created, rec.LastSeen, rec.Deadline, rec.Expires = d.time(), d.time(), d.time(), d.time()
	if flags&flagAuthenticated != 0 {
		rec.AuthenticatedAt = time.UnixMilli(rec.Created.UnixMilli() + d.varint())
	}
	if flags&flagDevice != 0 {
		rec.Device = driver.Device{UserAgent: d.string(), IP: d.string()}
	}
	if flags&flagOrigin != 0 {
		origin = d.string()
	}
	n := d.uvarint()
	if n > uint64(len(p)-d.off)/2 { // every value takes at least 2 bytes
		return "", "", nil, errPayload
	}
	if n > 0 {
		rec.Values = make(map[string]any, n)
	}
	for range n {
		k := d.string()
		rec.Values[k] = json.RawMessage(d.bytes())
	}
	if d.bad || d.off != len(p) || flags&^flagsKnown != 0 || flags&flagOrigin != 0 && (origin == "" || origin == id) {
		return "", "", nil, errPayload
	}
	return id, origin, rec, nil
}

// decoder reads a payload; any error sets bad and makes every later read
// return a zero value.
type decoder struct {
	b   []byte
	s   string // a copy of b, to slice strings from without allocating
	off int
	bad bool
}

func (d *decoder) byte() byte {
	if d.bad || d.off >= len(d.b) {
		d.bad = true
		return 0
	}
	d.off++
	return d.b[d.off-1]
}

func (d *decoder) uvarint() uint64 {
	if d.bad {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	if d.bad {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) time() time.Time {
	v := d.varint()
	if d.bad {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

// span returns the bounds of the next length-prefixed field.
func (d *decoder) span() (int, int) {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.b)-d.off) {
		d.bad = true
		return 0, 0
	}
	start := d.off
	d.off += int(n)
	return start, d.off
}

func (d *decoder) string() string {
	i, j := d.span()
	return d.s[i:j]
}

func (d *decoder) bytes() []byte {
	i, j := d.span()
	return d.b[i:j:j]
}
