package sesame_test

import (
	"path/filepath"
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
