package initrd

import (
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/earlynet/earlynet/profiles"
)

// Canonical ip= methods.
const (
	kindNone      = "none"
	kindDHCP      = "dhcp"
	kindDHCP6     = "dhcp6"
	kindLink6     = "link6"
	kindAuto      = "auto"
	kindIBFT      = "ibft"
	kindDHCP4Auto = "dhcp4+auto6"
)

// parseMethod maps an ip= method keyword (or a comma list of them) to its
// canonical method, or "" when it is unknown.
func parseMethod(s string) string {
	s = strings.TrimSpace(s)
	switch s {
	case "":
		return kindAuto
	case "none", "off":
		return kindNone
	case "dhcp", "single-dhcp":
		return kindDHCP
	case "dhcp6", "auto6":
		return kindDHCP6
	case "link6":
		return kindLink6
	case "auto", "on", "any":
		return kindAuto
	case "ibft", "fw":
		return kindIBFT
	}
	if !strings.Contains(s, ",") {
		return ""
	}
	set := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		m := parseMethod(part)
		if m == "" || m == kindDHCP4Auto {
			return ""
		}
		set[m] = true
	}
	if set[kindAuto] {
		delete(set, kindDHCP6)
	}
	list := make([]string, 0, len(set))
	for m := range set {
		list = append(list, m)
	}
	sort.Strings(list)
	switch {
	case len(list) == 1:
		return list[0]
	case len(list) == 2 && list[0] == kindDHCP && list[1] == kindDHCP6:
		return kindDHCP4Auto
	}
	return ""
}

// ipToken is a parsed ip= value.
type ipToken struct {
	clientIP    string
	peer        string
	gateway     string
	netmask     string
	hostname    string
	iface       string
	kind        string
	dns         []netip.Addr
	mtu         string
	clonedMAC   string
	hasClientIP bool
}

// parseIP handles one ip= token.
func (r *reader) parseIP(val string) {
	t, ok := r.splitIP(val)
	if !ok {
		return
	}
	if t.hostname != "" && !validHostname(t.hostname) {
		t.hostname = ""
	}
	if t.hostname != "" {
		r.hostname = t.hostname
	}
	if t.iface == "" && t.kind == kindIBFT {
		r.readAllFirmware()
		return
	}
	var e *entry
	if t.iface != "" {
		if e, ok = r.lookup(t.iface, "", true); !ok {
			return
		}
	} else {
		e = r.defaultProfile()
	}
	r.explicit[e] = true
	r.applyIP(e, t)
}

// splitIP tells the three forms of ip= apart and splits the value.
func (r *reader) splitIP(val string) (ipToken, bool) {
	var t ipToken
	if val == "" {
		return t, false
	}
	f := newFields(val)
	f1, _ := f.next(':')
	if f.empty() {
		// ip=<method>: an unknown method is auto, and there is no interface.
		if t.kind = parseMethod(f1); t.kind == "" {
			r.warn("unknown ip= method '%s', using 'auto' as NetworkManager does", f1)
			t.kind = kindAuto
		}
		return t, true
	}
	f2, has2 := f.next(':')
	if m := parseMethod(f2); has2 && m != "" {
		t.iface, t.kind = f1, m
	} else {
		if f1 != "" {
			if _, _, ok := parseAddrPrefix(f1); !ok {
				r.warn("Invalid IP address '%s'.", f1)
				return t, false
			}
			t.clientIP, t.hasClientIP = f1, true
		}
		t.peer = f2
		t.gateway, _ = f.next(':')
		t.netmask, _ = f.next(':')
		t.hostname, _ = f.next(':')
		t.iface, _ = f.next(':')
		m, _ := f.next(':')
		if t.kind = parseMethod(m); t.kind == "" {
			t.kind = kindAuto
		}
	}
	r.splitIPRest(f, &t)
	return t, true
}

// splitIPRest reads what follows the method: one or two DNS servers, or an
// MTU and then the rest verbatim as the MAC to set.
func (r *reader) splitIPRest(f *fields, t *ipToken) {
	d1, _ := f.next(':')
	a1, ok := parseAddr(d1)
	if !ok {
		t.mtu, t.clonedMAC = d1, f.rest()
		return
	}
	t.dns = append(t.dns, a1)
	d2, has2 := f.next(':')
	if !has2 {
		return
	}
	if a2, ok := parseAddr(d2); ok {
		t.dns = append(t.dns, a2)
	} else {
		r.warn("Ignoring invalid DNS server: '%s'.", d2)
	}
	if !f.empty() {
		r.warn("Ignoring extra: '%s'.", f.rest())
	}
}

// applyIP changes profile e as the ip= token t says.
func (r *reader) applyIP(e *entry, t ipToken) {
	p := e.p
	prefix := -1
	if t.netmask != "" {
		prefix = r.netmask(t)
	}
	if t.hasClientIP {
		r.addStaticAddress(p, t.clientIP, prefix)
	}
	r.applyMethod(e, t.kind, t.iface)
	if t.peer != "" {
		r.warn("Ignoring peer: %s (not implemented)", t.peer)
	}
	if t.gateway != "" {
		r.setGateway(p, t.gateway)
	}
	if t.hostname != "" {
		p.IPv4.DHCPHostname = t.hostname
		p.IPv6.DHCPHostname = t.hostname
	}
	for _, a := range t.dns {
		ip := p.IPv4
		if a.Is6() {
			ip = p.IPv6
		}
		ip.DNS = addDNS(ip.DNS, a)
	}
	if t.mtu != "" {
		r.setMTU(p, t.mtu)
	}
	if t.clonedMAC != "" {
		ensureEthernet(p).ClonedMACAddress = clonedMAC(t.clonedMAC)
	}
}

