package metadata

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// EC2Keys are the leaves the EC2 fetcher reads under
// meta-data/network/interfaces/macs/<mac>/. A leaf IMDS answers 404 for
// (ipv6s in an IPv4-only subnet) is simply absent from the map.
var EC2Keys = []string{"device-number", "network-card", "local-ipv4s", "subnet-ipv4-cidr-block", "ipv6s", "subnet-ipv6-cidr-blocks"}

// EC2 maps the macs/ listing, the top-level mac (the primary ENI) and each
// MAC's leaves. Interfaces are ordered by network card, then device
// number (the primary ENI counts as device 0 whatever IMDS says, since
// device-number reads 0 for a freshly attached ENI), then listing order;
// the index is the position in that order. An interface whose leaves do
// not parse is left out with an error naming it; the others are kept.
func EC2(listing, primary string, leaves map[string]map[string]string) (*Metadata, []error) {
	type ranked struct {
		ifc        Interface
		card, dev  int
		listingPos int
	}
	var rs []ranked
	var errs []error
	primary, _ = NormalizeMAC(primary)
	for pos, raw := range lines(listing) {
		mac, err := NormalizeMAC(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("ec2: macs/ listing: %w", err))
			continue
		}
		kv := leaves[raw]
		if kv == nil {
			kv = leaves[mac]
		}
		ifc, err := ec2Interface(mac, kv)
		if err != nil {
			errs = append(errs, fmt.Errorf("ec2: interface %s: %w", mac, err))
			continue
		}
		r := ranked{ifc: ifc, listingPos: pos, card: atoiOr(kv["network-card"], 0), dev: atoiOr(kv["device-number"], 1<<20)}
		if mac == primary {
			r.card, r.dev = -1, -1
		}
		rs = append(rs, r)
	}
	slices.SortStableFunc(rs, func(a, b ranked) int {
		return cmp.Or(cmp.Compare(a.card, b.card), cmp.Compare(a.dev, b.dev), cmp.Compare(a.listingPos, b.listingPos))
	})
	md := &Metadata{Provider: "ec2"}
	for i, r := range rs {
		r.ifc.Index = i
		md.Interfaces = append(md.Interfaces, r.ifc)
	}
	return md, errs
}

func ec2Interface(mac string, kv map[string]string) (Interface, error) {
	ifc := Interface{MAC: mac}
	var err error
	if ifc.IPv4s, err = addrs(lines(kv["local-ipv4s"]), false); err != nil {
		return ifc, fmt.Errorf("local-ipv4s: %w", err)
	}
	if s := strings.TrimSpace(kv["subnet-ipv4-cidr-block"]); s != "" {
		if ifc.Subnet4, err = prefix(s, false); err != nil {
			return ifc, fmt.Errorf("subnet-ipv4-cidr-block: %w", err)
		}
	}
	if ifc.IPv6s, err = addrs(lines(kv["ipv6s"]), true); err != nil {
		return ifc, fmt.Errorf("ipv6s: %w", err)
	}
	if blocks := lines(kv["subnet-ipv6-cidr-blocks"]); len(blocks) > 0 {
		if ifc.Subnet6, err = prefix(blocks[0], true); err != nil {
			return ifc, fmt.Errorf("subnet-ipv6-cidr-blocks: %w", err)
		}
	}
	return ifc, nil
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return def
	}
	return n
}
