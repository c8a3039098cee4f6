// Package device names a session's device for people, from its User-Agent
// header: "Chrome 156 on Linux", "Safari on iPhone", "curl 8". Use it as
//
//	sesame.Config{DeviceLabel: device.Label}
//
// for a "your devices" page (sesame.Info.Label, from Manager.Sessions and
// Session.Info).
//
// # Labels
//
// A label is a browser or program, its major version, and the platform:
// the device for an iPhone or an iPad, else the operating system
// ("Windows", "macOS", "Linux", "ChromeOS", "Android", ...). Some parts are
// left out on purpose:
//
//   - The browser that comes with a phone or tablet has no version: "Safari
//     on iPhone", "Safari on iPad", "Samsung Internet on Android". People
//     know it by the device, and Safari's version is the system's. Other
//     browsers on the same devices keep theirs: "Chrome 140 on iPhone".
//   - A crawler has its name alone: "Googlebot", "Bingbot", "GPTBot",
//     "Headless Chrome".
//   - A program that is not a browser has its name and version, without a
//     platform, which it does not send: "curl 8", "python-requests 2".
//     Go's client is "Go-http-client": the number it sends is HTTP's.
//   - An Android phone's model is never named: browsers now send "K" in
//     its place.
//
// A label is at most 48 bytes of printable ASCII. Label returns "" for an
// empty User-Agent and for one it cannot read (a browser it does not know
// that names no product with a version, or junk), so that sesame falls back
// to its own label, the User-Agent cut short.
//
// Some devices cannot be told apart: Safari on an iPad asks for desktop
// sites by default and sends the User-Agent of Safari on a Mac, so it is
// labelled "Safari 18 on macOS"; Brave sends Chrome's. Label reads at most
// the first 512 bytes of its argument (sesame keeps 256).
//
// # The parser
//
// Label uses github.com/mileusna/useragent, because it names what a devices
// page shows (the iPhone and the iPad, crawlers, programs with their
// versions) and has no dependencies and no start-up cost. The comparison
// with the alternative is in docs/internals/device.md in the repository.
package device

import (
	"strconv"
	"strings"

	"github.com/mileusna/useragent"
)

const (
	// maxInput is how many bytes of a User-Agent Label reads: real ones
	// are shorter, and parsing costs time and memory in proportion.
	maxInput = 512
	// maxLen is the longest label: 24 bytes of name, a version of up to 6
	// digits and " on Windows Phone" make 48.
	maxLen = 48
	// maxName is the longest name of a program the parser does not know.
	maxName = 24
)

// browsers are the names the parser gives that Label shows, as it shows
// them.
var browsers = map[string]string{
	useragent.Chrome:           "Chrome",
	useragent.Firefox:          "Firefox",
	useragent.Safari:           "Safari",
	useragent.Edge:             "Edge",
	useragent.Opera:            "Opera",
	useragent.OperaMini:        "Opera Mini",
	useragent.OperaTouch:       "Opera Touch",
	useragent.Vivaldi:          "Vivaldi",
	useragent.InternetExplorer: "Internet Explorer",
	useragent.HeadlessChrome:   "Headless Chrome",
	useragent.SamsungBrowser:   "Samsung Internet",
	useragent.NetFront:         "NetFront",
	useragent.BlackBerry:       "BlackBerry",
	useragent.FacebookApp:      "Facebook",
	useragent.InstagramApp:     "Instagram",
	useragent.TiktokApp:        "TikTok",
	"Android browser":          "Android Browser",
	"Miui Browser":             "MIUI Browser",
	"Huawei Browser":           "Huawei Browser",
	"YaBrowser":                "Yandex Browser",
	"Trident":                  "Internet Explorer", // IE 11; its version is Trident's

	useragent.Googlebot:           "Googlebot",
	useragent.GoogleAdsBot:        "Google AdsBot",
	useragent.Bingbot:             "Bingbot",
	useragent.Applebot:            "Applebot",
	useragent.YandexBot:           "YandexBot",
	useragent.YandexAdNet:         "YandexAdNet",
	useragent.Twitterbot:          "Twitterbot",
	useragent.FacebookExternalHit: "facebookexternalhit",
	"Yahoo Ad monitoring":         "Yahoo Ad monitoring",
	"Bytespider":                  "Bytespider",
}

