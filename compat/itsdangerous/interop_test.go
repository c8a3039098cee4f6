package itsdangerous

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/memstore"
	"github.com/sesame-go/sesame/sesametest"
)

const pySecret = "s3cr\u00e9t"

// TestPythonVectors checks that Go signs byte for byte as itsdangerous,
// Flask and Starlette do (testdata/vectors.py), and reads what they sign.
func TestPythonVectors(t *testing.T) {
	needPython(t, "itsdangerous", "flask")
	var want map[string]string
	if err := json.Unmarshal(runPython(t, "vectors.py"), &want); err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1700000000, 0)
	o := func(kd KeyDerivation, d string) Options {
		return Options{Salt: "salty", KeyDerivation: kd, Digest: digests[d], Now: func() time.Time { return at }}
	}
	got := map[string]string{}
	for _, kd := range []KeyDerivation{DjangoConcat, HMAC, Concat, None} {
		for _, d := range []string{"sha1", "sha256"} {
			got["signer/"+string(kd)+"/"+d] = string(NewSigner(pySecret, o(kd, d)).Sign([]byte("hello world")))
			got["timestamp/"+string(kd)+"/"+d] = string(NewTimestampSigner(pySecret, o(kd, d)).Sign([]byte("hello world")))
		}
	}
	fixed := Options{Now: func() time.Time { return at }}
	ser := NewURLSafeTimedSerializer(pySecret, fixed)
	got["serializer/small"], _ = ser.Dumps(map[string]any{"a": []int{1, 2}, "u": "\u00e9"})
	got["serializer/big"], _ = ser.Dumps(map[string]any{"pad": strings.Repeat("z", 300)})
	flask := FlaskWith(pySecret, fixed)
	got["flask"], _ = flask.Encode(map[string]any{
		"user": "alice", "n": 42, "text": "h\u00e9 <&>", "raw": []byte{0, 1}, "k": map[string]any{" t": 1}})
	st := Starlette(pySecret)
	st.s = NewTimestampSigner(pySecret, fixed)
	got["starlette"], _ = st.Encode(map[string]any{"user": "bob", "n": []any{1, 2.5}, "text": "\u00fc <&>"})

	for name, w := range want {
		g := got[name]
		if g == w {
			continue
		}
		if strings.HasPrefix(w, ".") {
			// Go's deflate is not zlib's (see zlibLevel): compare the JSON.
			gp, _, gerr := ser.UnsignPayload(g, 0)
			wp, _, werr := ser.UnsignPayload(w, 0)
			if name == "flask" {
				gp, _, gerr = flask.s.UnsignPayload(g, 0)
				wp, _, werr = flask.s.UnsignPayload(w, 0)
			}
			if gerr != nil || werr != nil || string(gp) != string(wp) {
				t.Errorf("%s: JSON\n Go     %s (%v)\n Python %s (%v)", name, gp, gerr, wp, werr)
			}
			continue
		}
		t.Errorf("%s:\n Go     %s\n Python %s", name, g, w)
	}

	// Go reads every Python token.
	s1 := NewTimestampSigner(pySecret, o(DjangoConcat, "sha1"))
	if v, issued, err := s1.Unsign([]byte(want["timestamp/django-concat/sha1"]), time.Hour); err != nil || string(v) != "hello world" || !issued.Equal(at) {
		t.Errorf("Unsign = %q, %v, %v", v, issued, err)
	}
	for _, name := range []string{"serializer/small", "serializer/big"} {
		var v map[string]any
		if _, err := ser.Loads(want[name], time.Hour, &v); err != nil {
			t.Errorf("Loads(%s): %v", name, err)
		}
	}
	f, _, err := FlaskWith(pySecret, fixed).Decode(want["flask"])
	if err != nil || !reflect.DeepEqual(f["raw"], []byte{0, 1}) || f["user"] != "alice" || !reflect.DeepEqual(f["k"], map[string]any{" t": json.Number("1")}) {
		t.Errorf("Flask Decode = %#v, %v", f, err)
	}
	s, _, err := st.Decode(want["starlette"])
	if err != nil || s["user"] != "bob" || s["text"] != "\u00fc <&>" {
		t.Errorf("Starlette Decode = %#v, %v", s, err)
	}
}

