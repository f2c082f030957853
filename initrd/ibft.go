package initrd

import (
	"crypto/md5"
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/earlynet/earlynet/profiles"
)

// ibftNIC is one iBFT NIC: its sysfs attributes.
type ibftNIC struct {
	key   string // upper-cased MAC
	attrs map[string]string
}

func (n ibftNIC) attr(k string) (string, bool) {
	v, ok := n.attrs[k]
	return v, ok
}

// readIBFT reads <sysfs>/firmware/ibft/ethernet*/, once.
func (r *reader) readIBFT() []ibftNIC {
	if r.ibftRead {
		return r.ibft
	}
	r.ibftRead = true
	fsys := r.env.SysFS
	if fsys == nil {
		return nil
	}
	dirs, err := fs.ReadDir(fsys, "firmware/ibft")
	if err != nil && r.env.LoadIBFT != nil {
		r.env.LoadIBFT()
		dirs, err = fs.ReadDir(fsys, "firmware/ibft")
	}
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	for _, d := range dirs {
		if !strings.HasPrefix(d.Name(), "ethernet") {
			continue
		}
		nic := readAttrs(fsys, path.Join("firmware/ibft", d.Name()))
		mac, ok := nic["mac"]
		if !ok {
			r.warn("iBFT: %s has no MAC address, ignored", d.Name())
			continue
		}
		key := strings.ToUpper(mac)
		if seen[key] {
			r.warn("iBFT: duplicate iBFT entry for %s", key)
			continue
		}
		seen[key] = true
		r.ibft = append(r.ibft, ibftNIC{key: key, attrs: nic})
	}
	sort.Slice(r.ibft, func(i, j int) bool { return r.ibft[i].key < r.ibft[j].key })
	return r.ibft
}

// readAttrs reads every regular file of dir, trailing white space removed.
func readAttrs(fsys fs.FS, dir string) map[string]string {
	attrs := map[string]string{}
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return attrs
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil || len(b) > 4096 {
			continue
		}
		attrs[e.Name()] = strings.TrimRight(string(b), " \t\r\n\v\f")
	}
	return attrs
}

// readAllFirmware adds a profile for every iBFT NIC (ip=ibft, ip=fw,
// rd.iscsi.ibft).
func (r *reader) readAllFirmware() {
	for _, nic := range r.readIBFT() {
		idx, ok := nic.attr("index")
		if !ok {
			r.warn("Ignoring an iBFT entry without an index")
			continue
		}
		if _, err := strconv.ParseUint(idx, 10, 16); err != nil {
			r.warn("Ignoring an iBFT entry with an invalid index %q", idx)
			continue
		}
		p := &profiles.Profile{Name: "ibft" + idx}
		if err := mergeIBFT(p, nic); err != nil {
			r.warn("Unable to merge iBFT configuration: %v", err)
			continue
		}
		p.SetUser(profiles.OriginKey, profiles.OriginInitrd)
		r.reg.add(&entry{p: p, firmware: true})
	}
	r.readOFW()
}

// mergeIBFTInto merges the iBFT NIC with the profile's MAC into it
// (ip=<iface>:ibft).
func (r *reader) mergeIBFTInto(e *entry, iface string) {
	mac := ""
	if e.p.Ethernet != nil {
		mac = e.p.Ethernet.MACAddress
	}
	if mac == "" && e.p.InterfaceName != "" {
		b, err := readSysfs(r.env.SysFS, path.Join("class/net", e.p.InterfaceName, "address"))
		if err != nil {
			r.warn("Can't get a MAC address for %s: %v", e.p.InterfaceName, err)
			return
		}
		mac = strings.TrimRight(b, " \t\r\n")
	}
	if mac == "" {
		return
	}
	up := strings.ToUpper(mac)
	for _, nic := range r.readIBFT() {
		if nic.key == up {
			if err := mergeIBFT(e.p, nic); err != nil {
				r.warn("Unable to merge iBFT configuration: %v", err)
			}
			return
		}
	}
	r.warn("No iBFT NIC for %s (%s)", iface, up)
}

func readSysfs(fsys fs.FS, name string) (string, error) {
	if fsys == nil {
		return "", fs.ErrNotExist
	}
	b, err := fs.ReadFile(fsys, name)
	return string(b), err
}

// mergeIBFT applies an iBFT NIC to p, as nmi_ibft_update_connection_from_nic
// does. On error p is unchanged.
func mergeIBFT(p *profiles.Profile, nic ibftNIC) error {
	q := *p
	typ, vlanID := profiles.TypeEthernet, uint64(0)
	if v, ok := nic.attr("vlan"); ok {
		if n, err := strconv.ParseUint(v, 10, 32); err == nil && n >= 1 && n <= 4095 {
			typ, vlanID = profiles.TypeVLAN, n
		}
	}
	macAttr, _ := nic.attr("mac")
	mac, n, ok := parseMAC(macAttr)
	if !ok || n != 6 {
		return fmt.Errorf("invalid MAC address %q", macAttr)
	}
	if err := ibftIP(&q, nic); err != nil {
		return err
	}
	q.Type = typ
	q.VLAN = nil
	if typ == profiles.TypeVLAN {
		q.VLAN = &profiles.VLAN{ID: uint32(vlanID)}
	}
	eth := profiles.Ethernet{}
	if q.Ethernet != nil {
		eth = *q.Ethernet
	}
	eth.MACAddress = mac
	q.Ethernet = &eth
	q.InterfaceName = ""
	q.AutoconnectPriority = firmwarePriority
	q.ID = ibftID(typ, nic)
	q.UUID = ibftUUID(nic)
	*p = q
	return nil
}

