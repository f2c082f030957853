package initrd

import (
	"errors"
	"strconv"
	"strings"
)

// validDNSURI checks NetworkManager's DNS server syntax: an address with an
// optional "#servername", or dns+udp://addr[:port], or
// dns+tls://addr[:port][#servername], IPv6 in brackets when a port follows.
func validDNSURI(s string) error {
	scheme, rest, hasScheme := strings.Cut(s, "://")
	if !hasScheme {
		addr, _, _ := strings.Cut(s, "#")
		if _, ok := parseAddr(addr); !ok {
			return errors.New("not a valid IP address")
		}
		return nil
	}
	var sni string
	switch scheme {
	case "dns+udp":
		if strings.Contains(rest, "#") {
			return errors.New("a server name is only allowed with dns+tls")
		}
	case "dns+tls":
		rest, sni, _ = strings.Cut(rest, "#")
		if strings.ContainsAny(sni, "/ ") {
			return errors.New("invalid server name")
		}
	default:
		return errors.New("unsupported scheme")
	}
	host, port := rest, ""
	if strings.HasPrefix(rest, "[") {
		i := strings.IndexByte(rest, ']')
		if i < 0 {
			return errors.New("unterminated '['")
		}
		host, port = rest[1:i], rest[i+1:]
		if a, ok := parseAddr(host); !ok || !a.Is6() {
			return errors.New("not a valid IPv6 address")
		}
	} else if i := strings.LastIndexByte(rest, ':'); i >= 0 && strings.Count(rest, ":") == 1 {
		host, port = rest[:i], rest[i:]
	}
	if _, ok := parseAddr(host); !ok {
		return errors.New("not a valid IP address")
	}
	if port != "" {
		n, err := strconv.ParseUint(strings.TrimPrefix(port, ":"), 10, 16)
		if err != nil || !strings.HasPrefix(port, ":") || n == 0 {
			return errors.New("invalid port")
		}
	}
	return nil
}
