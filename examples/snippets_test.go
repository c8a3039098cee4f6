package examples_test

import (
	"path/filepath"
	"testing"

	"github.com/sesame-go/sesame/internal/snippets"
)

// TestDocSnippetsWithFrameworksCompile type-checks the snippets of the
// README and docs/ that use a web framework (the root module checks the
// others).
func TestDocSnippetsWithFrameworksCompile(t *testing.T) {
	files, _ := filepath.Glob("../docs/*.md")
	more, _ := filepath.Glob("../docs/*/*.md")
	c := snippets.New(t, map[string]string{
		"fmt":        "fmt",
		"http":       "net/http",
		"time":       "time",
		"sesame":     "github.com/sesame-go/sesame",
		"chi":        "github.com/go-chi/chi/v5",
		"middleware": "github.com/go-chi/chi/v5/middleware",
	}, "var sessions *sesame.Manager\n")
	n := 0
	for _, sn := range snippets.Find(t, append(append([]string{"../README.md"}, files...), more...)) {
		if !snippets.UsesAny(sn, "chi", "middleware") {
			continue
		}
		n++
		if err := c.Check(sn); err != nil {
			t.Errorf("%s:%d: the snippet does not compile: %v\n%s", sn.File, sn.Line, err, sn.Code)
		}
	}
	if n == 0 {
		t.Fatal("no snippet with a framework found")
	}
}
