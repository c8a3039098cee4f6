package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-go/sesame/bench/internal/results"
)

func TestChart(t *testing.T) {
	var in strings.Builder
	for _, sc := range scenarios {
		for _, b := range backends {
			fmt.Fprintf(&in, "Benchmark%s/%s/sesame-2\t100\t500 ns/op\n", sc, b.name)
			fmt.Fprintf(&in, "Benchmark%s/%s/%s-2\t100\t1000 ns/op\n", sc, b.name, b.anchor)
		}
	}
	dir := t.TempDir()
	src, png := filepath.Join(dir, "results.txt"), filepath.Join(dir, "chart.png")
	if err := os.WriteFile(src, []byte(in.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-in", src, "-out", png}, os.Stderr); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(png)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "\x89PNG") || len(b) < 5000 {
		t.Errorf("wrote %d bytes that are not a PNG chart", len(b))
	}
}

func TestChartNeedsEveryBar(t *testing.T) {
	res, _, err := results.Parse([]byte("BenchmarkRead/memory/sesame-2\t100\t500 ns/op\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := draw(res); err == nil || !strings.Contains(err.Error(), "Read/memory") {
		t.Errorf("draw without the anchor's results: %v, want an error naming Read/memory", err)
	}
}
