package itsdangerous

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// DefaultSerializerSalt is the salt of itsdangerous' serializers when none
// is given.
const DefaultSerializerSalt = "itsdangerous"

// maxPayload bounds a decompressed payload, against zlib bombs. Cookies
// hold 4 KiB; tokens in URLs are not much larger.
const maxPayload = 1 << 20

// zlibLevel is the compression level of payloads, zlib.compress' default.
// Go's deflate is not zlib's: its output differs from Python's, and is a
// few bytes longer (Go ends with an empty stored block), so Go may leave
// uncompressed a small payload that Python compresses. Both read either.
const zlibLevel = zlib.DefaultCompression

// URLSafeTimedSerializer works as itsdangerous.URLSafeTimedSerializer: a
// JSON payload, zlib-compressed when that makes it shorter (the token then
// starts with "."), in base64url without padding, signed by a
// TimestampSigner. It is safe for concurrent use.
type URLSafeTimedSerializer struct {
	signer *TimestampSigner
}

// NewURLSafeTimedSerializer returns a serializer for secret. An empty
// o.Salt means "itsdangerous". It panics as NewSigner does.
func NewURLSafeTimedSerializer(secret string, o Options) *URLSafeTimedSerializer {
	if o.Salt == "" {
		o.Salt = DefaultSerializerSalt
	}
	return &URLSafeTimedSerializer{signer: NewTimestampSigner(secret, o)}
}

// Dumps returns v, encoded with encoding/json as itsdangerous' compact
// JSON (no spaces, no HTML escaping, non-ASCII as is), as a signed token.
func (s *URLSafeTimedSerializer) Dumps(v any) (string, error) {
	b, err := pyJSON(v, false, false)
	if err != nil {
		return "", err
	}
	return s.SignPayload(b), nil
}

// Loads verifies token, as UnsignPayload does, and decodes its JSON into v.
func (s *URLSafeTimedSerializer) Loads(token string, maxAge time.Duration, v any) (time.Time, error) {
	b, issued, err := s.UnsignPayload(token, maxAge)
	if err != nil {
		return issued, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return issued, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	return issued, nil
}

// SignPayload compresses and encodes the JSON text payload, and signs it
// with the current time.
func (s *URLSafeTimedSerializer) SignPayload(payload []byte) string {
	return string(s.signer.Sign(encodePayload(payload)))
}

// UnsignPayload verifies token (see TimestampSigner.Unsign) and returns its
// JSON text and the time it was signed. A payload that does not decode
// gives an error wrapping ErrBadPayload.
func (s *URLSafeTimedSerializer) UnsignPayload(token string, maxAge time.Duration) ([]byte, time.Time, error) {
	v, issued, err := s.signer.Unsign([]byte(token), maxAge)
	if err != nil {
		return nil, issued, err
	}
	b, err := decodePayload(v)
	return b, issued, err
}

// encodePayload is URLSafeSerializerMixin.dump_payload.
func encodePayload(j []byte) []byte {
	var z bytes.Buffer
	w, _ := zlib.NewWriterLevel(&z, zlibLevel)
	w.Write(j)
	w.Close()
	if z.Len() < len(j)-1 {
		return append([]byte("."), b64encode(z.Bytes())...)
	}
	return b64encode(j)
}

// decodePayload is URLSafeSerializerMixin.load_payload, without the JSON.
func decodePayload(p []byte) ([]byte, error) {
	compressed := len(p) > 0 && p[0] == '.'
	if compressed {
		p = p[1:]
	}
	b, err := b64decode(p)
	if err != nil {
		return nil, fmt.Errorf("%w: invalid base64: %v", ErrBadPayload, err)
	}
	if !compressed {
		return b, nil
	}
	r, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: could not zlib-decompress: %v", ErrBadPayload, err)
	}
	out, err := io.ReadAll(io.LimitReader(r, maxPayload+1))
	if err == nil && len(out) > maxPayload {
		err = fmt.Errorf("more than %d bytes", maxPayload)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: could not zlib-decompress: %v", ErrBadPayload, err)
	}
	return out, nil
}

// pyJSON encodes v as Python's json.dumps does: no HTML escaping, if ascii
// non-ASCII characters as \u escapes (ensure_ascii), and if spaced the
// default separators ", " and ": " instead of compact ones. Map keys are
// sorted, as encoding/json sorts them (Flask sorts them too).
func pyJSON(v any, spaced, ascii bool) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("itsdangerous: encode JSON: %w", err)
	}
	in := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	out := make([]byte, 0, len(in)+len(in)/8)
	inString := false
	for i := 0; i < len(in); {
		c := in[i]
		switch {
		case ascii && c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(in[i:])
			i += n
			if r >= 0x10000 {
				r -= 0x10000
				out = appendU(appendU(out, 0xD800+(r>>10)), 0xDC00+(r&0x3FF))
			} else {
				out = appendU(out, r)
			}
			continue
		case inString && c == '\\':
			out = append(out, in[i], in[i+1])
			i += 2
			continue
		case c == '"':
			inString = !inString
		case !inString && spaced && (c == ',' || c == ':'):
			out = append(out, c, ' ')
			i++
			continue
		}
		out = append(out, c)
		i++
	}
	return out, nil
}

func appendU(b []byte, r rune) []byte {
	b = append(b, `\u`...)
	h := strconv.FormatInt(int64(r), 16)
	for range 4 - len(h) {
		b = append(b, '0')
	}
	return append(b, h...)
}

// decodeObject decodes a JSON object with numbers as json.Number.
func decodeObject(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	if d.More() {
		return nil, fmt.Errorf("%w: data after the JSON value", ErrBadPayload)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: not a JSON object", ErrBadPayload)
	}
	return m, nil
}
