// Command sesame-demo is a small web app that shows Sesame at work: login
// with session renewal, a per-session counter, "your devices" with revoke,
// and logout. It serves a page at / and a JSON API under /api, both from
// package internal/demo, which documents the API; this command picks the
// store and the configuration from its flags.
//
//	go run ./cmd/sesame-demo            # http://127.0.0.1:8080
//	go run ./cmd/sesame-demo -h         # flags
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
	addr     string
	store    string
	secure   bool
	idle     time.Duration
	lifetime time.Duration
	storeOptions
}

// run serves the demo until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return serve(ctx, args, stdout, stderr, nil)
}

// serve is run that sends the listening address to ready, if set, once it
// listens.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- string) error {
	var o options
	fs := flag.NewFlagSet("sesame-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&o.store, "store", defaultStore, "session store: "+storeNames())
	fs.BoolVar(&o.secure, "secure", false, "mark the cookie Secure (needs HTTPS; the library's default is true)")
	fs.DurationVar(&o.idle, "idle", sesame.DefaultIdleTimeout, "idle timeout (negative: none)")
	fs.DurationVar(&o.lifetime, "lifetime", sesame.DefaultLifetime, "absolute session lifetime")
	o.storeOptions.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg := sesame.Config{Insecure: !o.secure, IdleTimeout: o.idle, Lifetime: o.lifetime, Logger: log}
	closeStore, err := openStore(ctx, o.store, o.storeOptions, &cfg, stderr)
	if err != nil {
		return err
	}
	defer closeStore()
	m := sesame.New(cfg)

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: demo.New(m), ReadHeaderTimeout: 5 * time.Second}
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
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
