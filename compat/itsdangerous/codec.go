package itsdangerous

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"time"
)

// Codec reads and writes the session cookies of a Python framework.
// Implementations are safe for concurrent use.
type Codec interface {
	// Decode verifies cookie, the value of the session cookie, and returns
	// the session and the time it was signed. A bad cookie gives an error
	// wrapping ErrBadSignature, ErrExpired or ErrBadPayload; Decode never
	// panics. JSON numbers are returned as json.Number.
	Decode(cookie string) (map[string]any, time.Time, error)
	// Encode returns the cookie value for session, signed now.
	Encode(session map[string]any) (string, error)
}

// Flask session defaults.
const (
	// FlaskSalt is the salt of Flask's SecureCookieSessionInterface.
	FlaskSalt = "cookie-session"
	// FlaskMaxAge is Flask's default PERMANENT_SESSION_LIFETIME, which it
	// checks on every session cookie, permanent or not.
	FlaskMaxAge = 31 * 24 * time.Hour
	// StarletteMaxAge is the default max_age of Starlette's
	// SessionMiddleware.
	StarletteMaxAge = 14 * 24 * time.Hour
)

// FlaskCodec is the Codec of Flask's default sessions
// (SecureCookieSessionInterface): a URLSafeTimedSerializer with salt
// "cookie-session", the hmac key derivation and SHA-1, over Flask's tagged
// JSON.
//
// Decode turns the tags into Go values: " t" (tuple) into []any, " b"
// (bytes) into []byte, " d" (datetime) into a time.Time in UTC, " u"
// (UUID) into its canonical string, " m" (Markup) into a string, and " di"
// into the map it escapes. Encode tags []byte, time.Time and maps whose
// only key is a tag; other Go values are encoded with encoding/json.
type FlaskCodec struct {
	s *URLSafeTimedSerializer
	// MaxAge is the age beyond which Decode rejects a cookie, as Flask's
	// PERMANENT_SESSION_LIFETIME.
	MaxAge time.Duration
}

// Flask returns the codec of a Flask app whose SECRET_KEY is secret, with
// Flask's default MaxAge of 31 days. It panics if secret is empty. For
// SECRET_KEY_FALLBACKS or other settings, use FlaskWith.
func Flask(secret string) *FlaskCodec { return FlaskWith(secret, Options{}) }

// FlaskWith is Flask with options: an empty o.Salt, o.KeyDerivation or
// nil o.Digest take Flask's ("cookie-session", HMAC, SHA-1), not
// itsdangerous' defaults.
func FlaskWith(secret string, o Options) *FlaskCodec {
	if o.Salt == "" {
		o.Salt = FlaskSalt
	}
	if o.KeyDerivation == "" {
		o.KeyDerivation = HMAC
	}
	return &FlaskCodec{s: NewURLSafeTimedSerializer(secret, o), MaxAge: FlaskMaxAge}
}

// Decode implements Codec.
func (c *FlaskCodec) Decode(cookie string) (map[string]any, time.Time, error) {
	b, issued, err := c.s.UnsignPayload(cookie, c.MaxAge)
	if err != nil {
		return nil, issued, err
	}
	m, err := decodeObject(b)
	if err != nil {
		return nil, issued, err
	}
	v, err := untagScan(m, 0)
	if err != nil {
		return nil, issued, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, issued, fmt.Errorf("%w: session is a tagged %T, not an object", ErrBadPayload, v)
	}
	return m, issued, nil
}

// Encode implements Codec.
func (c *FlaskCodec) Encode(session map[string]any) (string, error) {
	b, err := pyJSON(tag(session), false, true)
	if err != nil {
		return "", err
	}
	return c.s.SignPayload(b), nil
}

// StarletteCodec is the Codec of Starlette's SessionMiddleware: a
// TimestampSigner with itsdangerous' defaults over standard base64 of
// JSON.
type StarletteCodec struct {
	s *TimestampSigner
	// MaxAge is the age beyond which Decode rejects a cookie, as
	// SessionMiddleware's max_age.
	MaxAge time.Duration
}

// Starlette returns the codec of a Starlette (or FastAPI) app whose
// SessionMiddleware has secret_key secret, with Starlette's default MaxAge
// of 14 days. It panics if secret is empty.
func Starlette(secret string) *StarletteCodec {
	return &StarletteCodec{s: NewTimestampSigner(secret, Options{}), MaxAge: StarletteMaxAge}
}

// Decode implements Codec.
func (c *StarletteCodec) Decode(cookie string) (map[string]any, time.Time, error) {
	v, issued, err := c.s.Unsign([]byte(cookie), c.MaxAge)
	if err != nil {
		return nil, issued, err
	}
	v = bytes.TrimRight(v, "=")
	b := make([]byte, base64.RawStdEncoding.DecodedLen(len(v)))
	n, err := base64.RawStdEncoding.Decode(b, v)
	if err != nil {
		return nil, issued, fmt.Errorf("%w: invalid base64: %v", ErrBadPayload, err)
	}
	m, err := decodeObject(b[:n])
	return m, issued, err
}

// Encode implements Codec.
func (c *StarletteCodec) Encode(session map[string]any) (string, error) {
	if session == nil {
		session = map[string]any{}
	}
	b, err := pyJSON(session, true, true)
	if err != nil {
		return "", err
	}
	return string(c.s.Sign([]byte(base64.StdEncoding.EncodeToString(b)))), nil
}
