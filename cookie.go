package sesame

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxCookieSize is the largest Set-Cookie value browsers are sure to keep.
const maxCookieSize = 4096

// cookieWriter formats the session's Set-Cookie lines exactly as
// http.Cookie.String does, from parts computed once in New: the fixed
// attributes never change, and the value is a token or a Sealer's output,
// checked with one pass over its bytes.
type cookieWriter struct {
	name   string
	prefix string // "name="
	path   string // "; Path=/" and "; Domain=..." as configured
	flags  string // "; HttpOnly; Secure; SameSite=Lax; Partitioned" as configured
}

func newCookieWriter(c http.Cookie) cookieWriter {
	c.Value = "v"
	base := (&http.Cookie{Name: c.Name, Value: c.Value, Path: c.Path, Domain: c.Domain}).String()
	full := c.String()
	return cookieWriter{
		name:   c.Name,
		prefix: c.Name + "=",
		path:   base[len(c.Name)+2:],
		flags:  full[len(base):],
	}
}

// line returns the Set-Cookie line for value. A zero until gives a
// session-only cookie; a negative maxAge deletes the cookie.
func (cw *cookieWriter) line(value string, until time.Time, maxAge int) string {
	var b strings.Builder
	b.Grow(len(cw.prefix) + len(value) + len(cw.path) + len(cw.flags) + 64)
	b.WriteString(cw.prefix)
	b.WriteString(value)
	b.WriteString(cw.path)
	if !until.IsZero() {
		b.WriteString("; Expires=")
		var buf [len(http.TimeFormat)]byte
		b.Write(until.UTC().AppendFormat(buf[:0], http.TimeFormat))
	}
	switch {
	case maxAge > 0:
		b.WriteString("; Max-Age=")
		var buf [20]byte
		b.Write(strconv.AppendInt(buf[:0], int64(maxAge), 10))
	case maxAge < 0:
		b.WriteString("; Max-Age=0")
	}
	b.WriteString(cw.flags)
	return b.String()
}

// validCookieValue reports whether v can be sent as a cookie value as it
// is: RFC 6265 cookie-octets, without quoting.
func validCookieValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return false
		}
	}
	return true
}

// readCookie returns the value of the first cookie called name in the
// Cookie headers of h. Unlike http.Request.Cookie it parses only what it
// needs and allocates nothing.
func readCookie(h http.Header, name string) (string, bool) {
	for _, line := range h["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || k != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v, true
		}
	}
	return "", false
}
