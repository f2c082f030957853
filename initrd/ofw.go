package initrd

import (
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"strconv"
	"strings"

	"github.com/earlynet/earlynet/profiles"
)

// ofwBase is the device tree under the sysfs root.
const ofwBase = "firmware/devicetree/base"

// ofwArgs is what the Open Firmware boot path's arguments say
// ("<node>:speed=..,duplex=..,bootp,<siaddr>,<file>,<ciaddr>,<giaddr>,...").
type ofwArgs struct {
	speed                    uint32
	duplex                   string
	bootp                    bool
	ipaddr, gateway, netmask string
	haveIP, haveGW, haveMask bool
}

// readOFW builds the "ofw" profile from the device tree's chosen boot
// path, as nm-initrd-generator's dt-reader does (PowerPC, SPARC). Unlike
// NetworkManager, the MAC address is formatted correctly (quirk Q11).
func (r *reader) readOFW() {
	fsys := r.env.SysFS
	bootpath, ok := dtString(fsys, "chosen/bootpath")
	if !ok {
		return
	}
	node, args, _ := strings.Cut(bootpath, ":")
	a := parseOFWArgs(strings.Split(args, ","))
	p := &profiles.Profile{Name: "ofw", ID: "OpenFirmware Connection", UUID: r.env.NewUUID(),
		Type: profiles.TypeEthernet, AutoconnectPriority: -200}
	p.IPv4 = &profiles.IPConfig{Method: profiles.MethodAuto}
	p.IPv6 = &profiles.IPConfig{Method: profiles.MethodAuto}
	if _, err := fs.Stat(fsys, path.Join(ofwBase, "chosen/bootp-response")); err == nil {
		a.bootp = true
	}
	if !a.bootp && !r.ofwStatic(p, a) {
		a.bootp = true
	}
	if a.bootp {
		host, _ := dtString(fsys, "chosen/client-name")
		p.IPv4.DHCPHostname, p.IPv6.DHCPHostname = host, host
	}
	r.ofwEthernet(p, node, a)
	if err := profiles.Validate(p); err != nil {
		r.warn("dt-reader: Generated an invalid connection: %v", err)
		return
	}
	p.SetUser(profiles.OriginKey, profiles.OriginInitrd)
	r.reg.add(&entry{p: p, firmware: true})
}

func parseOFWArgs(tok []string) ofwArgs {
	var a ofwArgs
	i := 0
	for ; i < len(tok); i++ {
		t := tok[i]
		switch {
		case t == "nfs" || t == "last" || t == "promiscuous" || strings.HasPrefix(t, "duplex=auto"):
		case strings.HasPrefix(t, "speed="):
			n, err := strconv.ParseUint(t[6:], 10, 32)
			if err != nil {
				n = 0
			}
			a.speed = uint32(n)
		case strings.HasPrefix(t, "duplex=half") || strings.HasPrefix(t, "duplex=full"):
			a.duplex = t[7:]
		default:
			goto boot
		}
	}
boot:
	for ; i < len(tok) && (tok[i] == "bootp" || tok[i] == "dhcp" || tok[i] == "rarp"); i++ {
		a.bootp = true
	}
	next := func() (string, bool) {
		if i < len(tok) {
			i++
			return tok[i-1], true
		}
		return "", false
	}
	if i < len(tok) && !strings.HasPrefix(tok[i], "/") {
		i++ // server address
	}
	next() // file name
	a.ipaddr, a.haveIP = next()
	a.gateway, a.haveGW = next()
	if i < len(tok) && strings.ContainsAny(tok[i], ".:") {
		a.netmask, a.haveMask = next()
	}
	next() // bootp retries
	next() // tftp retries
	if m, ok := next(); ok {
		a.netmask, a.haveMask = m, true
	}
	return a
}

// ofwStatic sets the static address from the chosen node's binary
// properties or the boot path. It reports false when there is no address.
func (r *reader) ofwStatic(p *profiles.Profile, a ofwArgs) bool {
	fsys := r.env.SysFS
	mask, okMask := dtAddr(fsys, "chosen/netmask-ip")
	gw, okGW := dtAddr(fsys, "chosen/gateway-ip")
	ip, okIP := dtAddr(fsys, "chosen/client-ip")
	prefix := -1
	if !okMask && !okGW && !okIP {
		mask, okMask = r.ofwParse(a.netmask)
		ip, okIP = r.ofwParse(a.ipaddr)
		if n, err := strconv.Atoi(a.netmask); err == nil && n >= 0 && n <= 128 {
			prefix = n
		}
		if g, err := netip.ParseAddr(a.gateway); err == nil {
			gw, okGW = g, true
		}
	}
	if !okIP {
		return false
	}
	if prefix == -1 && okMask && mask.Is4() && ip.Is4() {
		prefix = netmaskPrefix(mask)
	}
	if prefix == -1 || prefix > ip.BitLen() {
		r.warn("dt-reader: Unable to determine the network prefix")
		prefix = 0
	}
	on, off := p.IPv4, p.IPv6
	if ip.Is6() {
		on, off = p.IPv6, p.IPv4
	}
	on.Method, off.Method = profiles.MethodManual, profiles.MethodDisabled
	on.Addresses = []netip.Prefix{netip.PrefixFrom(ip, prefix)}
	if okGW && gw.BitLen() == ip.BitLen() {
		on.Gateway = gw
	}
	return true
}

func (r *reader) ofwParse(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		r.warn("dt-reader: Malformed IP address: '%s'", s)
		return netip.Addr{}, false
	}
	return a, true
}

// ofwEthernet sets speed, duplex, MAC and cloned MAC from the boot node.
func (r *reader) ofwEthernet(p *profiles.Profile, node string, a ofwArgs) {
	mac, _ := r.dtMAC(node, "mac-address")
	local, _ := r.dtMAC(node, "local-mac-address")
	if local == mac {
		local = ""
	}
	if a.duplex == "" && a.speed == 0 && mac == "" && local == "" {
		p.Ethernet = &profiles.Ethernet{}
		return
	}
	p.Ethernet = &profiles.Ethernet{Speed: a.speed, Duplex: a.duplex, MACAddress: mac, ClonedMACAddress: local}
}

// dtMAC reads a 6-byte binary MAC property of a device tree node.
func (r *reader) dtMAC(node, prop string) (string, bool) {
	name := path.Join(ofwBase, strings.TrimPrefix(path.Clean("/"+node), "/"), prop)
	b, err := fs.ReadFile(r.env.SysFS, name)
	if err != nil {
		return "", false
	}
	if len(b) != 6 {
		r.warn("dt-reader: %s: MAC address %s has unrecognized length (%d)", node, prop, len(b))
		return "", false
	}
	return fmt.Sprintf("%02X:%02X:%02X:%02X:%02X:%02X", b[0], b[1], b[2], b[3], b[4], b[5]), true
}

// dtString reads a string property (NUL-terminated in the device tree).
func dtString(fsys fs.FS, prop string) (string, bool) {
	if fsys == nil {
		return "", false
	}
	b, err := fs.ReadFile(fsys, path.Join(ofwBase, prop))
	if err != nil {
		return "", false
	}
	s, _, _ := strings.Cut(string(b), "\x00")
	return s, true
}

// dtAddr reads a binary IPv4 (4 bytes) or IPv6 (16 bytes) property.
func dtAddr(fsys fs.FS, prop string) (netip.Addr, bool) {
	b, err := fs.ReadFile(fsys, path.Join(ofwBase, prop))
	if err != nil {
		return netip.Addr{}, false
	}
	a, ok := netip.AddrFromSlice(b)
	return a, ok
}
