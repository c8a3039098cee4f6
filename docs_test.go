package sesame_test

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocSnippetsCompile type-checks every Go snippet of the README and
// docs/: a whole file as it is, top-level declarations in a file of their
// own, and statements as the body of a function that returns an error,
// beside the packages and variables (ctx, w, r, mux, s, user, ...) that the
// snippets assume. Unused variables and imports are allowed (a snippet
// shows a call, not a program); anything else that would not compile fails.
func TestDocSnippetsCompile(t *testing.T) {
	files, _ := filepath.Glob("docs/*.md")
	more, _ := filepath.Glob("docs/*/*.md")
	files = append(append([]string{"README.md"}, files...), more...)
	imports := map[string]string{ // name -> path, for the preamble
		"context":     "context",
		"errors":      "errors",
		"fmt":         "fmt",
		"http":        "net/http",
		"os":          "os",
		"slog":        "log/slog",
		"testing":     "testing",
		"time":        "time",
		"sesame":      "github.com/sesame-go/sesame",
		"driver":      "github.com/sesame-go/sesame/driver",
		"memstore":    "github.com/sesame-go/sesame/memstore",
		"sqlitestore": "github.com/sesame-go/sesame/sqlitestore",
		"pgstore":     "github.com/sesame-go/sesame/pgstore",
		"redisstore":  "github.com/sesame-go/sesame/redisstore",
		"cookiestore": "github.com/sesame-go/sesame/cookiestore",
		"device":      "github.com/sesame-go/sesame/device",
		"sesametest":  "github.com/sesame-go/sesame/sesametest",
		"redis":       "github.com/redis/go-redis/v9",
		"pgxpool":     "github.com/jackc/pgx/v5/pgxpool",
	}
	imp := exportImporter(t, imports)
	var preamble strings.Builder
	preamble.WriteString("package snippet\n\nimport (\n")
	for name, path := range imports {
		fmt.Fprintf(&preamble, "\t%s %q\n", name, path)
	}
	preamble.WriteString(")\n\nvar (\n\tctx context.Context\n\tw http.ResponseWriter\n\tr *http.Request\n\tmux *http.ServeMux\n" +
		"\th http.Handler\n\ts *sesame.Session\n\tuser string\n\tobs sesame.Observer\n\tstore driver.Store\n)\n\n")
	fence := regexp.MustCompile("(?s)```go\n(.*?)```")
	n := 0
	for _, name := range files {
		md, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range fence.FindAllSubmatchIndex(md, -1) {
			code := string(md[m[2]:m[3]])
			line := 1 + bytes.Count(md[:m[2]], []byte("\n"))
			var src string
			switch {
			case strings.HasPrefix(code, "package "):
				src = code
			case regexp.MustCompile(`(?m)^(func|type|var|const) `).MatchString(code):
				src = preamble.String() + code
			default:
				src = preamble.String() + "func _() error {\n" + code + "return nil\n}\n"
			}
			n++
			if err := typeCheck(src, imp); err != nil {
				t.Errorf("%s:%d: the snippet does not compile: %v\n%s", name, line, err, code)
			}
		}
	}
	if n == 0 {
		t.Fatal("no snippets found")
	}
}

// typeCheck type-checks one file, ignoring soft errors (unused variables
// and imports).
func typeCheck(src string, imp types.Importer) error {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "snippet.go", src, 0)
	if err != nil {
		return err
	}
	var first error
	conf := types.Config{Importer: imp, Error: func(err error) {
		if te, ok := err.(types.Error); ok && te.Soft {
			return
		}
		if first == nil {
			first = err
		}
	}}
	conf.Check("snippet", fset, []*ast.File{f}, nil)
	return first
}

// exportImporter returns an importer of the packages' export data, as the
// go command builds it (go list -export), with their dependencies.
func exportImporter(t *testing.T, imports map[string]string) types.Importer {
	t.Helper()
	args := []string{"list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}"}
	for _, path := range imports {
		args = append(args, path)
	}
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go list -export: %v", err)
	}
	export := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if path, file, ok := strings.Cut(l, "\t"); ok && file != "" {
			export[path] = file
		}
	}
	return importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		file, ok := export[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %q", path)
		}
		return os.Open(file)
	})
}
