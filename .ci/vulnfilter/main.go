// Command vulnfilter reads govulncheck -format json on stdin and fails if
// the code calls a vulnerable function of a dependency. A called
// vulnerability of the standard library is reported without failing: it is
// fixed by the Go toolchain, which is the machine's, not the module's.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

type message struct {
	Finding *struct {
		OSV          string `json:"osv"`
		FixedVersion string `json:"fixed_version"`
		Trace        []struct {
			Module   string `json:"module"`
			Version  string `json:"version"`
			Function string `json:"function"`
		} `json:"trace"`
	} `json:"finding"`
}

func main() {
	dec := json.NewDecoder(os.Stdin)
	var deps, std []string
	for {
		var m message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			fmt.Fprintln(os.Stderr, "vulnfilter:", err)
			os.Exit(2)
		}
		f := m.Finding
		if f == nil || len(f.Trace) == 0 || f.Trace[0].Function == "" {
			continue // not reached from the code
		}
		line := fmt.Sprintf("%s in %s@%s (fixed in %s)", f.OSV, f.Trace[0].Module, f.Trace[0].Version, f.FixedVersion)
		if f.Trace[0].Module == "stdlib" {
			if !slices.Contains(std, line) {
				std = append(std, line)
			}
		} else if !slices.Contains(deps, line) {
			deps = append(deps, line)
		}
	}
	for _, l := range std {
		fmt.Println("toolchain (not fatal; needs a newer Go):", l)
	}
	for _, l := range deps {
		fmt.Println("DEPENDENCY:", l)
	}
	if len(deps) > 0 {
		os.Exit(1)
	}
	fmt.Printf("no reachable vulnerability in a dependency (%d in the standard library)\n", len(std))
}
