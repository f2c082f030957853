package metadata

import (
	"net/netip"

	"github.com/earlynet/earlynet/profiles"
)

// nm-cloud-setup's routing layout (cloud.md §1.7).
const (
	subnetTableBase  = 30200 // table and rule priority of interface i's subnets: 30200+i
	defaultTableBase = 30400 // table and rule priority of interface i's default route: 30400+i
	suppressPriority = 30350 // main table without its default route
	cloudMetric      = 10
	localMetric      = 100
	mainTable        = 254
	maxInterfaces    = 100 // the index is part of the table numbers
)

// Config is what earlynet configures on one interface.
type Config struct {
	MAC   string
	Index int

	Addresses4 []netip.Prefix
	Addresses6 []netip.Prefix
	Routes4    []profiles.Route // policy tables and local routes
	Routes6    []profiles.Route // local routes
	Rules4     []profiles.Rule
}

// Empty reports whether c configures nothing.
func (c Config) Empty() bool {
	return len(c.Addresses4)+len(c.Addresses6)+len(c.Routes4)+len(c.Routes6)+len(c.Rules4) == 0
}

// Plan turns metadata into per-interface configuration, following
// nm-cloud-setup: every IPv4 address with its subnet's prefix, table
// 30200+i with the subnet and table 30400+i with the default route, a
// rule per address at both priorities, the 30350 rule that lets the main
// table's specific routes win, and nothing of that when there is a
// single interface with a single address (DHCP then has it all). Local
// routes (GCE) are added in any case, and IPv6 addresses (which
// nm-cloud-setup ignores) with the subnet's prefix, or /128.
func Plan(md *Metadata) []Config {
	shortcut := singleAddress(md.Interfaces)
	var out []Config
	for _, ifc := range md.Interfaces {
		if ifc.Index < 0 || ifc.Index >= maxInterfaces {
			continue
		}
		c := Config{MAC: ifc.MAC, Index: ifc.Index}
		if !shortcut && len(ifc.IPv4s) > 0 && ifc.Subnet4.IsValid() {
			c.policy4(ifc)
		}
		for _, a := range ifc.IPv6s {
			bits := 128
			if ifc.Subnet6.IsValid() && ifc.Subnet6.Contains(a) {
				bits = ifc.Subnet6.Bits()
			}
			c.Addresses6 = append(c.Addresses6, netip.PrefixFrom(a, bits))
		}
		for _, p := range ifc.Local {
			r := profiles.Route{Dest: p, Type: "local", Metric: profiles.Int64(localMetric)}
			if p.Addr().Is4() {
				c.Routes4 = append(c.Routes4, r)
			} else {
				c.Routes6 = append(c.Routes6, r)
			}
		}
		out = append(out, c)
	}
	return out
}

// singleAddress is nm-cloud-setup's shortcut: at most one interface with
// addresses and a subnet, and at most one IPv4 address over all.
func singleAddress(ifcs []Interface) bool {
	valid, n := 0, 0
	for _, ifc := range ifcs {
		if len(ifc.IPv4s) > 0 && ifc.Subnet4.IsValid() {
			valid++
			n += len(ifc.IPv4s)
		}
	}
	return valid <= 1 && n <= 1
}

func (c *Config) policy4(ifc Interface) {
	subnetTable := uint32(subnetTableBase + ifc.Index)
	defaultTable := uint32(defaultTableBase + ifc.Index)
	for _, a := range ifc.IPv4s {
		c.Addresses4 = append(c.Addresses4, netip.PrefixFrom(a, ifc.Subnet4.Bits()))
	}
	c.Routes4 = append(c.Routes4, profiles.Route{Dest: ifc.Subnet4, Metric: profiles.Int64(cloudMetric), Table: subnetTable})
	for _, a := range ifc.IPv4s {
		c.Rules4 = append(c.Rules4, profiles.Rule{Priority: subnetTable, From: netip.PrefixFrom(a, 32), Table: subnetTable})
	}
	c.Rules4 = append(c.Rules4, profiles.Rule{Priority: suppressPriority, Table: mainTable, SuppressPrefixLength: profiles.Int(0)})
	gw := gateway(ifc)
	if !gw.IsValid() {
		return
	}
	c.Routes4 = append(c.Routes4, profiles.Route{Dest: netip.PrefixFrom(netip.IPv4Unspecified(), 0), Gateway: gw,
		Metric: profiles.Int64(cloudMetric), Table: defaultTable})
	for _, a := range ifc.IPv4s {
		c.Rules4 = append(c.Rules4, profiles.Rule{Priority: defaultTable, From: netip.PrefixFrom(a, 32), Table: defaultTable})
	}
}

// gateway is the metadata's, else the subnet's first address (the VPC
// router on EC2 and Azure); none for a /32 or /31.
func gateway(ifc Interface) netip.Addr {
	if ifc.Gateway.IsValid() && !ifc.Gateway.IsUnspecified() {
		return ifc.Gateway
	}
	if ifc.Subnet4.Bits() >= 31 {
		return netip.Addr{}
	}
	return ifc.Subnet4.Masked().Addr().Next()
}
