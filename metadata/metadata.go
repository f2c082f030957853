// Package metadata turns what a cloud's instance metadata service says
// about the network into configuration: per interface the addresses,
// the gateway, and nm-cloud-setup's policy routing layout, then
// NetworkManager profiles. It is pure: the fetching lives in
// cmd/earlynet-cloud, which hands the text and JSON it read to the
// provider's parse function here.
//
// Background: shared/docs/cloud.md (nm-cloud-setup's behaviour, the
// metadata APIs).
package metadata

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
)

// Interface is one network interface as the metadata describes it.
type Interface struct {
	MAC   string // lower-case colon form
	Index int    // provider's interface order; tables are 30200+Index and 30400+Index

	IPv4s   []netip.Addr // primary first
	Subnet4 netip.Prefix // the subnet of the addresses; invalid if unknown
	Gateway netip.Addr   // invalid: the subnet's first address

	IPv6s   []netip.Addr
	Subnet6 netip.Prefix // invalid if unknown: the addresses become /128

	// Local are prefixes the virtual network delivers to this machine
	// that it must accept as its own (GCE forwarded IPs and alias
	// ranges): local routes, not addresses.
	Local []netip.Prefix
}

// Metadata is what a provider's metadata says about the network.
type Metadata struct {
	Provider   string
	Interfaces []Interface // in Index order
}

// NormalizeMAC returns mac in lower-case colon form. It accepts colon,
// dash and separator-less (Azure) spellings of a 6-byte address.
func NormalizeMAC(mac string) (string, error) {
	s := strings.TrimSpace(mac)
	if len(s) == 12 && !strings.ContainsAny(s, ":-") {
		var b strings.Builder
		for i := 0; i < 12; i += 2 {
			if i > 0 {
				b.WriteByte(':')
			}
			b.WriteString(s[i : i+2])
		}
		s = b.String()
	}
	parts := strings.Split(strings.ReplaceAll(s, "-", ":"), ":")
	if len(parts) != 6 {
		return "", fmt.Errorf("MAC address %q is not a 6-byte hardware address", mac)
	}
	for i, p := range parts {
		b, err := hex.DecodeString(p)
		if err != nil || len(b) != 1 {
			return "", fmt.Errorf("MAC address %q is not a 6-byte hardware address", mac)
		}
		parts[i] = hex.EncodeToString(b)
	}
	return strings.Join(parts, ":"), nil
}

// lines splits a metadata listing or multi-value leaf into its non-empty
// lines, without the trailing '/' of directory entries.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSuffix(strings.TrimSpace(l), "/")
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// addrs parses one IPv4 or IPv6 address per item, failing on the first
// that is not an address of the wanted family.
func addrs(items []string, v6 bool) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, it := range items {
		a, err := netip.ParseAddr(it)
		if err != nil || a.Is6() != v6 || a.Is4In6() {
			return nil, fmt.Errorf("%q is not an IPv%d address", it, map[bool]int{false: 4, true: 6}[v6])
		}
		out = append(out, a)
	}
	return out, nil
}

// prefix parses a CIDR block of the wanted family, masked.
func prefix(s string, v6 bool) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil || p.Addr().Is6() != v6 {
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv%d CIDR block", s, map[bool]int{false: 4, true: 6}[v6])
	}
	return p.Masked(), nil
}
