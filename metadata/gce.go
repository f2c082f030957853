package metadata

import (
	"fmt"
	"net/netip"
	"strings"
)

// GCENIC is one entry of GCE's instance/network-interfaces/<n>/ as the
// fetcher read it (text leaves and the two directory listings' values).
type GCENIC struct {
	MAC            string
	ForwardedIPs   []string // forwarded-ips/<k>: bare addresses
	ForwardedIPv6s []string `json:",omitempty"` // forwarded-ipv6s/<k>: addresses or ranges
	IPAliases      []string // ip-aliases/<k>: CIDR ranges
	IPv6s          []string `json:",omitempty"` // ipv6s: the NIC's own IPv6 addresses (dual-stack subnets)
}

// GCE maps the network interfaces, in the metadata's order. As
// nm-cloud-setup does, it configures no addresses (DHCP gives the primary
// one) and no policy routing; forwarded IPs, and (unlike nm-cloud-setup)
// alias ranges, become local routes so the machine accepts traffic for
// them, as Google's guest agent does. A NIC with no forwarded IPs is
// fine; one whose values do not parse is left out with an error.
func GCE(nics []GCENIC) (*Metadata, []error) {
	md := &Metadata{Provider: "gce"}
	var errs []error
	seen := map[string]bool{}
	for i, n := range nics {
		ifc, err := gceInterface(i, n)
		if err == nil && seen[ifc.MAC] {
			err = fmt.Errorf("MAC %s listed twice", ifc.MAC)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("gce: network-interfaces/%d: %w", i, err))
			continue
		}
		seen[ifc.MAC] = true
		md.Interfaces = append(md.Interfaces, ifc)
	}
	return md, errs
}

func gceInterface(i int, n GCENIC) (Interface, error) {
	mac, err := NormalizeMAC(n.MAC)
	if err != nil {
		return Interface{}, err
	}
	ifc := Interface{MAC: mac, Index: i}
	for _, s := range n.ForwardedIPs {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return ifc, fmt.Errorf("forwarded IP %q: not an address", s)
		}
		ifc.Local = append(ifc.Local, netip.PrefixFrom(a, a.BitLen()))
	}
	for _, s := range n.IPv6s {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil || !a.Is6() {
			return ifc, fmt.Errorf("ipv6s %q: not an IPv6 address", s)
		}
		ifc.IPv6s = append(ifc.IPv6s, a)
	}
	for _, s := range n.ForwardedIPv6s {
		p, err := parseRange(s)
		if err != nil || !p.Addr().Is6() {
			return ifc, fmt.Errorf("forwarded IPv6 %q: not an IPv6 address or range", s)
		}
		ifc.Local = append(ifc.Local, p)
	}
	for _, s := range n.IPAliases {
		p, err := parseRange(s)
		if err != nil {
			return ifc, fmt.Errorf("IP alias %q: not a CIDR range", s)
		}
		ifc.Local = append(ifc.Local, p)
	}
	return ifc, nil
}

// parseRange reads a CIDR range, or a bare address as a single-address
// range.
func parseRange(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
