package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/cookiestore"
	"github.com/sesame-go/sesame/sqlitestore"
)

func init() { stores["cookie"] = openCookie }

// openCookie keeps sessions in encrypted cookies (package cookiestore),
// with the key ring from SESAME_KEYS. Without it, it uses a random key and
// warns: sessions then end when the demo restarts. Revocation marks, which
// make "log out my other devices" work, are kept in the -sqlite file: one
// indexed read per request that loads a logged-in session.
func openCookie(ctx context.Context, o storeOptions, cfg *sesame.Config, stderr io.Writer) (func(), error) {
	keys, err := cookiestore.KeysFromEnv()
	if errors.Is(err, cookiestore.ErrNoKeys) {
		k, kerr := cookiestore.GenerateKey("")
		if kerr != nil {
			return nil, kerr
		}
		keys, err = []cookiestore.Key{k}, nil
		fmt.Fprintf(stderr, "sesame-demo: warning: %s is not set, so cookies are sealed with a random key and every session ends when the demo stops.\n"+
			"sesame-demo: set %s to a key ring (\"ID:SECRET,...\", newest first, 32-byte base64 secrets; see package cookiestore) to keep them.\n",
			cookiestore.EnvKeys, cookiestore.EnvKeys)
	}
	if err != nil {
		return nil, err
	}
	marks, err := sqlitestore.Open(ctx, o.sqlite, sqlitestore.Options{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	st, err := cookiestore.New(cookiestore.Options{Keys: keys, Revocation: marks, Lifetime: cfg.Lifetime})
	if err != nil {
		marks.Close()
		return nil, err
	}
	cfg.Sealer = st
	return func() { marks.Close() }, nil
}
