package metadata

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
)

// AzurePath is the network document the Azure fetcher reads (JSON).
const AzurePath = "/metadata/instance/network?api-version=2021-02-01"

type azureIP struct {
	Private string `json:"privateIpAddress"`
}

type azureSubnet struct {
	Address string `json:"address"`
	Prefix  string `json:"prefix"`
}

type azureInterface struct {
	MACAddress string `json:"macAddress"`
	IPv4       struct {
		IPAddress []azureIP     `json:"ipAddress"`
		Subnet    []azureSubnet `json:"subnet"`
	} `json:"ipv4"`
	IPv6 struct {
		IPAddress []azureIP `json:"ipAddress"`
	} `json:"ipv6"`
}

// Azure maps IMDS's network document: every private IPv4 address of an
// interface (the primary first) with the first subnet's prefix; the
// gateway is the subnet's first address, as nm-cloud-setup assumes.
func Azure(doc []byte) (*Metadata, []error) {
	var n struct {
		Interface []azureInterface `json:"interface"`
	}
	if err := json.Unmarshal(doc, &n); err != nil {
		return nil, []error{fmt.Errorf("azure: network document: %w", err)}
	}
	md := &Metadata{Provider: "azure"}
	var errs []error
	for i, in := range n.Interface {
		ifc, err := in.parse()
		if err != nil {
			errs = append(errs, fmt.Errorf("azure: interface %d: %w", i, err))
			continue
		}
		ifc.Index = i
		md.Interfaces = append(md.Interfaces, ifc)
	}
	return md, errs
}

func (in azureInterface) parse() (Interface, error) {
	mac, err := NormalizeMAC(in.MACAddress)
	if err != nil {
		return Interface{}, err
	}
	ifc := Interface{MAC: mac}
	if ifc.IPv4s, err = addrs(privates(in.IPv4.IPAddress), false); err != nil {
		return ifc, err
	}
	if ifc.IPv6s, err = addrs(privates(in.IPv6.IPAddress), true); err != nil {
		return ifc, err
	}
	if len(in.IPv4.Subnet) > 0 {
		s := in.IPv4.Subnet[0]
		a, err := netip.ParseAddr(s.Address)
		bits, berr := strconv.Atoi(s.Prefix)
		if err != nil || berr != nil || !a.Is4() || bits < 0 || bits > 32 {
			return ifc, fmt.Errorf("subnet %q/%q is not an IPv4 subnet", s.Address, s.Prefix)
		}
		ifc.Subnet4 = netip.PrefixFrom(a, bits).Masked()
	}
	return ifc, nil
}

func privates(ips []azureIP) []string {
	var out []string
	for _, a := range ips {
		out = append(out, a.Private)
	}
	return out
}
