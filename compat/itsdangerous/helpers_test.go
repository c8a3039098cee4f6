package itsdangerous

import (
	"crypto/sha1"
	"crypto/sha256"
	"hash"
)

var digests = map[string]func() hash.Hash{"sha1": sha1.New, "sha256": sha256.New}
