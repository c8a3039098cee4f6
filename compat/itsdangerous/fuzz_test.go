package itsdangerous

import (
	"errors"
	"strings"
	"testing"
)

// FuzzDecode feeds the decoders arbitrary cookies, signed and not: they
// must return a session or an "itsdangerous:" error wrapping a sentinel,
// and never panic.
func FuzzDecode(f *testing.F) {
	flask, starlette := Flask("k"), Starlette("k")
	for _, s := range []string{"", ".", "..", "a.b.c", `{"a":1}`, `{"x":{" t":[{" di":{" b__":{" b":"AA=="}}}]}}`, `{" d":"x"}`, "eyJhIjoxfQ"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Add(".eJyrVipITFGyUqoaBUQDpVoA-AOR6A.ZVPxAA.YSEeMZLoUaTDGvWFIbRETnEhbkA", false)
	f.Fuzz(func(t *testing.T, in string, sign bool) {
		for _, c := range []Codec{flask, starlette} {
			cookie := in
			if sign { // reach the payload decoders
				switch c := c.(type) {
				case *FlaskCodec:
					cookie = c.s.SignPayload([]byte(in))
					if strings.HasPrefix(in, ".") {
						cookie = string(c.s.signer.Sign([]byte(in)))
					}
				case *StarletteCodec:
					cookie = string(c.s.Sign([]byte(in)))
				}
			}
			m, _, err := c.Decode(cookie)
			if err != nil {
				if !strings.HasPrefix(err.Error(), "itsdangerous: ") ||
					!(errors.Is(err, ErrBadSignature) || errors.Is(err, ErrExpired) || errors.Is(err, ErrBadPayload)) {
					t.Fatalf("Decode(%q): untyped error %v", cookie, err)
				}
				continue
			}
			if m == nil {
				t.Fatalf("Decode(%q): nil session without error", cookie)
			}
			if _, err := c.Encode(m); err != nil {
				t.Fatalf("Encode(Decode(%q)): %v", cookie, err)
			}
		}
	})
}