// crawlers are the names of browsers that are crawlers, which the parser
// does not always flag as bots.
var crawlers = map[string]bool{
	"Headless Chrome": true, "Googlebot": true, "Google AdsBot": true,
	"Bingbot": true, "Applebot": true, "YandexBot": true, "YandexAdNet": true,
	"Twitterbot": true, "facebookexternalhit": true,
	"Yahoo Ad monitoring": true, "Bytespider": true,
}

// platforms are the operating systems the parser gives that Label shows,
// as it shows them.
var platforms = map[string]string{
	useragent.Windows:      "Windows",
	useragent.MacOS:        "macOS",
	useragent.Linux:        "Linux",
	useragent.ChromeOS:     "ChromeOS",
	useragent.Android:      "Android",
	useragent.IOS:          "iOS",
	useragent.FreeBSD:      "FreeBSD",
	useragent.WindowsPhone: "Windows Phone",
	useragent.BlackBerry:   "BlackBerry",
	useragent.Harmony:      "HarmonyOS",
}

// Label returns a short name of the device that sent userAgent, for
// people: "Chrome 156 on Linux", "Safari on iPhone", "Googlebot", "curl 8"
// (see the package documentation). It returns "" for an empty or
// unreadable User-Agent. It is safe for concurrent use.
func Label(userAgent string) string {
	ua := userAgent
	if len(ua) > maxInput {
		ua = ua[:maxInput]
	}
	if strings.TrimSpace(ua) == "" {
		return ""
	}
	p := useragent.Parse(ua)
	platform := platformOf(p)

	name, known := browsers[p.Name]
	if !known {
		if p.Name == p.String { // the parser's "no idea": the whole input
			return ""
		}
		if p.Name != "" && (p.Name == p.Device || p.Name == p.OS) {
			return platform // an app's web view, naming only its device
		}
		name = product(p.Name)
		if name == "" || (p.VersionNo.Major <= 0 && !p.Bot) {
			return ""
		}
	}

	version := p.VersionNo.Major
	switch {
	case p.Bot || crawlers[name]:
		return name
	case name == "Go-http-client", p.Name == "Trident":
		version = 0 // what they send is not their version
	case name == "Safari" && (platform == "iPhone" || platform == "iPad"),
		name == "Samsung Internet":
		version = 0 // the device's own browser
	case name == "Safari" && !strings.Contains(ua, "Version/"):
		version = 0 // Safari/604.1 is WebKit's build
	case version > 999999:
		version = 0
	}

	var buf [maxLen]byte
	l := append(buf[:0], name...)
	if version > 0 {
		l = append(l, ' ')
		l = strconv.AppendInt(l, int64(version), 10)
	}
	if platform != "" && len(l)+len(" on ")+len(platform) <= maxLen {
		l = append(l, " on "...)
		l = append(l, platform...)
	}
	if len(l) > maxLen {
		return ""
	}
	return string(l)
}

// platformOf returns the device of an iPhone or iPad, else the operating
// system, or "".
func platformOf(p useragent.UserAgent) string {
	if p.Device == "iPhone" || p.Device == "iPad" {
		return p.Device
	}
	return platforms[p.OS]
}

// product returns the name of a program the parser does not know, or ""
// if it is not one. The parser joins bare words to the product that
// follows them ("Mobile DuckDuckGo" for "Mobile DuckDuckGo/5"); a product
// name is one token, so the last word is the name. It must be short and
// made of letters, digits and "-._", starting with a letter.
func product(name string) string {
	if i := strings.LastIndexByte(name, ' '); i >= 0 {
		name = name[i+1:]
	}
	if name == "" || len(name) > maxName || !isLetter(name[0]) {
		return ""
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isLetter(c) && !('0' <= c && c <= '9') && c != '-' && c != '.' && c != '_' {
			return ""
		}
	}
	return name
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
