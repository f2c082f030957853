// Package keyfile turns connection profiles into NetworkManager keyfiles and
// back, with NetworkManager's section order, key order and GKeyFile
// escaping. It also writes the other small key files NetworkManager reads
// (configuration snippets, device state). It is pure: writing to disk is
// done by WriteAtomic's caller-supplied root.
package keyfile

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/earlynet/earlynet/profiles"
)

// Group is one [section] of a key file, its keys in the order written.
type Group struct {
	Name string
	Keys []profiles.KV
}

func (g *Group) add(k, v string) { g.Keys = append(g.Keys, profiles.KV{Key: k, Value: v}) }

// Format writes groups as key file text: "[name]" lines, "key=value"
// lines, and an empty line between groups, as GKeyFile does.
func Format(groups []Group) []byte {
	var b strings.Builder
	for i, g := range groups {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("[" + g.Name + "]\n")
		for _, kv := range g.Keys {
			b.WriteString(kv.Key)
			b.WriteByte('=')
			b.WriteString(kv.Value)
			b.WriteByte('\n')
		}
	}
	return []byte(b.String())
}

// Encode returns the keyfile text of p, as NetworkManager writes it: group
// order by setting, [connection] led by id, uuid and type and the other
// keys sorted, every other group sorted by key, default values left out.
func Encode(p *profiles.Profile) []byte {
	return Format(Groups(p))
}

// Groups returns the key file groups of p in NetworkManager's order.
func Groups(p *profiles.Profile) []Group {
	var gs []Group
	gs = append(gs, connectionGroup(p))
	if !p.Match.Empty() {
		gs = append(gs, matchGroup(p.Match))
	}
	if e := p.Ethernet; e != nil {
		gs = append(gs, ethernetGroups(e)...)
	}
	if ib := p.Infiniband; ib != nil {
		gs = append(gs, infinibandGroup(ib))
	}
	if b := p.Bond; b != nil {
		g := Group{Name: "bond"}
		for _, o := range b.Options {
			g.add(o.Key, escapeValue(o.Value))
		}
		gs = append(gs, g)
	}
	if br := p.Bridge; br != nil {
		g := Group{Name: "bridge"}
		if br.STP != nil && !*br.STP {
			g.add("stp", "false")
		}
		gs = append(gs, g)
	}
	if p.Team {
		gs = append(gs, Group{Name: "team"})
	}
	if v := p.VLAN; v != nil {
		gs = append(gs, vlanGroup(v))
	}
	if p.BridgePort {
		gs = append(gs, Group{Name: "bridge-port"})
	}
	if p.TeamPort {
		gs = append(gs, Group{Name: "team-port"})
	}
	if p.IPv4 != nil {
		gs = append(gs, ipGroup("ipv4", p.IPv4, false))
	}
	if p.IPv6 != nil {
		gs = append(gs, ipGroup("ipv6", p.IPv6, true))
	}
	if p.IPv4 != nil || p.IPv6 != nil {
		gs = append(gs, Group{Name: "proxy"})
	}
	if len(p.User) > 0 {
		g := Group{Name: "user"}
		for _, kv := range p.User {
			g.add(kv.Key, escapeValue(kv.Value))
		}
		gs = append(gs, g)
	}
	return mergeOther(gs, p.Other)
}

// mergeOther adds the settings the typed model does not know to their
// groups (new groups go before [proxy]/[user] tails, at the end).
func mergeOther(gs []Group, other []profiles.Setting) []Group {
	for _, s := range other {
		i := findGroup(gs, s.Section)
		if i < 0 {
			gs = append(gs, Group{Name: s.Section})
			i = len(gs) - 1
		}
		gs[i].add(s.Key, s.Value)
	}
	for i := range gs {
		if gs[i].Name != "connection" && len(other) > 0 {
			sortKeys(gs[i].Keys)
		}
	}
	return gs
}

func findGroup(gs []Group, name string) int {
	for i := range gs {
		if gs[i].Name == name {
			return i
		}
	}
	return -1
}

// sortKeys orders keys as GKeyFile-backed NetworkManager writes them:
// by name, with numbered keys (address1, route10) in numeric order.
func sortKeys(kvs []profiles.KV) {
	sort.SliceStable(kvs, func(i, j int) bool { return keyLess(kvs[i].Key, kvs[j].Key) })
}

func keyLess(a, b string) bool {
	pa, na := splitNum(a)
	pb, nb := splitNum(b)
	if pa != pb || na < 0 || nb < 0 {
		return a < b
	}
	return na < nb
}

// splitNum splits "route12_options" style keys into ("route_options", 12).
func splitNum(k string) (string, int) {
	i := strings.IndexAny(k, "0123456789")
	if i < 0 {
		return k, -1
	}
	j := i
	for j < len(k) && k[j] >= '0' && k[j] <= '9' {
		j++
	}
	n, err := strconv.Atoi(k[i:j])
	if err != nil {
		return k, -1
	}
	return k[:i] + "#" + k[j:], n
}

