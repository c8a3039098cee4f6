package sesame

import (
	"github.com/sesame-go/sesame/driver"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// This file is what a session records of its client (see Device): taken at
// creation and at each Login, never used to authenticate.

// maxIPLen bounds what Config.ClientIP may return: the longest address
// without a zone, an IPv4-mapped IPv6 one, takes 45 bytes; a zone of up to
// 18 bytes (an interface name) more is dropped, anything longer refused.
const maxIPLen = 64

// IPStorage says how much of the client address a session keeps.
type IPStorage uint8

const (
	// IPFull keeps the whole address, as Rails, Laravel and Better Auth
	// do: the most useful to a user reading their list of devices. It is
	// the default.
	IPFull IPStorage = iota
	// IPPrefix keeps the network: the /24 of an IPv4 address or the /48
	// of an IPv6 one, such as "203.0.113.0/24".
	IPPrefix
	// IPNone keeps no address.
	IPNone
)

// RemoteIP returns the host part of r.RemoteAddr: the default of
// Config.ClientIP. Behind a proxy it is the proxy's address; then set
// Config.ClientIP to read the header the proxy sets, and only a header a
// trusted proxy overwrites.
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// truncateIP returns the network of an address: its /24 for IPv4 (and
// IPv4-mapped IPv6) and its /48 for IPv6, as a prefix such as
// "203.0.113.0/24". It returns "" for anything that is not an address.
func truncateIP(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return ""
	}
	ip = ip.Unmap().WithZone("")
	bits := 48
	if ip.Is4() {
		bits = 24
	}
	p, _ := ip.Prefix(bits)
	return p.String()
}

// device returns the Device of the request's client, as cfg keeps it.
func (m *Manager) device(r *http.Request) Device {
	var d Device
	d.UserAgent = truncateUTF8(r.Header.Get("User-Agent"), driver.MaxUserAgentLen)
	if m.cfg.IPStorage == IPNone {
		return d
	}
	ip := m.cfg.ClientIP(r)
	switch a, err := netip.ParseAddr(ip); {
	case len(ip) > maxIPLen || err != nil:
		ip = "" // never a header's junk
	case !a.Is4(): // IPv4 parses only in its canonical form
		// A zone is any text at all, and names only the receiver's own
		// interface: it is dropped.
		ip = a.Unmap().WithZone("").String()
	}
	if m.cfg.IPStorage == IPPrefix {
		ip = truncateIP(ip)
	}
	d.IP = ip
	return d
}

// label returns the Label of a device.
func (m *Manager) label(d Device) string {
	if m.cfg.DeviceLabel != nil {
		if l := m.cfg.DeviceLabel(d.UserAgent); l != "" {
			return l
		}
	}
	return defaultLabel(d.UserAgent)
}

// defaultLabel is the label of a device without Config.DeviceLabel: the
// User-Agent cut short, which tells two browsers apart but reads badly; set
// Config.DeviceLabel to device.Label for "Chrome 156 on Linux".
func defaultLabel(ua string) string {
	if ua == "" {
		return "Unknown device"
	}
	if len(ua) > 48 {
		return truncateUTF8(ua, 47) + "…"
	}
	return ua
}

// truncateUTF8 returns at most n bytes of s, cut at a rune boundary, with
// invalid UTF-8 replaced and NUL bytes dropped, so that every store keeps it
// byte for byte.
func truncateUTF8(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.ReplaceAll(s, "\x00", "") // PostgreSQL's text rejects NUL
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
