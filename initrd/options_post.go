package initrd

import (
	"errors"
	"fmt"
	"strings"

	"github.com/earlynet/earlynet/profiles"
)

// applyBootif binds BOOTIF's MAC to the first Ethernet profile, or makes a
// profile of its own when that one is already bound elsewhere.
func (r *reader) applyBootif() {
	r.tok = r.bootifTok
	defer func() { r.tok = "" }()
	mac := bootifMAC(r.bootif)
	var target *entry
	for _, e := range r.reg.order {
		if e.p.Type == profiles.TypeEthernet {
			target = e
			break
		}
	}
	if target == nil {
		target = r.defaultProfile()
	}
	cur := ""
	if target.p.Ethernet != nil {
		cur = target.p.Ethernet.MACAddress
	}
	if target.p.InterfaceName != "" || (cur != "" && !sameMAC(cur, mac)) {
		e := r.newProfile(bootifName, bootifID, "", "", 0, profiles.TypeEthernet, multiConnectSingle)
		e.p.AutoconnectPriority = firmwarePriority
		e.p.Ethernet.MACAddress = mac
		if mac == "" {
			e.invalid = errors.New("802-3-ethernet.mac-address: '' is not a valid MAC address")
		}
		return
	}
	if mac == "" {
		// NM sets mac-address to "" and then rejects the profile.
		target.invalid = errors.New("802-3-ethernet.mac-address: '' is not a valid MAC address")
		return
	}
	ensureEthernet(target.p).MACAddress = mac
}

// bootifMAC strips a PXE hardware type prefix ("01-") from BOOTIF. An
// invalid value is kept, so that the profile is dropped as invalid.
func bootifMAC(v string) string {
	if m, n, ok := parseMAC(v); ok && n == 6 {
		return m
	}
	if len(v) > 3 && (strings.HasPrefix(v, "01") || strings.HasPrefix(v, "00")) && (v[2] == '-' || v[2] == ':') {
		if m, n, ok := parseMAC(v[3:]); ok && n == 6 {
			return m
		}
	}
	return v
}

func sameMAC(a, b string) bool {
	ca, _, okA := parseMAC(a)
	cb, _, okB := parseMAC(b)
	return okA && okB && ca == cb
}

// applyBootdev gives the bootdev= profile a device wait and makes it the
// route fallback.
func (r *reader) applyBootdev() {
	if r.bootdevSpec == nil {
		return
	}
	r.tok = r.bootdevTok
	defer func() { r.tok = "" }()
	if *r.bootdevSpec == "" {
		// nm-initrd-generator creates a profile it cannot write here.
		r.warn("bootdev= without an interface, ignored")
		return
	}
	e, ok := r.lookup(*r.bootdevSpec, "", true)
	if !ok {
		return
	}
	r.bootdev = e
	if e.p.Type == profiles.TypeEthernet {
		e.p.WaitDeviceTimeout = profiles.Int(waitDeviceTimeout)
	}
}

// applyNeednet makes sure some profile exists and that Ethernet profiles
// wait for their device.
func (r *reader) applyNeednet() {
	if len(r.reg.order) == 0 && !r.env.PersistentDirExists {
		r.defaultProfile()
	}
	for _, e := range r.reg.order {
		if e.p.Type == profiles.TypeEthernet {
			e.p.WaitDeviceTimeout = profiles.Int(waitDeviceTimeout)
		}
	}
}

