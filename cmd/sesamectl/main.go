package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if code := exitCode(err); code == exitFailure {
		fmt.Fprintln(os.Stderr, "sesamectl:", err) // run printed usage errors
	}
	os.Exit(exitCode(err))
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// exitCode maps run's error to the process's exit code: 0 for none (or a
// request for help), 2 for a usage error, 1 for anything else.
func exitCode(err error) int {
	var u *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &u):
		return exitUsage
	default:
		return exitFailure
	}
}

// usageError is a command line that sesamectl cannot run. run has
// printed the usage on stderr by the time it returns one.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

const usageText = `Usage: sesamectl [-sqlite PATH | -redis URL | -redis-cluster ADDRS | -postgres DSN] [-prefix P] [-json] COMMAND [ARGS]

Commands:
  list --user U                 the user's sessions
  show [--values] ID            one session's metadata and keys (values with --values)
  revoke ID                     end one session (following its renewals)
  revoke --user U [--keep ID]   end the user's sessions, but --keep
  purge                         delete expired records (SQL stores)
  stats                         sessions, users, total and largest size (O(N))
  keygen [--rotate] [--id ID]   a new key, or the current ring with a new key first
  check                         eviction policy, schema version, key ring, file mode

Run "go doc github.com/sesame-go/sesame/cmd/sesamectl" for the details.
`

// command is one subcommand: it parses its own arguments, then runs.
type command func(ctx context.Context, e *env, args []string) error

var commands = map[string]command{
	"list":   cmdList,
	"show":   cmdShow,
	"revoke": cmdRevoke,
	"purge":  cmdPurge,
	"stats":  cmdStats,
	"keygen": cmdKeygen,
	"check":  cmdCheck,
}

// run runs sesamectl with args (without the program name). A usage error
// prints itself and the usage on stderr, and returns a *usageError; run
// prints no other error.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	err := e.run(ctx, args)
	if e.conn != nil {
		e.conn.close()
	}
	var u *usageError
	if errors.As(err, &u) {
		fmt.Fprintf(stderr, "sesamectl: %v\n\n", err)
	}
	if u != nil || errors.Is(err, flag.ErrHelp) {
		io.WriteString(stderr, usageText)
	}
	return err
}

func (e *env) run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sesamectl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&e.opts.sqlite, "sqlite", "", "SQLite database file")
	fs.StringVar(&e.opts.redis, "redis", "", "Redis URL")
	fs.StringVar(&e.opts.cluster, "redis-cluster", "", "comma-separated host:port seeds of a Redis Cluster")
	fs.StringVar(&e.opts.postgres, "postgres", "", "PostgreSQL DSN")
	fs.StringVar(&e.opts.prefix, "prefix", "", "Redis key prefix")
	fs.BoolVar(&e.json, "json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := e.opts.resolve(fs); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("no command")
	}
	name := fs.Arg(0)
	cmd, ok := commands[name]
	if !ok {
		return usagef("unknown command %q", name)
	}
	return cmd(ctx, e, fs.Args()[1:])
}

// parse parses args with fs, turning a parse error into a usage error.
func parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	if fs.Name() == "sesamectl" { // the global flags
		return &usageError{err}
	}
	return &usageError{fmt.Errorf("%s: %w", fs.Name(), err)}
}

// parseInterspersed parses args with fs, allowing flags after positional
// arguments ("show ID --values"), and returns the positional arguments.
// Session IDs are base64url, so one may start with '-': an argument with a
// single leading '-' that names no flag of fs ("-2C9m...") is positional.
// Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		a := args[0]
		switch {
		case a == "--":
			return append(pos, args[1:]...), nil
		case !strings.HasPrefix(a, "-") || a == "-" || isDashID(fs, a):
			pos, args = append(pos, a), args[1:]
			continue
		}
		// A flag, with its value if it takes one and has no "=".
		n := 1
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if f := fs.Lookup(name); f != nil && !hasValue && !isBool(f) && len(args) > 1 {
			n = 2
		}
		if err := parse(fs, args[:n]); err != nil {
			return nil, err
		}
		args = args[n:]
	}
	return pos, nil
}

// isBool reports whether f is a boolean flag, which takes no value.
func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// isDashID reports whether a, which starts with '-', is an ID rather than
// a flag: one leading '-' only, and no flag of fs by that name.
func isDashID(fs *flag.FlagSet, a string) bool {
	if strings.HasPrefix(a, "--") {
		return false
	}
	name, _, _ := strings.Cut(a[1:], "=")
	return fs.Lookup(name) == nil && name != "h" && name != "help"
}

// env is what the commands share: the global flags, the streams and the
// store connection, opened on first use.
type env struct {
	opts           connOptions
	json           bool
	stdin          io.Reader
	stdout, stderr io.Writer
	conn           *conn
}

// plural returns "n word" with an s when n is not 1.
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// oneLine replaces control characters in s (from a User-Agent, say), so
// that a table row stays one line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