func connectionGroup(p *profiles.Profile) Group {
	g := Group{Name: "connection"}
	g.add("id", escapeValue(p.ID))
	g.add("uuid", escapeValue(p.UUID))
	g.add("type", escapeValue(p.Type))
	var rest Group
	if p.AutoconnectPriority != 0 {
		rest.add("autoconnect-priority", strconv.Itoa(p.AutoconnectPriority))
	}
	if p.AutoconnectRetries != nil {
		rest.add("autoconnect-retries", strconv.Itoa(*p.AutoconnectRetries))
	}
	if p.InterfaceName != "" {
		rest.add("interface-name", escapeValue(p.InterfaceName))
	}
	if p.Controller != "" {
		// NetworkManager before 1.46 reads only master= and slave-type=.
		rest.add("master", escapeValue(p.Controller))
	}
	if p.MultiConnect != 0 {
		rest.add("multi-connect", strconv.Itoa(p.MultiConnect))
	}
	if p.PortType != "" {
		rest.add("slave-type", p.PortType)
	}
	if p.WaitDeviceTimeout != nil {
		rest.add("wait-device-timeout", strconv.Itoa(*p.WaitDeviceTimeout))
	}
	sortKeys(rest.Keys)
	g.Keys = append(g.Keys, rest.Keys...)
	return g
}

func matchGroup(m profiles.Match) Group {
	g := Group{Name: "match"}
	if len(m.Driver) > 0 {
		g.add("driver", joinList(m.Driver))
	}
	if len(m.InterfaceName) > 0 {
		g.add("interface-name", joinList(m.InterfaceName))
	}
	if len(m.KernelCommandLine) > 0 {
		g.add("kernel-command-line", joinList(m.KernelCommandLine))
	}
	if len(m.Path) > 0 {
		g.add("path", joinList(m.Path))
	}
	return g
}

func ethernetGroups(e *profiles.Ethernet) []Group {
	g := Group{Name: "ethernet"}
	if e.AutoNegotiate {
		g.add("auto-negotiate", "true")
	}
	if e.ClonedMACAddress != "" {
		g.add("cloned-mac-address", escapeValue(e.ClonedMACAddress))
	}
	if e.Duplex != "" {
		g.add("duplex", escapeValue(e.Duplex))
	}
	if e.MACAddress != "" {
		g.add("mac-address", escapeValue(e.MACAddress))
	}
	if e.MTU != 0 {
		g.add("mtu", strconv.FormatUint(uint64(e.MTU), 10))
	}
	if e.S390NetType != "" {
		g.add("s390-nettype", escapeValue(e.S390NetType))
	}
	if len(e.S390Subchannels) > 0 {
		g.add("s390-subchannels", joinList(e.S390Subchannels))
	}
	if e.Speed != 0 {
		g.add("speed", strconv.FormatUint(uint64(e.Speed), 10))
	}
	gs := []Group{g}
	if len(e.S390Options) > 0 {
		o := Group{Name: "ethernet-s390-options"}
		for _, kv := range e.S390Options {
			o.add(kv.Key, escapeValue(kv.Value))
		}
		sortKeys(o.Keys)
		gs = append(gs, o)
	}
	return gs
}

func infinibandGroup(ib *profiles.Infiniband) Group {
	g := Group{Name: "infiniband"}
	if ib.MACAddress != "" {
		g.add("mac-address", escapeValue(ib.MACAddress))
	}
	if ib.MTU != 0 {
		g.add("mtu", strconv.FormatUint(uint64(ib.MTU), 10))
	}
	if ib.PKey != nil {
		g.add("p-key", strconv.Itoa(*ib.PKey))
	}
	if ib.Parent != "" {
		g.add("parent", escapeValue(ib.Parent))
	}
	if ib.TransportMode != "" {
		g.add("transport-mode", escapeValue(ib.TransportMode))
	}
	return g
}

func vlanGroup(v *profiles.VLAN) Group {
	g := Group{Name: "vlan"}
	if v.Flags != 0 {
		g.add("flags", strconv.FormatUint(uint64(v.Flags), 10))
	}
	if v.ID != 0 {
		g.add("id", strconv.FormatUint(uint64(v.ID), 10))
	}
	if v.Parent != "" {
		g.add("parent", escapeValue(v.Parent))
	}
	return g
}

