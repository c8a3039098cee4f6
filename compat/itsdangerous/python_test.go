package itsdangerous

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sesame-go/sesame/internal/testenv"
)

// python is Debian's interpreter, where apt installs python3-flask and
// python3-starlette (.ci/services.sh), not the first python3 on PATH.
const python = "/usr/bin/python3"

// needPython skips the test, or fails it in CI, unless python can import
// modules.
func needPython(t *testing.T, modules ...string) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		testenv.Unavailable(t, python, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", "import "+strings.Join(modules, ", ")).CombinedOutput()
	if err != nil {
		testenv.Unavailable(t, python+" with "+strings.Join(modules, ", ")+" (apt-get install python3-flask python3-starlette python3-uvicorn)",
			errString(strings.TrimSpace(string(out))))
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// runPython runs a script of testdata and returns its stdout.
func runPython(t *testing.T, script string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "testdata/"+script)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	return out
}

// serve starts a testdata app with SECRET=secret and returns its base URL.
// The app is killed at cleanup.
func serve(t *testing.T, script, secret string) string {
	t.Helper()
	cmd := exec.Command(python, "testdata/"+script)
	cmd.Env = append(os.Environ(), "SECRET="+secret, "PYTHONDONTWRITEBYTECODE=1")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	port := make(chan string, 1)
	go func() {
		defer close(done)
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		port <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
	}()
	var p string
	select {
	case p = <-port:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no port after 30s", script)
	}
	if p == "" {
		t.Fatalf("%s exited without printing its port", script)
	}
	base := "http://127.0.0.1:" + p
	// uvicorn prints nothing when it is ready: wait until it answers.
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(base + "/echo")
		if err == nil {
			resp.Body.Close()
			return base
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer on %s: %v", script, base, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var client = &http.Client{Timeout: 10 * time.Second}

// get requests base+path with the session cookie value, if any, and
// returns the body and the session cookie the response sets ("" if none).
func get(t *testing.T, url, cookie string) (body []byte, setCookie string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", "session="+cookie)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v: %s", url, resp.StatusCode, err, body)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "session" {
			setCookie = c.Value
		}
	}
	return body, setCookie
}

func jsonValue(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}
