package sesame_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sesame-go/sesame/internal/snippets"
)

// TestDocSnippetsCompile type-checks every Go snippet of the README and
// docs/ that uses only this module's packages (see package snippets),
// beside the variables (ctx, w, r, mux, s, user, ...) the snippets assume.
func TestDocSnippetsCompile(t *testing.T) {
	files, _ := filepath.Glob("docs/*.md")
	more, _ := filepath.Glob("docs/*/*.md")
	c := snippets.New(t, docImports, docVars)
	n := 0
	for _, sn := range snippets.Find(t, append(append([]string{"README.md"}, files...), more...)) {
		if snippets.UsesAny(sn, "chi", "middleware", "echo", "gin") {
			continue // the examples module, which depends on them, checks these
		}
		n++
		if err := c.Check(sn); err != nil {
			t.Errorf("%s:%d: the snippet does not compile: %v\n%s", sn.File, sn.Line, err, sn.Code)
		}
	}
	if n == 0 {
		t.Fatal("no snippets found")
	}
}

// docImports and docVars are what the snippets of the docs may use unqualified.
var (
	docImports = map[string]string{
		"context":      "context",
		"errors":       "errors",
		"fmt":          "fmt",
		"http":         "net/http",
		"httputil":     "net/http/httputil",
		"os":           "os",
		"slog":         "log/slog",
		"testing":      "testing",
		"time":         "time",
		"url":          "net/url",
		"sesame":       "github.com/sesame-go/sesame",
		"driver":       "github.com/sesame-go/sesame/driver",
		"memstore":     "github.com/sesame-go/sesame/memstore",
		"sqlitestore":  "github.com/sesame-go/sesame/sqlitestore",
		"pgstore":      "github.com/sesame-go/sesame/pgstore",
		"redisstore":   "github.com/sesame-go/sesame/redisstore",
		"cookiestore":  "github.com/sesame-go/sesame/cookiestore",
		"device":       "github.com/sesame-go/sesame/device",
		"sesametest":   "github.com/sesame-go/sesame/sesametest",
		"itsdangerous": "github.com/sesame-go/sesame/compat/itsdangerous",
		"redis":        "github.com/redis/go-redis/v9",
		"pgxpool":      "github.com/jackc/pgx/v5/pgxpool",
	}
	docVars = `var (
	ctx      context.Context
	w        http.ResponseWriter
	r        *http.Request
	mux      *http.ServeMux
	h        http.Handler
	s        *sesame.Session
	sessions *sesame.Manager
	user     string
	obs      sesame.Observer
	store    driver.Store
)`
)

// TestSecurityCitesRealTests checks that every test SECURITY.md names
// exists: a TestX is a test function of one of the repository's modules,
// and a Suite/X a subtest of the conformance suite (sesametest), so that
// CI runs each of them.
func TestSecurityCitesRealTests(t *testing.T) {
	doc, err := os.ReadFile("SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	var tests, suite strings.Builder
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		b, err := os.ReadFile(path)
		switch {
		case err != nil:
			return err
		case strings.HasSuffix(path, "_test.go"):
			tests.Write(b)
		case strings.HasPrefix(path, "sesametest"+string(filepath.Separator)):
			suite.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cited := regexp.MustCompile("`(Suite/)?(Test)?([A-Z][A-Za-z0-9]+)`").FindAllStringSubmatch(string(doc), -1)
	n := 0
	for _, m := range cited {
		switch {
		case m[1] != "":
			n++
			if !strings.Contains(suite.String(), `"`+m[3]+`"`) {
				t.Errorf("SECURITY.md cites %s: sesametest has no subtest %q", m[0], m[3])
			}
		case m[2] != "":
			n++
			if !strings.Contains(tests.String(), "func Test"+m[3]+"(t *testing.T)") {
				t.Errorf("SECURITY.md cites %s: no test function Test%s", m[0], m[3])
			}
		}
	}
	if n < 30 {
		t.Errorf("found %d tests cited in SECURITY.md; want at least 30 (is the format still `TestX` and `Suite/X`?)", n)
	}
}