func ipGroup(name string, ip *profiles.IPConfig, v6 bool) Group {
	g := Group{Name: name}
	for i, a := range ip.Addresses {
		v := a.String()
		if i == 0 && ip.Gateway.IsValid() {
			v += "," + ip.Gateway.String() // NetworkManager 1.42's form
		}
		g.add(fmt.Sprintf("address%d", i+1), v)
	}
	if ip.Gateway.IsValid() && len(ip.Addresses) == 0 {
		g.add("gateway", ip.Gateway.String())
	}
	if v6 && ip.AddrGenMode != "" {
		g.add("addr-gen-mode", escapeValue(ip.AddrGenMode))
	}
	ipDHCPKeys(&g, ip)
	ipDNSKeys(&g, ip)
	ipFlagKeys(&g, ip)
	ipRouteKeys(&g, ip)
	sortKeys(g.Keys)
	return g
}

func ipDHCPKeys(g *Group, ip *profiles.IPConfig) {
	for _, kv := range []profiles.KV{
		{Key: "dhcp-client-id", Value: ip.DHCPClientID},
		{Key: "dhcp-dscp", Value: ip.DHCPDSCP},
		{Key: "dhcp-hostname", Value: ip.DHCPHostname},
		{Key: "dhcp-vendor-class-identifier", Value: ip.DHCPVendorClass},
	} {
		if kv.Value != "" {
			g.add(kv.Key, escapeValue(kv.Value))
		}
	}
	if ip.DHCPTimeout != 0 {
		g.add("dhcp-timeout", strconv.Itoa(ip.DHCPTimeout))
	}
}

func ipDNSKeys(g *Group, ip *profiles.IPConfig) {
	if len(ip.DNS) > 0 {
		s := make([]string, len(ip.DNS))
		for i, a := range ip.DNS {
			s[i] = a.String()
		}
		g.add("dns", joinList(s))
	}
	if len(ip.DNSSearch) > 0 {
		g.add("dns-search", joinList(ip.DNSSearch))
	}
}

func ipFlagKeys(g *Group, ip *profiles.IPConfig) {
	flags := []struct {
		on  bool
		key string
		val string
	}{
		{ip.IgnoreAutoDNS, "ignore-auto-dns", "true"},
		{ip.IgnoreAutoRoutes, "ignore-auto-routes", "true"},
		{ip.Required, "may-fail", "false"},
		{ip.NeverDefault, "never-default", "true"},
	}
	for _, f := range flags {
		if f.on {
			g.add(f.key, f.val)
		}
	}
	g.add("method", escapeValue(ip.Method))
	if ip.RequiredTimeout != nil {
		g.add("required-timeout", strconv.Itoa(*ip.RequiredTimeout))
	}
}

func ipRouteKeys(g *Group, ip *profiles.IPConfig) {
	for i, r := range ip.Routes {
		k := fmt.Sprintf("route%d", i+1)
		g.add(k, formatRoute(r))
		if o := routeOptions(r); o != "" {
			g.add(k+"_options", o)
		}
	}
	if ip.RouteMetric != nil {
		g.add("route-metric", strconv.FormatInt(*ip.RouteMetric, 10))
	}
	if ip.RouteTable != 0 {
		g.add("route-table", strconv.FormatUint(uint64(ip.RouteTable), 10))
	}
	for i, r := range ip.Rules {
		g.add(fmt.Sprintf("routing-rule%d", i+1), FormatRule(r))
	}
}

// formatRoute writes "dest/plen[,gateway[,metric]]" as NetworkManager does.
func formatRoute(r profiles.Route) string {
	s := r.Dest.String()
	if r.Gateway.IsValid() || r.Metric != nil {
		gw := r.Gateway
		if !gw.IsValid() {
			if r.Dest.Addr().Is4() {
				gw = netip.IPv4Unspecified()
			} else {
				gw = netip.IPv6Unspecified()
			}
		}
		s += "," + gw.String()
		if r.Metric != nil {
			s += "," + strconv.FormatInt(*r.Metric, 10)
		}
	}
	return s
}

func routeOptions(r profiles.Route) string {
	var o []string
	if r.OnLink {
		o = append(o, "onlink=true")
	}
	if r.Src.IsValid() {
		o = append(o, "src="+r.Src.String())
	}
	if r.Table != 0 {
		o = append(o, "table="+strconv.FormatUint(uint64(r.Table), 10))
	}
	if r.Type != "" {
		o = append(o, "type="+r.Type)
	}
	return strings.Join(o, ",")
}

// FormatRule writes a routing rule in NetworkManager's string form,
// e.g. "priority 30400 from 192.0.2.5/32 table 30200".
func FormatRule(r profiles.Rule) string {
	s := "priority " + strconv.FormatUint(uint64(r.Priority), 10)
	if r.From.IsValid() {
		s += " from " + r.From.String()
	}
	if r.To.IsValid() {
		s += " to " + r.To.String()
	}
	if r.Table != 0 {
		s += " table " + strconv.FormatUint(uint64(r.Table), 10)
	}
	if r.SuppressPrefixLength != nil {
		s += " suppress_prefixlength " + strconv.Itoa(*r.SuppressPrefixLength)
	}
	return s
}