// parseEthtool handles rd.ethtool=<iface>:[<autoneg>]:[<speed>].
func (r *reader) parseEthtool(val string) {
	f := newFields(val)
	iface, ok := f.next(':')
	if !ok {
		r.warn("rd.ethtool: interface unspecified. Ignore")
		return
	}
	autoneg, autonegSet := false, false
	if s, ok := f.next(':'); ok {
		if autoneg, autonegSet = profiles.ParseBool(s); !autonegSet {
			r.warn("rd.ethtool: autoneg invalid. Must be boolean or empty")
		}
	}
	var speed uint32
	if s, ok := f.next(':'); ok {
		if n, good := parseUint(s, 1<<32-1); good {
			speed = uint32(n)
		} else {
			r.warn("rd.ethtool: speed invalid. Must be an integer or empty")
		}
	}
	if speed == 0 && autonegSet && !autoneg {
		r.warn("rd.ethtool: autoneg ignored. Cannot disable autoneg without setting speed")
	}
	if !f.empty() {
		r.warn("rd.ethtool: extra argument ignored")
	}
	e := r.ethernetProfile(iface)
	if e == nil || (!autonegSet && speed == 0) {
		return
	}
	eth := ensureEthernet(e.p)
	eth.AutoNegotiate = autoneg
	eth.Speed = speed
	eth.Duplex = ""
	if speed != 0 {
		eth.Duplex = "full"
	}
}

// ethernetProfile returns the profile for iface, creating an Ethernet one
// if there is none. An existing profile keeps its type: unlike
// nm-initrd-generator, earlynet does not turn a bond into an Ethernet
// profile because rd.ethtool or rd.znet names it.
func (r *reader) ethernetProfile(iface string) *entry {
	if s, ok := r.resolveSpec(iface); !ok {
		return nil
	} else if e := r.reg.get(s.name()); e != nil {
		return e
	}
	e, _ := r.lookup(iface, profiles.TypeEthernet, true)
	return e
}

// parseUint reads an unsigned decimal without sign or white space.
func parseUint(s string, max uint64) (uint64, bool) {
	var n uint64
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > max {
			return 0, false
		}
	}
	return n, true
}

// parseClientID handles rd.net.dhcp.client-id=<iface>:<id>.
func (r *reader) parseClientID(val string) {
	f := newFields(val)
	iface, ok := f.next(':')
	if !ok {
		r.warn("rd.net.dhcp.client-id: missing interface")
		return
	}
	id := f.rest()
	if id == "" {
		r.warn("rd.net.dhcp.client-id: missing client-id")
		return
	}
	b, err := clientIDBytes(id)
	if err != nil {
		r.warn("rd.net.dhcp.client-id: invalid client-id \"%s\". %v", id, err)
		return
	}
	e, ok := r.lookup(iface, "", true)
	if !ok {
		return
	}
	hex := make([]string, len(b))
	for i, c := range b {
		hex[i] = fmt.Sprintf("%02x", c)
	}
	e.p.IPv4.DHCPClientID = strings.Join(hex, ":")
}

func clientIDBytes(id string) ([]byte, error) {
	var b []byte
	if strings.HasPrefix(id, "@") && len(id) > 1 {
		b = append([]byte{0}, id[1:]...)
	} else if bb, ok := hexBytes(id); ok {
		b = bb
	} else {
		return nil, fmt.Errorf(`Must be hexadecimal bytes separated by dashes (for example "00-01-02-03-04-05-06"), or '@' followed by a string`)
	}
	if len(b) < 2 {
		return nil, fmt.Errorf("Must be at least two bytes")
	}
	return b, nil
}

// hexBytes reads "aa-bb-c" (1 or 2 digits a byte) or "aabbcc".
func hexBytes(s string) ([]byte, bool) {
	var parts []string
	if strings.Contains(s, "-") {
		parts = strings.Split(s, "-")
	} else {
		if len(s)%2 != 0 {
			return nil, false
		}
		for i := 0; i < len(s); i += 2 {
			parts = append(parts, s[i:i+2])
		}
	}
	out := make([]byte, 0, len(parts))
	for _, p := range parts {
		if len(p) < 1 || len(p) > 2 {
			return nil, false
		}
		var v byte
		for i := 0; i < len(p); i++ {
			d, ok := hexDigit(p[i])
			if !ok {
				return nil, false
			}
			v = v<<4 | d
		}
		out = append(out, v)
	}
	return out, len(out) > 0
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
