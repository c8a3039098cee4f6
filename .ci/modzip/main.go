// Command modzip writes the zip of a module version, as a module proxy
// serves it, from the files named on standard input (NUL-separated, as git
// ls-files -z prints them): each under module@version/, except those of
// nested modules (directories with a go.mod of their own). Usage:
// modzip MODULE@VERSION OUT.zip
package main

import (
	"archive/zip"
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "modzip:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: modzip MODULE@VERSION OUT.zip")
	}
	b, err := io.ReadAll(bufio.NewReader(stdin))
	if err != nil {
		return err
	}
	files := strings.FieldsFunc(string(b), func(r rune) bool { return r == 0 })
	var nested []string
	for _, f := range files {
		if d := path.Dir(f); path.Base(f) == "go.mod" && d != "." {
			nested = append(nested, d+"/")
		}
	}
	out, err := os.Create(args[1])
	if err != nil {
		return err
	}
	z := zip.NewWriter(out)
	for _, f := range files {
		if inNested(f, nested) {
			continue
		}
		if st, err := os.Lstat(f); err != nil || !st.Mode().IsRegular() {
			continue
		}
		if err := add(z, args[0]+"/"+f, f); err != nil {
			return err
		}
	}
	if err := z.Close(); err != nil {
		return err
	}
	return out.Close()
}

func inNested(f string, nested []string) bool {
	for _, n := range nested {
		if strings.HasPrefix(f, n) {
			return true
		}
	}
	return false
}

func add(z *zip.Writer, name, file string) error {
	w, err := z.Create(name)
	if err != nil {
		return err
	}
	in, err := os.Open(file)
	if err != nil {
		return err
	}
	defer in.Close()
	_, err = io.Copy(w, in)
	return err
}
