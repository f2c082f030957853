package initrd

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/earlynet/earlynet/profiles"
)

// parseController handles bond=, bridge= and team=:
// <name>[:<ports>[:<options>[:<mtu>]]] (options and MTU for bonds only).
func (r *reader) parseController(val, typ, defName string) {
	f := newFields(val)
	name, ok := f.next(':')
	if !ok {
		name = defName
	}
	ports, _ := f.next(':')
	ctrl, ok := r.lookup(name, typ, true)
	if !ok {
		return
	}
	switch typ {
	case profiles.TypeBridge:
		ctrl.p.Bridge.STP = profiles.Bool(false)
	case profiles.TypeBond:
		opts, _ := f.next(':')
		r.bondOptions(ctrl.p.Bond, opts)
		if mtu, ok := f.next(':'); ok {
			r.setMTU(ctrl.p, mtu)
		}
	}
	if !f.empty() {
		r.warn("Ignoring extra: '%s'.", f.rest())
	}
	r.addPorts(ctrl.p, ports, typ)
}

func (r *reader) addPorts(ctrl *profiles.Profile, ports, typ string) {
	if ports == "" {
		ports = "eth0"
	}
	for _, port := range strings.Split(ports, ",") {
		if port == "" {
			port = "eth0"
		}
		e, ok := r.lookup(port, "", true)
		if !ok {
			continue
		}
		e.p.Controller = ctrl.UUID
		e.p.PortType = typ
	}
}

// bondOptions reads "k=v,k=v" where a value may hold several values
// separated by ';' (each possibly bracketed), joined again with ','.
func (r *reader) bondOptions(b *profiles.Bond, opts string) {
	f := newFields(opts)
	for !f.empty() {
		// The key runs to the next '=' and the value to the next ',', so
		// an item without '=' joins onto the next key, as in
		// nm-initrd-generator.
		k, _ := f.next('=')
		v, _ := f.next(',')
		v = joinMultiValue(v)
		nv, err := profiles.CheckBondOption(k, v)
		if err != nil {
			r.warn("Ignoring invalid bond option: %q = %q: %v", k, v, err)
			continue
		}
		b.SetOption(k, nv)
	}
}

// joinMultiValue turns "[fc08::1];[fc08::2]" into "fc08::1,fc08::2".
func joinMultiValue(v string) string {
	if !strings.Contains(v, ";") {
		return unbracketWhole(v)
	}
	var out []string
	f := newFields(v)
	for !f.empty() {
		if x, ok := f.next(';'); ok {
			out = append(out, x)
		}
	}
	return strings.Join(out, ",")
}

func unbracketWhole(v string) string {
	f := newFields(v)
	x, _ := f.next(0)
	return x
}

// parseVLAN handles vlan=<name>:<parent>.
func (r *reader) parseVLAN(val string) {
	f := newFields(val)
	name, ok := f.next(':')
	if !ok {
		r.warn("missing VLAN interface name")
		return
	}
	parent, ok := f.next(':')
	if !ok {
		r.warn("missing VLAN parent")
		return
	}
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}
	if i == len(name) {
		r.warn("missing VLAN id in '%s'", name)
		return
	}
	id, err := strconv.ParseUint(name[i:], 10, 64)
	if err != nil || id > 4094 {
		r.warn("invalid VLAN id '%s'", name[i:])
		return
	}
	if !f.empty() {
		r.warn("ignoring extra VLAN argument '%s'", f.rest())
	}
	e, ok := r.lookup(name, profiles.TypeVLAN, true)
	if !ok {
		return
	}
	e.p.InterfaceName = name
	e.p.VLAN.ID = uint32(id)
	e.p.VLAN.Parent = parent
	for _, v := range r.vlanParts {
		if v == parent {
			return
		}
	}
	r.vlanParts = append(r.vlanParts, parent)
}

// vlanParents gives every VLAN parent a profile, with IP disabled unless
// an ip= token named it.
func (r *reader) vlanParents() {
	for _, parent := range r.vlanParts {
		e, ok := r.lookup(parent, "", true)
		if !ok || r.explicit[e] {
			continue
		}
		if e.p.IPv4 != nil {
			e.p.IPv4.Method = profiles.MethodDisabled
		}
		if e.p.IPv6 != nil {
			e.p.IPv6.Method = profiles.MethodDisabled
		}
	}
}

