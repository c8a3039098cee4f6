package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/sesame-go/sesame/cookiestore"
)

// keygenJSON is what keygen prints.
type keygenJSON struct {
	ID   string   `json:"id"`
	Keys string   `json:"keys"`
	IDs  []string `json:"ids"`
}

// cmdKeygen prints a new key, or with --rotate the current ring with a
// new key first, in the SESAME_KEYS format.
func cmdKeygen(_ context.Context, e *env, args []string) error {
	fs := newFlags("keygen")
	rotate := fs.Bool("rotate", false, "read the current ring (SESAME_KEYS, else stdin) and print it with a new key first")
	id := fs.String("id", "", "the new key's ID (default: today's date and 4 random hex digits)")
	if pos, err := parseInterspersed(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("keygen: takes no arguments")
	}
	var ring []cookiestore.Key
	if *rotate {
		var err error
		if os.Getenv(cookiestore.EnvKeys) != "" {
			ring, err = cookiestore.KeysFromEnv()
		} else {
			var b []byte
			if b, err = io.ReadAll(e.stdin); err != nil {
				return fmt.Errorf("keygen: reading stdin: %w", err)
			}
			ring, err = cookiestore.ParseKeys(string(b))
		}
		if err != nil {
			return fmt.Errorf("keygen --rotate: the current ring: %w", err)
		}
	}
	k, err := cookiestore.GenerateKey(*id)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	for _, old := range ring {
		if old.ID == k.ID {
			return fmt.Errorf("keygen: the ring already has a key with ID %q: pass another --id", k.ID)
		}
	}
	ring = append([]cookiestore.Key{k}, ring...)
	line := cookiestore.FormatKeys(ring...)
	if e.json {
		ids := make([]string, len(ring))
		for i, k := range ring {
			ids[i] = k.ID
		}
		return writeJSON(e.stdout, keygenJSON{ID: k.ID, Keys: line, IDs: ids})
	}
	_, err = fmt.Fprintln(e.stdout, line)
	return err
}