// TestFlaskInterop runs a real Flask app: Go reads and migrates its
// cookies, and Flask reads Go's.
func TestFlaskInterop(t *testing.T) {
	needPython(t, "flask")
	const secret = "flask-secret"
	base := serve(t, "flask_app.py", secret)
	codec := Flask(secret)

	t.Run("go reads flask", func(t *testing.T) {
		for _, path := range []string{"/login", "/login?pad=1"} {
			_, cookie := get(t, base+path, "")
			if cookie == "" {
				t.Fatalf("%s set no session cookie", path)
			}
			if compressed := strings.HasPrefix(cookie, "."); !compressed && strings.Contains(path, "pad") {
				t.Errorf("%s: cookie %q compressed = %v", path, cookie, compressed)
			}
			vals, issued, err := codec.Decode(cookie)
			if err != nil {
				t.Fatalf("Decode(%q): %v", cookie, err)
			}
			if d := time.Since(issued); d < -2*time.Second || d > time.Minute {
				t.Errorf("issued %v", issued)
			}
			want := map[string]any{
				"user":   "alice",
				"n":      json.Number("42"),
				"big":    json.Number("1152921504606846976"),
				"tuple":  []any{json.Number("1"), "two"},
				"raw":    []byte{0, 0xff, 'h', 'i'},
				"when":   time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
				"id":     "12345678-1234-5678-1234-567812345678",
				"tricky": map[string]any{" t": "not a tuple"},
				"markup": "<b>x</b>",
				"text":   "h\u00e9llo <&> \u2028 \U0001F600",
			}
			if path != "/login" {
				want["pad"] = strings.Repeat("x", 2000)
			}
			if !reflect.DeepEqual(vals, want) {
				t.Errorf("Decode:\n got  %#v\n want %#v", vals, want)
			}
		}
	})

	t.Run("migration adopts flask cookie", func(t *testing.T) {
		_, cookie := get(t, base+"/login", "")
		m := sesame.New(sesame.Config{Store: memstore.New(memstore.Options{}), Insecure: true})
		c := sesametest.NewClient(t, m)
		c.Cookie = cookie // Flask's and Sesame's cookie are both "session"
		mw := Migrate(m, codec, MigrateOptions{})
		var user string
		var n int
		resp := c.Do(func(w http.ResponseWriter, r *http.Request) {
			mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := sesame.FromContext(r.Context())
				user = s.User()
				n, _ = sesame.Get[int](s, "n")
			})).ServeHTTP(w, r)
		})
		if user != "alice" || n != 42 {
			t.Fatalf("migrated user %q, n %d; want alice, 42", user, n)
		}
		if c.Cookie == "" || c.Cookie == cookie {
			t.Fatalf("Sesame did not replace the Flask cookie: %v", resp.Header["Set-Cookie"])
		}
		c.Session(func(s *sesame.Session) {
			raw, err := sesame.Lookup[[]byte](s, "raw")
			if s.User() != "alice" || err != nil || string(raw) != "\x00\xffhi" {
				t.Errorf("next request: user %q, raw %q, %v", s.User(), raw, err)
			}
		})
	})

	t.Run("flask reads go", func(t *testing.T) {
		cookie, err := codec.Encode(map[string]any{
			"user":   "carol",
			"n":      5,
			"raw":    []byte("ab"),
			"when":   time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
			"tricky": map[string]any{" t": "x"},
			"list":   []any{1, "a", nil, true},
			"text":   "\u00e9 <&> \U0001F600",
			"pad":    strings.Repeat("y", 2000),
		})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(cookie, ".") {
			t.Errorf("cookie %q is not compressed", cookie)
		}
		body, _ := get(t, base+"/echo", cookie)
		want := map[string]any{
			"user":   "carol",
			"n":      5.0,
			"raw":    map[string]any{"bytes": "6162"},
			"when":   map[string]any{"datetime": "2025-01-02T03:04:05+00:00"},
			"tricky": map[string]any{" t": "x"},
			"list":   []any{1.0, "a", nil, true},
			"text":   "\u00e9 <&> \U0001F600",
			"pad":    strings.Repeat("y", 2000),
		}
		if got := jsonValue(t, body); !reflect.DeepEqual(got, want) {
			t.Errorf("Flask echoed\n %#v\nwant\n %#v", got, want)
		}
		// A cookie signed with another secret is refused: Flask starts an
		// empty session.
		bad, _ := Flask("other secret").Encode(map[string]any{"user": "mallory"})
		if body, _ := get(t, base+"/echo", bad); string(body) != "{}" {
			t.Errorf("Flask accepted a cookie with the wrong secret: %s", body)
		}
	})
}

