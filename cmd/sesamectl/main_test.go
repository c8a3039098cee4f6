package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/cookiestore"
	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/sesametest"
)

// sesamectl runs the command line args as main does, and returns its
// output and exit code.
func sesamectl(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut strings.Builder
	err := run(t.Context(), args, strings.NewReader(stdin), &out, &errOut)
	code = exitCode(err)
	if code == exitFailure {
		fmt.Fprintln(&errOut, "sesamectl:", err)
	}
	return out.String(), errOut.String(), code
}

// mustRun runs args, which must succeed, and returns stdout.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := sesamectl(t, "", args...)
	if code != exitOK {
		t.Fatalf("sesamectl %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// mustJSON decodes out into v, or fails.
func mustJSON(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
}

// wantFields checks that obj has exactly the fields named.
func wantFields(t *testing.T, what string, obj map[string]any, fields ...string) {
	t.Helper()
	var got []string
	for k := range obj {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(fields)
	if !slices.Equal(got, fields) {
		t.Errorf("%s fields = %v, want %v", what, got, fields)
	}
}

// wantMatch checks that out matches the regular expression re.
func wantMatch(t *testing.T, what, out, re string) {
	t.Helper()
	if !regexp.MustCompile(re).MatchString(out) {
		t.Errorf("%s: output does not match %q:\n%s", what, re, out)
	}
}

var sessionFields = []string{"id", "user", "created", "last_seen", "expires", "deadline", "authenticated_at", "user_agent", "ip"}

// TestCommandsOnEveryStore makes sessions through a Manager, then runs
// every command on them, as a table and as JSON.
func TestCommandsOnEveryStore(t *testing.T) {
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) {
			b := bk.open(t)
			m := sesame.New(sesame.Config{Store: b.store})
			login := func(user, ua, addr string) (*sesametest.Client, string) {
				c := sesametest.NewClient(t, m)
				c.UserAgent, c.RemoteAddr = ua, addr
				return c, c.Login(user)
			}
			a1, id1 := login("alice", "Firefox/140.0", "192.0.2.1:4000")
			a1.Put("cart", []string{"apple", "pear"}) // 16 bytes of JSON
			_, id2 := login("alice", "curl/8.0", "192.0.2.2:4000")
			_, bobID := login("bob", "Safari/18", "192.0.2.3:4000")
			ctl := func(t *testing.T, args ...string) string {
				t.Helper()
				return mustRun(t, append(slices.Clone(b.args), args...)...)
			}
			ctlJSON := func(t *testing.T, args ...string) string {
				t.Helper()
				return mustRun(t, append(append(slices.Clone(b.args), "-json"), args...)...)
			}

			t.Run("list", func(t *testing.T) {
				out := ctl(t, "list", "--user", "alice")
				wantMatch(t, "list", out, `(?m)^ID\s+CREATED\s+LAST SEEN\s+EXPIRES\s+IP\s+USER AGENT$`)
				wantMatch(t, "list", out, regexp.QuoteMeta(id1)+`\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ .*192\.0\.2\.1\s+Firefox/140\.0`)
				wantMatch(t, "list", out, regexp.QuoteMeta(id2)+`.*192\.0\.2\.2\s+curl/8\.0`)
				wantMatch(t, "list", out, `2 sessions of alice`)
				var got []map[string]any
				mustJSON(t, ctlJSON(t, "list", "--user", "alice"), &got)
				if len(got) != 2 {
					t.Fatalf("list -json: %d sessions, want 2", len(got))
				}
				wantFields(t, "list -json", got[0], sessionFields...)
				if got[0]["user"] != "alice" || got[0]["ip"] == "" {
					t.Errorf("list -json: %v", got[0])
				}
				mustJSON(t, ctlJSON(t, "list", "--user", "nobody"), &got)
				if len(got) != 0 {
					t.Errorf("list of an unknown user: %v", got)
				}
			})

			t.Run("show", func(t *testing.T) {
				out := ctl(t, "show", id1)
				wantMatch(t, "show", out, `(?m)^id\s+`+regexp.QuoteMeta(id1)+`$`)
				wantMatch(t, "show", out, `(?m)^user\s+alice$`)
				wantMatch(t, "show", out, `(?m)^user agent\s+Firefox/140\.0$`)
				wantMatch(t, "show", out, `(?m)^cart\s+16$`)
				if strings.Contains(out, "apple") {
					t.Errorf("show without --values prints a value:\n%s", out)
				}
				out = ctl(t, "show", id1, "--values")
				wantMatch(t, "show --values", out, `(?m)^cart\s+16\s+\["apple","pear"\]$`)

				var got map[string]any
				mustJSON(t, ctlJSON(t, "show", id1), &got)
				wantFields(t, "show -json", got, append(sessionFields, "persist", "keys")...)
				keys := got["keys"].([]any)
				if len(keys) != 1 {
					t.Fatalf("show -json keys = %v", keys)
				}
				wantFields(t, "show -json key", keys[0].(map[string]any), "key", "size")
				mustJSON(t, ctlJSON(t, "show", "--values", id1), &got)
				k := got["keys"].([]any)[0].(map[string]any)
				wantFields(t, "show -json --values key", k, "key", "size", "value")
				if k["key"] != "cart" || k["size"] != 16.0 || len(k["value"].([]any)) != 2 {
					t.Errorf("show -json --values: %v", k)
				}

				_, errOut, code := sesamectl(t, "", append(slices.Clone(b.args), "show", "no-such-id")...)
				if code != exitFailure || strings.Contains(errOut, "no-such-id") || !strings.Contains(errOut, "no live session") {
					t.Errorf("show of an unknown ID: exit %d, stderr %q; want 1, without the ID", code, errOut)
				}
			})

			t.Run("stats", func(t *testing.T) {
				out := ctl(t, "stats")
				wantMatch(t, "stats", out, `(?m)^store\s+`+b.name+`$`)
				wantMatch(t, "stats", out, `(?m)^sessions\s+3$`)
				wantMatch(t, "stats", out, `(?m)^users\s+2$`)
				wantMatch(t, "stats", out, `(?m)^total bytes\s+16$`)
				wantMatch(t, "stats", out, `(?m)^largest bytes\s+16$`)
				var got map[string]any
				mustJSON(t, ctlJSON(t, "stats"), &got)
				fields := []string{"store", "sessions", "users", "total_bytes", "largest_bytes"}
				if b.redisStore() {
					wantFields(t, "stats -json", got, fields...)
				} else {
					wantFields(t, "stats -json", got, append(fields, "expired")...)
				}
				if got["sessions"] != 3.0 || got["users"] != 2.0 || got["total_bytes"] != 16.0 || got["largest_bytes"] != 16.0 {
					t.Errorf("stats -json: %v", got)
				}
			})

			t.Run("revoke", func(t *testing.T) {
				_, id3 := login("alice", "Edge/1", "192.0.2.4:4000")
				wantMatch(t, "revoke ID", ctl(t, "revoke", id2), `^revoked 1 session\n$`)
				wantMatch(t, "revoke ID again", ctl(t, "revoke", id2), `^revoked 0 sessions\n$`)
				wantMatch(t, "revoke --user --keep", ctl(t, "revoke", "--user", "alice", "--keep", id1), `^revoked 1 session\n$`)
				var got map[string]any
				mustJSON(t, ctlJSON(t, "list", "--user", "alice"), new([]any))
				mustJSON(t, ctlJSON(t, "revoke", "--user", "bob"), &got)
				wantFields(t, "revoke -json", got, "revoked")
				if got["revoked"] != 1.0 {
					t.Errorf("revoke --user bob -json: %v", got)
				}
				if _, err := b.store.Load(t.Context(), id3); err == nil {
					t.Error("a revoked session still loads")
				}
				if _, err := b.store.Load(t.Context(), bobID); err == nil {
					t.Error("bob's revoked session still loads")
				}
				if _, err := b.store.Load(t.Context(), id1); err != nil {
					t.Errorf("the kept session: %v", err)
				}
			})

			t.Run("purge", func(t *testing.T) {
				past := time.Now().Add(-time.Hour)
				rec := &driver.Record{User: "carol", Values: map[string]any{"k": json.RawMessage(`1`)},
					Created: past.Add(-time.Hour), LastSeen: past, Deadline: past, Expires: past}
				if err := b.store.Save(t.Context(), "expired-"+randomHex(4), rec); err != nil {
					t.Fatal(err)
				}
				var got map[string]any
				if b.redisStore() {
					wantMatch(t, "purge", ctl(t, "purge"), `nothing to purge: Redis expires`)
					mustJSON(t, ctlJSON(t, "purge"), &got)
					wantFields(t, "purge -json", got, "purged", "native_expiry")
					if got["native_expiry"] != true {
						t.Errorf("purge -json: %v", got)
					}
					return
				}
				wantMatch(t, "stats", ctl(t, "stats"), `(?m)^expired\s+1$`)
				wantMatch(t, "purge", ctl(t, "purge"), `^purged [1-9]\d* expired records?\n$`)
				mustJSON(t, ctlJSON(t, "purge"), &got)
				wantFields(t, "purge -json", got, "purged", "native_expiry")
				if got["purged"] != 0.0 || got["native_expiry"] != false {
					t.Errorf("second purge -json: %v", got)
				}
			})

			t.Run("check", func(t *testing.T) {
				k, err := cookiestore.GenerateKey("ctl-test")
				if err != nil {
					t.Fatal(err)
				}
				t.Setenv(cookiestore.EnvKeys, cookiestore.FormatKeys(k))
				out := ctl(t, "check")
				wantMatch(t, "check", out, `(?m)^CHECK\s+STATUS\s+DETAIL$`)
				wantMatch(t, "check", out, `(?m)^store\s+ok\s+`)
				wantMatch(t, "check", out, `(?m)^key ring\s+ok\s+SESAME_KEYS holds 1 key, newest "ctl-test"$`)
				switch b.name {
				case kindSQLite:
					wantMatch(t, "check", out, `(?m)^schema\s+ok\s+version \d+ \(current\)$`)
					wantMatch(t, "check", out, `(?m)^file mode\s+ok\s+.*sessions\.db is mode 0600$`)
				case kindPostgres:
					wantMatch(t, "check", out, `(?m)^schema\s+ok\s+version \d+ \(current\)$`)
				default:
					wantMatch(t, "check", out, `(?m)^eviction\s+ok\s+`)
				}
				var got []map[string]any
				mustJSON(t, ctlJSON(t, "check"), &got)
				for _, c := range got {
					wantFields(t, "check -json", c, "check", "status", "detail")
					if c["status"] != statusOK {
						t.Errorf("check -json: %v", c)
					}
				}

				t.Setenv(cookiestore.EnvKeys, "bad")
				out, _, code := sesamectl(t, "", append(slices.Clone(b.args), "check")...)
				if code != exitFailure {
					t.Errorf("check with a bad SESAME_KEYS: exit %d, want 1", code)
				}
				wantMatch(t, "check with a bad ring", out, `(?m)^key ring\s+fail\s+`)
				if strings.Contains(out, "bad") {
					t.Errorf("check echoes SESAME_KEYS:\n%s", out)
				}
			})

			if b.path != "" {
				t.Run("check file mode", func(t *testing.T) {
					if err := os.Chmod(b.path, 0o644); err != nil {
						t.Fatal(err)
					}
					out, _, code := sesamectl(t, "", append(slices.Clone(b.args), "check")...)
					if code != exitFailure {
						t.Errorf("check of a world-readable file: exit %d, want 1", code)
					}
					wantMatch(t, "check", out, `(?m)^file mode\s+fail\s+.*mode 0644: group or others`)
				})
			}
		})
	}
}

func (b backend) redisStore() bool { return b.name == kindRedis || b.name == kindCluster }
