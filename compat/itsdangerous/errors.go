package itsdangerous

import "errors"

// Errors returned by the signers, the serializer and the codecs. Callers
// test them with errors.Is; the returned errors wrap them with details.
var (
	// ErrBadSignature reports a token that is not signed with the secret:
	// its signature does not match, or it has no separator, or (for a
	// timestamp signer) its timestamp is missing or malformed.
	ErrBadSignature = errors.New("itsdangerous: bad signature")
	// ErrExpired reports a validly signed token older than the maximum
	// age, or dated in the future.
	ErrExpired = errors.New("itsdangerous: signature expired")
	// ErrBadPayload reports a validly signed token whose payload does not
	// decode: bad base64, zlib or JSON, an unknown Flask tag, or a payload
	// that is not a JSON object where a session is expected.
	ErrBadPayload = errors.New("itsdangerous: bad payload")
)