// TestStarletteInterop runs a real Starlette app (with uvicorn if
// installed): Go reads and migrates its cookies, and Starlette reads Go's.
func TestStarletteInterop(t *testing.T) {
	needPython(t, "starlette", "itsdangerous")
	const secret = "starlette-secret"
	base := serve(t, "starlette_app.py", secret)
	codec := Starlette(secret)
	want := map[string]any{
		"user":   "bob",
		"n":      json.Number("7"),
		"list":   []any{json.Number("1"), "x", nil, true},
		"text":   "\u00fcn\u00ef <&> \U0001F600",
		"nested": map[string]any{"a": map[string]any{"b": json.Number("1.5")}},
	}

	t.Run("go reads starlette", func(t *testing.T) {
		_, cookie := get(t, base+"/login", "")
		vals, issued, err := codec.Decode(cookie)
		if err != nil {
			t.Fatalf("Decode(%q): %v", cookie, err)
		}
		if d := time.Since(issued); d < -2*time.Second || d > time.Minute {
			t.Errorf("issued %v", issued)
		}
		if !reflect.DeepEqual(vals, want) {
			t.Errorf("Decode:\n got  %#v\n want %#v", vals, want)
		}
	})

	t.Run("migration adopts starlette cookie", func(t *testing.T) {
		_, cookie := get(t, base+"/login", "")
		m := sesame.New(sesame.Config{Store: memstore.New(memstore.Options{}), Insecure: true})
		c := sesametest.NewClient(t, m)
		c.Cookie = cookie
		mw := Migrate(m, codec, MigrateOptions{})
		c.Do(func(w http.ResponseWriter, r *http.Request) {
			mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(w, r)
		})
		if c.Cookie == "" || c.Cookie == cookie {
			t.Fatal("Sesame did not replace the Starlette cookie")
		}
		c.Session(func(s *sesame.Session) {
			nested, err := sesame.Lookup[map[string]map[string]float64](s, "nested")
			if s.User() != "bob" || err != nil || nested["a"]["b"] != 1.5 {
				t.Errorf("user %q, nested %v, %v", s.User(), nested, err)
			}
		})
	})

	t.Run("starlette reads go", func(t *testing.T) {
		in := map[string]any{"user": "dave", "n": 3, "text": "\u00e9 <&> \U0001F600", "list": []any{1.5, nil}}
		cookie, err := codec.Encode(in)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := get(t, base+"/echo", cookie)
		want := map[string]any{"user": "dave", "n": 3.0, "text": "\u00e9 <&> \U0001F600", "list": []any{1.5, nil}}
		if got := jsonValue(t, body); !reflect.DeepEqual(got, want) {
			t.Errorf("Starlette echoed %#v, want %#v", got, want)
		}
		bad, _ := Starlette("other").Encode(in)
		if body, _ := get(t, base+"/echo", bad); string(body) != "{}" {
			t.Errorf("Starlette accepted a cookie with the wrong secret: %s", body)
		}
	})
}
