package sesametest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sesame-go/sesame"
)

// Client is a browser stand-in: it sends requests through a Manager's
// middleware, in process, and keeps the session cookie as a browser would.
type Client struct {
	Test    testing.TB      // fails the test when a request does
	Manager *sesame.Manager // serves the requests
	Cookie  string          // the session cookie value, "" if none
	// UserAgent and RemoteAddr, if set, are sent with each request.
	UserAgent, RemoteAddr string
}

// NewClient returns a Client without a cookie.
func NewClient(t testing.TB, m *sesame.Manager) *Client { return &Client{Test: t, Manager: m} }

// Do runs h as a request's handler behind the middleware and returns the
// response. It stores or drops the session cookie as the response says.
func (c *Client) Do(h func(w http.ResponseWriter, r *http.Request)) *http.Response {
	req := httptest.NewRequest(http.MethodGet, "http://example.test/", nil)
	if c.Cookie != "" {
		req.Header.Set("Cookie", c.Manager.Name()+"="+c.Cookie) // raw, as a hostile client may send it
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	if c.RemoteAddr != "" {
		req.RemoteAddr = c.RemoteAddr
	}
	rec := httptest.NewRecorder()
	c.Manager.Handler(http.HandlerFunc(h)).ServeHTTP(rec, req)
	resp := rec.Result()
	for _, ck := range resp.Cookies() {
		if ck.Name != c.Manager.Name() {
			continue
		}
		if ck.MaxAge < 0 {
			c.Cookie = ""
		} else {
			c.Cookie = ck.Value
		}
	}
	return resp
}

// Session runs f with the request's session and fails the test if the
// response is not 200.
func (c *Client) Session(f func(s *sesame.Session)) *http.Response {
	c.Test.Helper()
	resp := c.Do(func(w http.ResponseWriter, r *http.Request) { f(sesame.FromContext(r.Context())) })
	if resp.StatusCode != http.StatusOK {
		c.Test.Fatalf("status %d, want 200", resp.StatusCode)
	}
	return resp
}

// Put stores key=v in the session.
func (c *Client) Put(key string, v any) *http.Response {
	c.Test.Helper()
	return c.Session(func(s *sesame.Session) {
		if err := s.Put(key, v); err != nil {
			c.Test.Errorf("Put(%q): %v", key, err)
		}
	})
}

// Has reports whether the session holds key.
func (c *Client) Has(key string) bool {
	c.Test.Helper()
	var ok bool
	c.Session(func(s *sesame.Session) { ok = s.Has(key) })
	return ok
}

// Login logs the session in as user, as a login handler does, and returns
// the session's new ID.
func (c *Client) Login(user string) string {
	c.Test.Helper()
	var id string
	c.Session(func(s *sesame.Session) {
		if err := s.Login(user); err != nil {
			c.Test.Fatal(err)
		}
		id = s.ID()
	})
	return id
}

// User returns the user the session is logged in as, or "" if none, in a
// request of its own.
func (c *Client) User() string {
	c.Test.Helper()
	var u string
	c.Session(func(s *sesame.Session) { u = s.User() })
	return u
}

// SetCookie returns the response's Set-Cookie line for the session cookie,
// or "".
func SetCookie(resp *http.Response, name string) string {
	for _, line := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=") {
			return line
		}
	}
	return ""
}
