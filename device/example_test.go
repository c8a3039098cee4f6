package device_test

import (
	"fmt"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/device"
)

func ExampleLabel() {
	for _, ua := range []string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0",
		"curl/8.5.0",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"junk", // "": sesame falls back to its own label
	} {
		fmt.Printf("%q\n", device.Label(ua))
	}
	// Output:
	// "Chrome 156 on Linux"
	// "Safari on iPhone"
	// "Firefox 140 on Windows"
	// "curl 8"
	// "Googlebot"
	// ""
}

// With Config.DeviceLabel set to Label, sesame labels each session's
// device with it, for a page that lists a user's sessions
// (Manager.Sessions and Session.Info fill Info.Label).
func ExampleLabel_config() {
	cfg := sesame.Config{DeviceLabel: device.Label}
	fmt.Println(cfg.DeviceLabel("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15"))
	// Output: Safari 18 on macOS
}