func ibftID(typ string, nic ibftNIC) string {
	id := "iBFT Connection"
	if typ == profiles.TypeVLAN {
		id = "iBFT VLAN Connection"
	}
	if idx, ok := nic.attr("index"); ok {
		id += " " + idx
	}
	return id
}

// ibftIP sets the IP configuration of an iBFT NIC on p.
func ibftIP(p *profiles.Profile, nic ibftNIC) error {
	ipStr, hasIP := nic.attr("ip-addr")
	gwStr, hasGW := nic.attr("gateway")
	var fam netip.Addr
	if a, ok := parseAddr(ipStr); hasIP && ok {
		fam = a
	} else if a, ok := parseAddr(gwStr); hasGW && ok {
		fam = a
	} else {
		return fmt.Errorf("invalid IP address")
	}
	v6 := fam.Is6()
	ip, other := ipCopy(p.IPv4), ipCopy(p.IPv6)
	if v6 {
		ip, other = other, ip
	}
	other.Method = profiles.MethodDisabled
	origin, _ := nic.attr("origin")
	switch {
	case origin == "3" && v6:
		ip.Method = profiles.MethodDHCP
	case origin == "3" || origin == "4":
		ip.Method = profiles.MethodAuto
	default:
		ip.Method = profiles.MethodManual
	}
	ip.Required = true
	if err := ibftAddrs(ip, nic, v6, hasIP); err != nil {
		return err
	}
	if v6 {
		p.IPv4, p.IPv6 = other, ip
	} else {
		p.IPv4, p.IPv6 = ip, other
	}
	return nil
}

func ipCopy(ip *profiles.IPConfig) *profiles.IPConfig {
	if ip == nil {
		return &profiles.IPConfig{}
	}
	c := *ip
	c.Addresses = append([]netip.Prefix(nil), ip.Addresses...)
	c.DNS = append([]netip.Addr(nil), ip.DNS...)
	return &c
}

func ibftAddrs(ip *profiles.IPConfig, nic ibftNIC, v6, hasIP bool) error {
	sameFamily := func(k string) (netip.Addr, bool, error) {
		s, ok := nic.attr(k)
		if !ok {
			return netip.Addr{}, false, nil
		}
		a, good := parseAddr(s)
		if !good || a.Is6() != v6 {
			return a, false, fmt.Errorf("invalid %s %q", k, s)
		}
		return a, true, nil
	}
	gw, hasGW, err := sameFamily("gateway")
	if err != nil {
		return err
	}
	if hasIP {
		a, _ := parseAddr(nic.attrs["ip-addr"])
		plenStr, _ := nic.attr("prefix-len")
		plen, ok := parseInt(plenStr, 0, int64(a.BitLen()))
		if !ok {
			return fmt.Errorf("invalid prefix-len %q", plenStr)
		}
		ip.Addresses = append(ip.Addresses, netip.PrefixFrom(a, int(plen)))
		if hasGW {
			ip.Gateway = gw
		}
	}
	for _, k := range []string{"primary-dns", "secondary-dns"} {
		d, ok, err := sameFamily(k)
		if err != nil {
			return err
		}
		if ok {
			ip.DNS = append(ip.DNS, d)
		}
	}
	return nil
}

// ibftNamespace is the UUID namespace nm-initrd-generator uses for iBFT
// profiles.
var ibftNamespace = [16]byte{0xb4, 0x25, 0xe9, 0xfb, 0x75, 0x98, 0x44, 0xb4, 0x9e, 0x3b, 0x5a, 0x2e, 0x3a, 0xaa, 0x49, 0x05}

// ibftUUID is the deterministic UUID (version 3) nm-initrd-generator gives
// an iBFT NIC's profile.
func ibftUUID(nic ibftNIC) string {
	mac, _ := nic.attr("mac")
	vlan, hasVLAN := nic.attr("vlan")
	ip, hasIP := nic.attr("ip-addr")
	v, a := "v", "DHCP"
	if hasVLAN {
		v = "V"
	}
	if hasIP {
		a = "A"
	}
	return uuidV3(ibftNamespace, []string{"ibft", mac, v, vlan, a, ip})
}

// uuidV3 is RFC 4122's name-based UUID over the NUL-terminated strings.
func uuidV3(ns [16]byte, parts []string) string {
	h := md5.New()
	h.Write(ns[:])
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x30
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
