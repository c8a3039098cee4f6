package device

import (
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// junk10K is 10 KB that no parser can read.
var junk10K = strings.Repeat("Mozilla/5.0 (X; Y) ", 540)[:10240]

// labels are real User-Agents, as current browsers and programs send them,
// and the label of each.
var labels = []struct {
	ua, want string
}{
	// Chrome on desktops: the reduced User-Agent, minor versions zeroed.
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36", "Chrome 156 on Linux"},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36", "Chrome 156 on Windows"},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36", "Chrome 156 on macOS"},
	{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36", "Chrome 156 on ChromeOS"},

	// Firefox on desktops.
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0", "Firefox 140 on Windows"},
	{"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0", "Firefox 140 on Linux"},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:140.0) Gecko/20100101 Firefox/140.0", "Firefox 140 on macOS"},

	// Safari: versioned on a Mac, named by the device on an iPhone or
	// iPad (iOS 26 sends Version/26.0 with an OS frozen at 18_6).
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15", "Safari 18 on macOS"},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Safari/605.1.15", "Safari 26 on macOS"},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1", "Safari on iPhone"},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Mobile/15E148 Safari/604.1", "Safari on iPhone"},
	{"Mozilla/5.0 (iPad; CPU OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1", "Safari on iPad"},

	// Other browsers on an iPhone or iPad keep their version.
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/140.0.7339.101 Mobile/15E148 Safari/604.1", "Chrome 140 on iPhone"},
	{"Mozilla/5.0 (iPad; CPU OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/140.0.7339.101 Mobile/15E148 Safari/604.1", "Chrome 140 on iPad"},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/140.0 Mobile/15E148 Safari/605.1.15", "Firefox 140 on iPhone"},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 EdgiOS/140.0.3485.94 Mobile/15E148 Safari/605.1.15", "Edge 140 on iPhone"},
	// An app's web view names only its device.
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", "iPhone"},

	// Edge and Opera, which also send Chrome's token.
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0", "Edge 130 on Windows"},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.2849.68", "Edge 130 on macOS"},
	{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36 EdgA/130.0.0.0", "Edge 130 on Android"},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36 OPR/124.0.0.0", "Opera 124 on Windows"},
	{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Mobile Safari/537.36 OPR/91.0.0.0", "Opera 91 on Android"},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36 Vivaldi/7.5.3735.64", "Vivaldi 7 on Windows"},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 YaBrowser/25.8.0.0 Safari/537.36", "Yandex Browser 25 on Windows"},

	// Android: Chrome's reduced User-Agent ("Android 10; K"), a real
	// model, a tablet (no "Mobile"), a web view, Samsung Internet (also
	// in its desktop mode, which claims Linux), Firefox, DuckDuckGo.
	{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0.0.0 Mobile Safari/537.36", "Chrome 150 on Android"},
	{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0.0.0 Safari/537.36", "Chrome 150 on Android"},
	{"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Mobile Safari/537.36", "Chrome 140 on Android"},
	{"Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240805.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/140.0.0.0 Mobile Safari/537.36", "Chrome 140 on Android"},
	{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/28.0 Chrome/130.0.0.0 Mobile Safari/537.36", "Samsung Internet on Android"},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/28.0 Chrome/130.0.0.0 Safari/537.36", "Samsung Internet on Android"},
	{"Mozilla/5.0 (Android 15; Mobile; rv:140.0) Gecko/140.0 Firefox/140.0", "Firefox 140 on Android"},
	{"Mozilla/5.0 (Android 15; Tablet; rv:140.0) Gecko/140.0 Firefox/140.0", "Firefox 140 on Android"},
	{"Mozilla/5.0 (Linux; Android 15) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Mobile DuckDuckGo/5 Safari/537.36", "DuckDuckGo 5 on Android"},

	// A desktop app built on Electron names itself.
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.45.64 Chrome/138.0.7204.100 Electron/37.2.0 Safari/537.36", "Slack 4 on macOS"},
	// Internet Explorer 11 sends Trident's version, not its own.
	{"Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko", "Internet Explorer on Windows"},

	// Programs: name and major version; Go's number is HTTP's.
	{"curl/8.5.0", "curl 8"},
	{"curl/7.81.0", "curl 7"},
	{"Go-http-client/1.1", "Go-http-client"},
	{"Go-http-client/2.0", "Go-http-client"},
	{"python-requests/2.32.3", "python-requests 2"},
	{"Wget/1.21.4", "Wget 1"},
	{"okhttp/4.12.0", "okhttp 4"},

	// Crawlers and headless browsers: the name alone.
	{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot"},
	{"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.7339.127 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot"},
	{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", "Bingbot"},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)", "Applebot"},
	{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)", "GPTBot"},
	{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)", "ClaudeBot"},
	{"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "facebookexternalhit"},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0.0.0 Safari/537.36", "Headless Chrome"},

	// Only the first 512 bytes are read; junk around a browser's tokens
	// is ignored.
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36 " + junk10K, "Chrome 156 on Linux"},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36 \xff\xfe", "Chrome 156 on Linux"},
	{"curl/8.5.0\x00", "curl 8"},
	// A version too large for an int is left out.
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99999999999999999999.0 Safari/537.36", "Chrome on Linux"},

	// Nothing to read: "" so that sesame uses its own label.
	{"", ""},
	{"   ", ""},
	{"Mozilla/5.0", ""},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64)", ""},
	{"hello world", ""},
	{"hello/world", ""},
	{"()/;;;", ""},
	{"\xff\xfe\xfd", ""},
	{"\xffbot\xfe/1.0", ""},
	{"Mozilla/5.0 (\xff\xfe; \xfd) \xc3(/\xa0", ""},
	{strings.Repeat("A", 10240), ""},
	{junk10K, ""},
	{"ThisProductNameIsFarTooLongToShow/1.0", ""},
}

