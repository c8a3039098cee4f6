// Command chart draws the chart of BENCHMARKS.md from a saved run of the
// side-by-side benchmarks: for each scenario and backend, Sesame's time per
// request as a fraction of its anchor's (scs, or gorilla for cookies), the
// medians of the runs. Run it from the bench directory:
//
//	go run ./ratios -out results.txt
//	go run ./chart -in results.txt -out ../docs/benchmarks.png
package main

import (
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/sesame-go/sesame/bench/internal/results"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
}

// The bars: scenarios along the axis, one bar per backend, each against
// its anchor.
var (
	scenarios = []string{"Read", "Create", "Update"}
	backends  = []struct{ name, anchor, label string }{
		{"memory", "scs", "memory (vs scs memstore)"},
		{"cookie", "gorilla", "cookie (vs gorilla, AES)"},
		{"redis", "scs", "Redis (vs scs goredisstore)"},
	}
	colors = []color.Color{
		color.RGBA{R: 0x4c, G: 0x72, B: 0xb0, A: 0xff},
		color.RGBA{R: 0xdd, G: 0x84, B: 0x52, A: 0xff},
		color.RGBA{R: 0x55, G: 0xa8, B: 0x68, A: 0xff},
	}
)

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("chart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "results.txt", "go test -bench output of the bench module (go run ./ratios -out)")
	out := fs.String("out", "benchmarks.png", "the PNG file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	raw, err := os.ReadFile(*in)
	if err != nil {
		return err
	}
	res, _, err := results.Parse(raw)
	if err != nil {
		return err
	}
	p, err := draw(res)
	if err != nil {
		return err
	}
	return p.Save(8*vg.Inch, 4*vg.Inch, *out)
}

// draw returns the chart of the ratios in res. It fails if any bar is
// missing, so that a chart never silently leaves one out.
func draw(res map[string]results.Result) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Sesame's time per request, as a fraction of its anchor's (lower is better)"
	p.Y.Label.Text = "Sesame / anchor (ns/op)"
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true
	width := vg.Points(22)
	for i, b := range backends {
		vals := make(plotter.Values, len(scenarios))
		for j, sc := range scenarios {
			s, ok1 := res[sc+"/"+b.name+"/sesame"]
			a, ok2 := res[sc+"/"+b.name+"/"+b.anchor]
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("no results for %s/%s of Sesame and %s", sc, b.name, b.anchor)
			}
			sNs, _ := s.Median("ns/op")
			aNs, _ := a.Median("ns/op")
			if aNs == 0 {
				return nil, errors.New("an anchor's time is zero")
			}
			vals[j] = sNs / aNs
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, err
		}
		bars.Color = colors[i]
		bars.LineStyle.Width = 0
		bars.Offset = width * vg.Length(i-1)
		p.Add(bars)
		p.Legend.Add(b.label, bars)
	}
	parity := plotter.NewFunction(func(float64) float64 { return 1 })
	parity.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	parity.Color = color.Gray{Y: 0x60}
	p.Add(parity)
	p.Legend.Add("parity with the anchor", parity)
	p.NominalX("read", "create (new visitor)", "update (counter)")
	p.Y.Max = max(p.Y.Max, 1.2)
	return p, nil
}