// netmask reads the netmask field: a dotted quad for an IPv4 client, or a
// prefix length. It overrides a /N on the address; -1 means invalid.
func (r *reader) netmask(t ipToken) int {
	a, _, _ := parseAddrPrefix(t.clientIP)
	v4 := t.hasClientIP && a.Is4()
	if m, ok := parseAddr(t.netmask); ok && v4 && m.Is4() {
		return netmaskPrefix(m)
	}
	max := int64(128)
	if v4 {
		max = 32
	}
	if n, ok := parseInt(t.netmask, 0, max); ok {
		return int(n)
	}
	r.warn("Invalid IP mask: %s", t.netmask)
	return -1
}

func (r *reader) addStaticAddress(p *profiles.Profile, clientIP string, prefix int) {
	a, plen, _ := parseAddrPrefix(clientIP)
	if prefix < 0 {
		prefix = plen
	}
	if prefix < 0 || prefix > a.BitLen() {
		prefix = defaultPrefix(a)
	}
	p.MultiConnect = multiConnectSingle
	ip := p.IPv4
	if a.Is6() {
		ip = p.IPv6
	}
	ip.Method = profiles.MethodManual
	ip.Required = true
	pfx := netip.PrefixFrom(a, prefix)
	if !slices.Contains(ip.Addresses, pfx) {
		// NetworkManager keeps one of each address/prefix pair.
		ip.Addresses = append(ip.Addresses, pfx)
	}
}

// addDNS appends a server unless the list has it already, as
// NetworkManager's nm_setting_ip_config_add_dns does.
func addDNS(list []netip.Addr, a netip.Addr) []netip.Addr {
	if slices.Contains(list, a) {
		return list
	}
	return append(list, a)
}

// clonedMAC puts a 6-octet MAC in NetworkManager's canonical form
// (upper case, ':'-separated), as setting the property does. Anything else
// is kept, so that validation drops the profile naming the bad value.
func clonedMAC(s string) string {
	if m, n, ok := parseMAC(s); ok && n == 6 {
		return m
	}
	return s
}

// applyMethod applies a canonical ip= method after any static address.
func (r *reader) applyMethod(e *entry, kind, iface string) {
	v4, v6 := e.p.IPv4, e.p.IPv6
	clearRequired := true
	switch kind {
	case kindNone:
		disableIfNoAddr(v4)
		disableIfNoAddr(v6)
	case kindDHCP:
		v4.Method, v4.Required = profiles.MethodAuto, true
		if len(v6.Addresses) == 0 {
			v6.Method = profiles.MethodAuto
		}
	case kindDHCP6:
		v6.Method, v6.Required = profiles.MethodAuto, true
		disableIfNoAddr(v4)
	case kindLink6:
		v6.Method, v6.Required = profiles.MethodLinkLocal, true
		disableIfNoAddr(v4)
	case kindDHCP4Auto:
		clearRequired = false
		v6.RequiredTimeout = profiles.Int(r.ipRequiredTimeout)
	case kindIBFT:
		r.mergeIBFTInto(e, iface)
	default:
		clearRequired = false
	}
	if clearRequired {
		v4.RequiredTimeout = nil
	}
}

func disableIfNoAddr(ip *profiles.IPConfig) {
	if len(ip.Addresses) == 0 {
		ip.Method = profiles.MethodDisabled
	}
}

func (r *reader) setGateway(p *profiles.Profile, gw string) {
	a, ok := parseAddr(gw)
	if !ok {
		r.warn("Invalid gateway: %s", gw)
		return
	}
	if a.Is4() {
		p.IPv4.Gateway = a
	} else {
		p.IPv6.Gateway = a
	}
}

// setMTU sets the MTU of the profile's link setting. For InfiniBand that
// is infiniband.mtu: nm-initrd-generator writes ethernet.mtu there, which
// NetworkManager ignores.
func (r *reader) setMTU(p *profiles.Profile, s string) {
	if p.Type != profiles.TypeInfiniband {
		// NetworkManager adds the setting before it tries the value.
		ensureEthernet(p)
	}
	n, ok := parseInt(s, 0, 1<<32-1)
	if !ok {
		r.warn("Could not set property '802-3-ethernet.mtu' to '%s'", s)
		return
	}
	if p.Type == profiles.TypeInfiniband {
		p.Infiniband.MTU = uint32(n)
		return
	}
	ensureEthernet(p).MTU = uint32(n)
}

func ensureEthernet(p *profiles.Profile) *profiles.Ethernet {
	if p.Ethernet == nil {
		p.Ethernet = &profiles.Ethernet{}
	}
	return p.Ethernet
}