func TestLabelNamesBrowserVersionAndPlatformOrNothing(t *testing.T) {
	for _, c := range labels {
		if got := Label(c.ua); got != c.want {
			t.Errorf("Label(%.120q) = %q, want %q", c.ua, got, c.want)
		}
	}
}

func TestLabelIsShortPrintableASCII(t *testing.T) {
	for _, c := range labels {
		checkLabel(t, c.ua, Label(c.ua))
	}
}

func TestLabelIsSafeForConcurrentUse(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				for _, c := range labels {
					if got := Label(c.ua); got != c.want {
						t.Errorf("concurrent Label(%.120q) = %q, want %q", c.ua, got, c.want)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func FuzzLabel(f *testing.F) {
	for _, c := range labels {
		f.Add(c.ua)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		l := Label(ua)
		checkLabel(t, ua, l)
		if again := Label(ua); again != l {
			t.Errorf("Label(%.120q) = %q, then %q", ua, l, again)
		}
	})
}

// checkLabel fails t unless l is a label of at most maxLen bytes of
// printable ASCII (hence valid UTF-8), without spaces at either end.
func checkLabel(t *testing.T, ua, l string) {
	t.Helper()
	if len(l) > maxLen {
		t.Errorf("Label(%.120q) = %q: %d bytes, over %d", ua, l, len(l), maxLen)
	}
	if !utf8.ValidString(l) {
		t.Errorf("Label(%.120q) = %q: invalid UTF-8", ua, l)
	}
	for i := 0; i < len(l); i++ {
		if l[i] < ' ' || l[i] > '~' {
			t.Errorf("Label(%.120q) = %q: byte %#x is not printable ASCII", ua, l, l[i])
			break
		}
	}
	if strings.TrimSpace(l) != l {
		t.Errorf("Label(%.120q) = %q: spaces at an end", ua, l)
	}
}

func BenchmarkLabel(b *testing.B) {
	for _, bc := range []struct{ name, ua string }{
		{"Chrome", labels[0].ua},
		{"SafariOnIPhone", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1"},
		{"curl", "curl/8.5.0"},
		{"Junk10K", junk10K},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Label(bc.ua)
			}
		})
	}
	b.Run("Parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				Label(labels[i%len(labels)].ua)
				i++
			}
		})
	})
}
