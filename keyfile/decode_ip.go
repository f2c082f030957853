package keyfile

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/earlynet/earlynet/profiles"
)

func decodeIP(ip *profiles.IPConfig, key, raw string) error {
	v := unescapeValue(raw)
	base, n := splitNum(key)
	switch {
	case n >= 0 && (base == "address#" || base == "addresses#"):
		return decodeAddress(ip, v)
	case n >= 0 && (base == "route#" || base == "routes#"):
		r, err := parseRoute(v)
		if err != nil {
			return err
		}
		ip.Routes = append(ip.Routes, r)
		return nil
	case n >= 0 && (base == "route#_options" || base == "routes#_options"):
		if len(ip.Routes) == 0 {
			return fmt.Errorf("route options before any route")
		}
		return parseRouteOptions(&ip.Routes[len(ip.Routes)-1], v)
	case n >= 0 && base == "routing-rule#":
		r, err := ParseRule(v)
		if err != nil {
			return err
		}
		ip.Rules = append(ip.Rules, r)
		return nil
	}
	return decodeIPScalar(ip, key, raw, v)
}

func decodeIPScalar(ip *profiles.IPConfig, key, raw, v string) error {
	var err error
	switch key {
	case "method":
		ip.Method = v
	case "gateway":
		ip.Gateway, err = netip.ParseAddr(v)
	case "dns":
		for _, s := range splitList(raw) {
			a, perr := netip.ParseAddr(s)
			if perr != nil {
				return perr
			}
			ip.DNS = append(ip.DNS, a)
		}
	case "dns-search":
		ip.DNSSearch = splitList(raw)
	case "may-fail":
		var b bool
		b, err = parseBool(v)
		ip.Required = !b
	case "ignore-auto-dns":
		ip.IgnoreAutoDNS, err = parseBool(v)
	case "ignore-auto-routes":
		ip.IgnoreAutoRoutes, err = parseBool(v)
	case "never-default":
		ip.NeverDefault, err = parseBool(v)
	case "route-metric":
		var n int64
		n, err = strconv.ParseInt(v, 10, 64)
		ip.RouteMetric = profiles.Int64(n)
	case "route-table":
		ip.RouteTable, err = parseUint32(v)
	case "required-timeout":
		var n int
		n, err = strconv.Atoi(v)
		ip.RequiredTimeout = profiles.Int(n)
	case "dhcp-timeout":
		ip.DHCPTimeout, err = strconv.Atoi(v)
	case "dhcp-hostname":
		ip.DHCPHostname = v
	case "dhcp-client-id":
		ip.DHCPClientID = v
	case "dhcp-vendor-class-identifier":
		ip.DHCPVendorClass = v
	case "dhcp-dscp":
		ip.DHCPDSCP = v
	case "addr-gen-mode":
		ip.AddrGenMode = v
	default:
		return errUnknownKey
	}
	return err
}

var errUnknownKey = fmt.Errorf("unknown key")

// decodeAddress reads "addr/plen[,gateway]" (the gateway form NetworkManager
// before 1.52 writes).
func decodeAddress(ip *profiles.IPConfig, v string) error {
	a, gw, hasGW := strings.Cut(v, ",")
	pfx, err := parsePrefix(a)
	if err != nil {
		return err
	}
	ip.Addresses = append(ip.Addresses, pfx)
	if hasGW && !ip.Gateway.IsValid() {
		g, err := netip.ParseAddr(gw)
		if err != nil {
			return err
		}
		ip.Gateway = g
	}
	return nil
}

// parsePrefix reads "addr[/plen]"; without a length the address is a host
// (/32 or /128), as NetworkManager reads it.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func parseRoute(v string) (profiles.Route, error) {
	parts := strings.Split(v, ",")
	dst, err := parsePrefix(parts[0])
	if err != nil {
		return profiles.Route{}, err
	}
	r := profiles.Route{Dest: dst}
	if len(parts) > 1 && parts[1] != "" {
		gw, err := netip.ParseAddr(parts[1])
		if err != nil {
			return r, err
		}
		if !gw.IsUnspecified() {
			r.Gateway = gw
		}
	}
	if len(parts) > 2 && parts[2] != "" {
		m, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil {
			return r, err
		}
		r.Metric = profiles.Int64(m)
	}
	return r, nil
}

func parseRouteOptions(r *profiles.Route, v string) error {
	for _, o := range strings.Split(v, ",") {
		k, val, _ := strings.Cut(o, "=")
		var err error
		switch k {
		case "table":
			r.Table, err = parseUint32(val)
		case "type":
			r.Type = val
		case "onlink":
			r.OnLink, err = parseBool(val)
		case "src":
			r.Src, err = netip.ParseAddr(val)
		default:
			return fmt.Errorf("unsupported route option %q", k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ParseRule reads a routing rule in NetworkManager's string form.
func ParseRule(s string) (profiles.Rule, error) {
	var r profiles.Rule
	f := strings.Fields(s)
	for i := 0; i < len(f); i += 2 {
		if i+1 >= len(f) {
			return r, fmt.Errorf("routing rule %q: %q has no value", s, f[i])
		}
		k, v := f[i], f[i+1]
		var err error
		switch k {
		case "priority":
			var n uint64
			n, err = strconv.ParseUint(v, 10, 32)
			r.Priority = uint32(n)
		case "from":
			r.From, err = parsePrefix(v)
		case "to":
			r.To, err = parsePrefix(v)
		case "table":
			r.Table, err = parseUint32(v)
		case "suppress_prefixlength":
			var n int
			n, err = strconv.Atoi(v)
			r.SuppressPrefixLength = profiles.Int(n)
		default:
			return r, fmt.Errorf("routing rule %q: unsupported %q", s, k)
		}
		if err != nil {
			return r, fmt.Errorf("routing rule %q: %w", s, err)
		}
	}
	return r, nil
}
