// Package snippets type-checks the Go snippets of Markdown files, so that
// every snippet of the README and docs/ compiles: the root module checks
// those that use only its own packages, and the examples module those that
// use a web framework.
package snippets

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
	"regexp"
	"strings"
	"testing"
)

// Snippet is one Go code block of a Markdown file.
type Snippet struct {
	File string // the Markdown file
	Line int    // where the code starts
	Code string
}

// Find returns the Go code blocks (fenced as go) of the files.
func Find(t testing.TB, files []string) []Snippet {
	t.Helper()
	var list []Snippet
	for _, name := range files {
		md, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range fence.FindAllSubmatchIndex(md, -1) {
			list = append(list, Snippet{name, 1 + bytes.Count(md[:m[2]], []byte("\n")), string(md[m[2]:m[3]])})
		}
	}
	return list
}

var (
	fence = regexp.MustCompile("(?s)```go\n(.*?)```")
	decls = regexp.MustCompile(`(?m)^(func|type|var|const) `)
)

// Checker type-checks snippets beside a preamble: imports (name to path)
// and package-level declarations (vars the snippets assume).
type Checker struct {
	imports  map[string]string
	preamble string
	imp      types.Importer
}

// New returns a Checker with the given imports and declarations, loading
// the packages' export data with the go command of the current module.
func New(t testing.TB, imports map[string]string, decls string) *Checker {
	t.Helper()
	var b strings.Builder
	b.WriteString("package snippet\n\nimport (\n")
	for name, path := range imports {
		fmt.Fprintf(&b, "\t%s %q\n", name, path)
	}
	b.WriteString(")\n\n" + decls + "\n")
	return &Checker{imports, b.String(), exportImporter(t, imports)}
}

// Check type-checks sn: a whole file as it is, top-level declarations in a
// file of their own, and statements as the body of a function that
// returns an error, after the preamble. Unused variables and imports are
// allowed (a snippet shows a call, not a program); any other error is
// returned.
func (c *Checker) Check(sn Snippet) error {
	var src string
	switch {
	case strings.HasPrefix(sn.Code, "package "):
		src = sn.Code
	case decls.MatchString(sn.Code):
		src = c.preamble + sn.Code
	default:
		src = c.preamble + "func _() error {\n" + sn.Code + "return nil\n}\n"
	}
	return typeCheck(src, c.imp)
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
func exportImporter(t testing.TB, imports map[string]string) types.Importer {
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

// UsesAny reports whether sn names one of the packages (as "name.").
func UsesAny(sn Snippet, names ...string) bool {
	for _, n := range names {
		if regexp.MustCompile(`\b` + n + `\.`).MatchString(sn.Code) {
			return true
		}
	}
	return false
}
