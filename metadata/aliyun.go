package metadata

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// AliyunKeys are the per-MAC leaves the Alibaba Cloud fetcher reads under
// latest/meta-data/network/interfaces/macs/<mac>/.
var AliyunKeys = []string{"private-ipv4s", "primary-ip-address", "netmask", "vswitch-cidr-block", "gateway", "ipv6s", "vswitch-ipv6-cidr-block"}

// Aliyun maps the macs/ listing and each MAC's leaves. private-ipv4s is
// a JSON-looking list; the primary address goes first; the subnet is
// the vSwitch's CIDR block (nm-cloud-setup takes the VPC block's base
// with the netmask, which is wrong whenever the vSwitch is smaller than
// the VPC); the gateway comes from metadata.
func Aliyun(listing string, leaves map[string]map[string]string) (*Metadata, []error) {
	md := &Metadata{Provider: "aliyun"}
	var errs []error
	for i, raw := range lines(listing) {
		ifc, err := aliyunInterface(raw, leaves[raw])
		if err != nil {
			errs = append(errs, fmt.Errorf("aliyun: interface %s: %w", raw, err))
			continue
		}
		ifc.Index = i
		md.Interfaces = append(md.Interfaces, ifc)
	}
	return md, errs
}

func aliyunInterface(raw string, kv map[string]string) (Interface, error) {
	mac, err := NormalizeMAC(raw)
	if err != nil {
		return Interface{}, err
	}
	ifc := Interface{MAC: mac}
	if ifc.IPv4s, err = addrs(jsonishList(kv["private-ipv4s"]), false); err != nil {
		return ifc, fmt.Errorf("private-ipv4s: %w", err)
	}
	if p, err := netip.ParseAddr(strings.TrimSpace(kv["primary-ip-address"])); err == nil {
		if i := slices.Index(ifc.IPv4s, p); i > 0 {
			ifc.IPv4s = append([]netip.Addr{p}, slices.Delete(ifc.IPv4s, i, i+1)...)
		}
	}
	if s := strings.TrimSpace(kv["vswitch-cidr-block"]); s != "" {
		if ifc.Subnet4, err = prefix(s, false); err != nil {
			return ifc, fmt.Errorf("vswitch-cidr-block: %w", err)
		}
	}
	if s := strings.TrimSpace(kv["gateway"]); s != "" {
		if ifc.Gateway, err = netip.ParseAddr(s); err != nil || !ifc.Gateway.Is4() {
			return ifc, fmt.Errorf("gateway %q is not an IPv4 address", s)
		}
	}
	if ifc.IPv6s, err = addrs(jsonishList(kv["ipv6s"]), true); err != nil {
		return ifc, fmt.Errorf("ipv6s: %w", err)
	}
	if s := strings.TrimSpace(kv["vswitch-ipv6-cidr-block"]); s != "" {
		if ifc.Subnet6, err = prefix(s, true); err != nil {
			return ifc, fmt.Errorf("vswitch-ipv6-cidr-block: %w", err)
		}
	}
	return ifc, nil
}

// jsonishList splits `["a","b"]` (or plain a,b or one per line) into items.
func jsonishList(s string) []string {
	s = strings.NewReplacer("[", "", "]", "", `"`, "", "\n", ",").Replace(s)
	var out []string
	for _, it := range strings.Split(s, ",") {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}
