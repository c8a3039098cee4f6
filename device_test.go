package sesame

import "testing"

func TestTruncateIP(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.77":         "203.0.113.0/24",
		"::ffff:203.0.113.77":  "203.0.113.0/24",
		"2001:db8:1:2:3::9":    "2001:db8:1::/48",
		"fe80::1%eth0":         "fe80::/48",
		"":                     "",
		"not an address":       "",
		"203.0.113.77:8080":    "",
		"<script>1.2.3.4</sc>": "",
	} {
		if got := truncateIP(in); got != want {
			t.Errorf("truncateIP(%q) = %q, want %q", in, got, want)
		}
	}
}
