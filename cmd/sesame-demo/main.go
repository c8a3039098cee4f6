// Command sesame-demo is a small web app that shows Sesame at work: login
// with session renewal, reauthentication before a sensitive action, a
// per-session counter safe across tabs, "your devices" with revoke, and
// logout. It serves a page at / and a JSON API under /api, both from
// package internal/demo, which documents the API; this command picks the
// store and the configuration from its flags, and logs the sessions'
// lifecycle events (demo.Observer) to stderr.
//
//	go run ./cmd/sesame-demo                   # http://127.0.0.1:8080
//	go run ./cmd/sesame-demo -h                # flags
//	go run ./cmd/sesame-demo -max-sessions 3   # a 4th login ends the user's least recently seen session
//	go run ./cmd/sesame-demo -fresh 1m         # "log out all other devices" asks to reauthenticate after 1m
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/compat/itsdangerous"
	"github.com/sesame-go/sesame/device"
	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/internal/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "sesame-demo:", err)
		os.Exit(1)
	}
}

// options are the demo's flags.
type options struct {
	addr        string
	store       string
	secure      bool
	idle        time.Duration
	lifetime    time.Duration
	fresh       time.Duration
	maxSessions int
	migrate     string // "", "flask" or "starlette"
	migrateKey  string
	migrateName string
	storeOptions
}

// flags returns the demo's flag set, which parses into o and prints its
// usage to stderr.
func (o *options) flags(stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sesame-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: sesame-demo [flags]\n\n"+
			"Serves Sesame's demo app (a page at / and a JSON API under /api) until interrupted,\n"+
			"and logs the sessions' lifecycle events to stderr.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&o.store, "store", defaultStore, "session store: "+storeNames())
	fs.BoolVar(&o.secure, "secure", false, "mark the cookie Secure (needs HTTPS; the library's default is true)")
	fs.DurationVar(&o.idle, "idle", 30*time.Minute, "idle timeout (negative: none)")
	fs.DurationVar(&o.lifetime, "lifetime", 8*time.Hour, "absolute session lifetime")
	fs.DurationVar(&o.fresh, "fresh", demo.DefaultFresh, "\"log out all other devices\" needs a login or reauthentication within `DURATION`, else it asks to reauthenticate first (positive)")
	fs.IntVar(&o.maxSessions, "max-sessions", 0, "cap each user's live sessions at `N`: the (N+1)-th login ends the user's least recently seen session (0: no cap; not with -store cookie)")
	fs.StringVar(&o.migrate, "migrate", "", "adopt a Python app's session cookie, of `FORMAT` flask or starlette, on its first visit: its string key user logs in, its other keys become values, and the cookie is replaced")
	fs.StringVar(&o.migrateKey, "migrate-secret", "", "the Python app's secret `KEY`, for -migrate (if empty, $SESAME_MIGRATE_SECRET)")
	fs.StringVar(&o.migrateName, "migrate-cookie", "session", "the Python app's session cookie `NAME`, for -migrate")
	o.storeOptions.flags(fs)
	return fs
}

// migration returns the middleware of -migrate, or nil.
func (o *options) migration(m *sesame.Manager) (func(http.Handler) http.Handler, error) {
	var codec itsdangerous.Codec
	switch o.migrate {
	case "":
		return nil, nil
	case "flask":
		codec = itsdangerous.Flask(o.migrateKey)
	case "starlette":
		codec = itsdangerous.Starlette(o.migrateKey)
	default:
		return nil, fmt.Errorf("-migrate %q: want flask or starlette", o.migrate)
	}
	// The demo's keys: the counter is its own, other values live under "v:"
	// (GET /api/values/{key}); the user is logged in, not stored.
	key := func(k string) string {
		switch k {
		case "user":
			return ""
		case "counter":
			return k
		}
		return "v:" + k
	}
	return itsdangerous.Migrate(m, codec, itsdangerous.MigrateOptions{Cookie: o.migrateName, Key: key}), nil
}

// run serves the demo until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return serve(ctx, args, stdout, stderr, nil)
}

// serve is run that sends the listening address to ready, if set, once it
// listens.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- string) error {
	var o options
	fs := o.flags(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q; see sesame-demo -h", fs.Args())
	case o.fresh <= 0:
		return fmt.Errorf("-fresh %v: must be positive", o.fresh)
	case o.maxSessions < 0:
		return fmt.Errorf("-max-sessions %d: must be 0 (no cap) or more", o.maxSessions)
	}
	if o.migrateKey == "" {
		o.migrateKey = os.Getenv("SESAME_MIGRATE_SECRET")
	}
	switch {
	case o.migrate != "" && o.migrate != "flask" && o.migrate != "starlette":
		return fmt.Errorf("-migrate %q: want flask or starlette", o.migrate)
	case o.migrate != "" && o.migrateKey == "":
		return fmt.Errorf("-migrate %s needs the Python app's secret: -migrate-secret or SESAME_MIGRATE_SECRET", o.migrate)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg := sesame.Config{
		Insecure: !o.secure, IdleTimeout: o.idle, Lifetime: o.lifetime, Logger: log,
		DeviceLabel: device.Label, // "Chrome 156 on Linux"
		Observer:    &demo.Observer{Logger: log, Label: device.Label},
	}
	if o.maxSessions > 0 {
		cfg.MaxSessionsPerUser, cfg.CapPolicy = o.maxSessions, sesame.CapEvictOldest
	}
	closeStore, err := openStore(ctx, o.store, o.storeOptions, &cfg, stderr)
	if err != nil {
		return err
	}
	defer closeStore()
	if err := checkCap(o, cfg); err != nil {
		return err
	}
	m := sesame.New(cfg)
	inner, err := o.migration(m)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: demo.Options{Fresh: o.fresh, Inner: inner}.New(m), ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(stdout, "sesame-demo: store %s, listening on http://%s\n", o.store, ln.Addr())
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Longer than the store timeout (5s), so that a request waiting on a
	// slow store still ends with its own answer rather than a cut.
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// checkCap fails clearly where sesame.New would panic on -max-sessions: a
// cap needs a store that counts a user's sessions (driver.UserCapper),
// which a cookie store cannot.
func checkCap(o options, cfg sesame.Config) error {
	if cfg.MaxSessionsPerUser == 0 {
		return nil
	}
	if cfg.Sealer != nil {
		return fmt.Errorf("-max-sessions %d needs a server-side store: -store %s keeps sessions in cookies, which cannot be counted", o.maxSessions, o.store)
	}
	if _, ok := cfg.Store.(driver.UserCapper); !ok {
		return fmt.Errorf("-max-sessions %d: -store %s cannot cap a user's sessions (%T does not implement driver.UserCapper)", o.maxSessions, o.store, cfg.Store)
	}
	return nil
}