// parsePKey handles ib.pkey=<parent>.<pkey>.
func (r *reader) parsePKey(val string) {
	f := newFields(val)
	v, ok := f.next(':')
	if !ok {
		r.warn("ib.pkey= without argument")
		return
	}
	parent, hex, ok := strings.Cut(v, ".")
	if !ok {
		r.warn("No pkey found for '%s'", v)
		return
	}
	h := strings.TrimPrefix(strings.TrimPrefix(hex, "0x"), "0X")
	pkey, err := strconv.ParseUint(h, 16, 64)
	if err != nil || h == "" || pkey > 0xffff {
		r.warn("Invalid pkey '%s'", hex)
		return
	}
	if !f.empty() {
		r.warn("Ignoring extra: '%s' for ib.pkey=", f.rest())
	}
	name := v
	if !validIfname(parent) || !validIfname(name) {
		r.warn("invalid interface '%s'", v)
		return
	}
	e, ok := r.lookup(name, profiles.TypeInfiniband, true)
	if !ok {
		return
	}
	e.p.Infiniband.Parent = parent
	e.p.Infiniband.PKey = profiles.Int(int(pkey))
	e.p.Infiniband.TransportMode = "datagram"
	// NetworkManager names the child <parent>.<pkey in 4 hex digits>.
	e.p.InterfaceName = parent + "." + strconv.FormatUint(pkey|0x10000, 16)[1:]
}

// applyRoute handles rd.route=<net>[/<prefix>]:<gateway>[:<iface>].
func (r *reader) applyRoute(val string) {
	f := newFields(val)
	dst, _ := f.next(':')
	gw, _ := f.next(':')
	iface, _ := f.next(':')
	e := r.routeTarget(iface)
	if e == nil {
		return
	}
	route, ok := r.parseRoute(dst, gw)
	if !ok {
		return
	}
	ip := e.p.IPv4
	if route.Dest.Addr().Is6() {
		ip = e.p.IPv6
	}
	if ip != nil {
		ip.Routes = append(ip.Routes, route)
	}
}

func (r *reader) routeTarget(iface string) *entry {
	if iface != "" {
		e, _ := r.lookup(iface, "", true)
		return e
	}
	if r.bootdev != nil {
		return r.bootdev
	}
	if e := r.firstProfile(""); e != nil {
		return e
	}
	return r.defaultProfile()
}

func (r *reader) parseRoute(dst, gw string) (profiles.Route, bool) {
	var route profiles.Route
	var gwAddr netip.Addr
	if gw != "" {
		a, ok := parseAddr(gw)
		if !ok {
			r.warn("Unrecognized address: %s", gw)
			return route, false
		}
		gwAddr = a
	}
	switch {
	case dst != "":
		a, plen, ok := parseRouteDest(dst)
		if !ok {
			r.warn("Unrecognized address: %s", dst)
			return route, false
		}
		if plen < 0 {
			plen = a.BitLen()
		}
		route.Dest = netip.PrefixFrom(a, plen)
	case gwAddr.IsValid():
		route.Dest = netip.PrefixFrom(netip.IPv6Unspecified(), 128)
		if gwAddr.Is4() {
			route.Dest = netip.PrefixFrom(netip.IPv4Unspecified(), 32)
		}
	default:
		r.warn("Unknown address family: (null)")
		return route, false
	}
	if gwAddr.IsValid() && gwAddr.Is4() != route.Dest.Addr().Is4() {
		r.warn("Unrecognized address: %s", gw)
		return route, false
	}
	route.Gateway = gwAddr
	return route, true
}

// parseRouteDest reads "a.b.c.d[/N]" or "v6[/N]" (brackets already
// removed by the field splitter); "[v6]/N" is rejected, as NetworkManager
// 1.54 does, rather than silently losing the prefix.
func parseRouteDest(s string) (netip.Addr, int, bool) {
	if strings.ContainsAny(s, "[]") {
		return netip.Addr{}, -1, false
	}
	addr, plen, has := strings.Cut(s, "/")
	a, ok := parseAddr(addr)
	if !ok {
		return a, -1, false
	}
	if !has {
		return a, -1, true
	}
	n, ok := parseInt(plen, 0, int64(a.BitLen()))
	if !ok {
		return a, -1, false
	}
	return a, int(n), true
}

// applyNameserver adds a nameserver= address to every profile of a
// compatible method.
func (r *reader) applyNameserver(val string) {
	v := unbracketWhole(val)
	a, ok := parseAddr(v)
	if !ok {
		r.warn("Unknown address family: %s", val)
		return
	}
	for _, e := range r.reg.order {
		ip := e.p.IPv4
		if a.Is6() {
			ip = e.p.IPv6
		}
		if ip == nil {
			continue
		}
		switch ip.Method {
		case profiles.MethodAuto, profiles.MethodManual:
		case profiles.MethodDHCP:
			if !a.Is6() {
				continue
			}
		default:
			continue
		}
		ip.DNS = addDNS(ip.DNS, a)
	}
}
