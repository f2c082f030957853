package profiles

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Device kinds, as an inventory reports them. Ethernet covers physical
// NICs and veth, which NetworkManager both drives with ethernet profiles.
const (
	KindEthernet = "ethernet"
	KindBond     = "bond"
	KindBridge   = "bridge"
	KindVLAN     = "vlan"
	KindTeam     = "team"
	KindLoopback = "loopback"
	KindOther    = "other"
)

// Device is what matching knows about one network interface: a line of
// the inventory the caller read from sysfs and netlink.
type Device struct {
	Name    string
	Index   int
	Kind    string
	MAC     string // current address, lower case
	PermMAC string // permanent address, "" when the device has none (veth)
	Driver  string // e.g. "virtio_net", "veth"
	Path    string // udev ID_PATH form, e.g. "pci-0000:00:03.0"
}

// HWAddr is the address NetworkManager compares ethernet.mac-address with:
// the permanent address, or the current one for devices without one.
func (d Device) HWAddr() string {
	if d.PermMAC != "" {
		return d.PermMAC
	}
	return d.MAC
}

// ErrIncompatible is wrapped by every reason Compatible gives.
var ErrIncompatible = errors.New("profile does not apply to device")

// pattern is one parsed element of a match list.
type pattern struct {
	text      string
	inverted  bool
	mandatory bool
}

// parsePattern reads NetworkManager's element prefixes: "|" optional (the
// default), "&" mandatory, "!" inverted after either, a bare "!" meaning
// "&!", and a backslash escaping what follows.
func parsePattern(s string) pattern {
	var p pattern
	switch {
	case strings.HasPrefix(s, "&"):
		p.mandatory = true
		s = s[1:]
		if strings.HasPrefix(s, "!") {
			p.inverted, s = true, s[1:]
		}
	case strings.HasPrefix(s, "|"):
		s = s[1:]
		if strings.HasPrefix(s, "!") {
			p.inverted, s = true, s[1:]
		}
	case strings.HasPrefix(s, "!"):
		p.inverted, p.mandatory, s = true, true, s[1:]
	}
	s = strings.TrimPrefix(s, `\`)
	p.text = s
	return p
}

// evalPatterns combines the elements as nm_wildcard_match_check does:
// every mandatory element must hold, and if there is any optional element
// at least one of them must hold. An empty list matches.
func evalPatterns(patterns []string, match func(string) bool) bool {
	anyOptional, optionalHit := false, false
	for _, raw := range patterns {
		p := parsePattern(raw)
		m := match(p.text)
		if p.inverted {
			m = !m
		}
		if p.mandatory {
			if !m {
				return false
			}
			continue
		}
		anyOptional = true
		optionalHit = optionalHit || m
	}
	return optionalHit || !anyOptional
}

// WildcardMatch reports whether s satisfies the match list, each element a
// shell wildcard (fnmatch without flags) with NetworkManager's prefixes.
func WildcardMatch(s string, patterns []string) bool {
	return evalPatterns(patterns, func(p string) bool { return fnmatch(p, s) })
}

// KernelCmdlineMatch reports whether the kernel command line tokens
// satisfy the match list: an element with '=' must equal a token, an
// element without one matches a token "key" or "key=anything".
func KernelCmdlineMatch(tokens, patterns []string) bool {
	return evalPatterns(patterns, func(p string) bool {
		for _, t := range tokens {
			if strings.Contains(p, "=") {
				if t == p {
					return true
				}
				continue
			}
			if rest, ok := strings.CutPrefix(t, p); ok && (rest == "" || rest[0] == '=') {
				return true
			}
		}
		return false
	})
}

// Check reports why d does not satisfy m, or nil.
func (m Match) Check(d Device, cmdline []string) error {
	switch {
	case !WildcardMatch(d.Name, m.InterfaceName):
		return fmt.Errorf("%w: match.interface-name %q excludes %s", ErrIncompatible, m.InterfaceName, d.Name)
	case !WildcardMatch(d.Driver, m.Driver):
		return fmt.Errorf("%w: match.driver %q excludes driver %q", ErrIncompatible, m.Driver, d.Driver)
	case !WildcardMatch(d.Path, m.Path):
		return fmt.Errorf("%w: match.path %q excludes path %q", ErrIncompatible, m.Path, d.Path)
	case !KernelCmdlineMatch(cmdline, m.KernelCommandLine):
		return fmt.Errorf("%w: match.kernel-command-line %q not satisfied", ErrIncompatible, m.KernelCommandLine)
	}
	return nil
}

// Compatible reports why profile p cannot be activated on device d, or nil
// when it can: connection type against device kind, interface-name, the
// hardware address, and the match setting.
func Compatible(p *Profile, d Device, cmdline []string) error {
	if want := kindOf(p.Type); want != d.Kind {
		return fmt.Errorf("%w: type %s needs a %s device, %s is %s", ErrIncompatible, p.Type, want, d.Name, d.Kind)
	}
	if p.InterfaceName != "" && p.InterfaceName != d.Name {
		return fmt.Errorf("%w: interface-name %s, device is %s", ErrIncompatible, p.InterfaceName, d.Name)
	}
	if mac := profileMAC(p); mac != "" && !strings.EqualFold(mac, d.HWAddr()) {
		return fmt.Errorf("%w: mac-address %s, %s has %s", ErrIncompatible, mac, d.Name, d.HWAddr())
	}
	return p.Match.Check(d, cmdline)
}

func kindOf(connType string) string {
	switch connType {
	case TypeEthernet, "":
		return KindEthernet
	case TypeBond:
		return KindBond
	case TypeBridge:
		return KindBridge
	case TypeVLAN:
		return KindVLAN
	case TypeTeam:
		return KindTeam
	}
	return connType
}

func profileMAC(p *Profile) string {
	switch {
	case p.Ethernet != nil:
		return p.Ethernet.MACAddress
	case p.Infiniband != nil:
		return p.Infiniband.MACAddress
	}
	return ""
}

// Assignment is one profile chosen for one device.
type Assignment struct {
	Device  Device
	Profile *Profile
}

// Assign picks for every device the profile NetworkManager's autoconnect
// would activate on it: among the compatible profiles the one with the
// highest autoconnect-priority, earlier in the list on a tie. A profile
// that is not multi-connect=3 (multiple) is used on one device only, the
// first in index order. Devices no profile fits are left out: they must
// not be touched.
func Assign(ps []*Profile, devs []Device, cmdline []string) []Assignment {
	devs = append([]Device(nil), devs...)
	sort.SliceStable(devs, func(i, j int) bool { return devs[i].Index < devs[j].Index })
	order := make([]*Profile, len(ps))
	copy(order, ps)
	sort.SliceStable(order, func(i, j int) bool {
		return order[i].AutoconnectPriority > order[j].AutoconnectPriority
	})
	used := map[*Profile]bool{}
	var out []Assignment
	for _, d := range devs {
		for _, p := range order {
			if used[p] || Compatible(p, d, cmdline) != nil {
				continue
			}
			if p.MultiConnect != 3 {
				used[p] = true
			}
			out = append(out, Assignment{Device: d, Profile: p})
			break
		}
	}
	return out
}

// fnmatch is fnmatch(3) with no flags: '*' and '?' match any character
// ('/' and a leading '.' included), "[...]" a set with '!' or '^'
// negation and ranges, and a backslash quotes the next character.
func fnmatch(pattern, s string) bool {
	for len(pattern) > 0 {
		switch c := pattern[0]; c {
		case '*':
			for len(pattern) > 0 && pattern[0] == '*' {
				pattern = pattern[1:]
			}
			if pattern == "" {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if fnmatch(pattern, s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			pattern, s = pattern[1:], s[1:]
		case '[':
			if s == "" {
				return false
			}
			ok, rest, valid := matchSet(pattern[1:], s[0])
			if !valid { // no closing ']': a literal '['
				if s[0] != '[' {
					return false
				}
				pattern, s = pattern[1:], s[1:]
				continue
			}
			if !ok {
				return false
			}
			pattern, s = rest, s[1:]
		default:
			if c == '\\' && len(pattern) > 1 {
				pattern = pattern[1:]
				c = pattern[0]
			}
			if s == "" || s[0] != c {
				return false
			}
			pattern, s = pattern[1:], s[1:]
		}
	}
	return s == ""
}

// matchSet matches byte b against the set whose body starts at p (after
// '['). It returns whether b is in the set, the pattern after the closing
// ']', and whether the set was closed at all.
func matchSet(p string, b byte) (bool, string, bool) {
	negate := false
	if len(p) > 0 && (p[0] == '!' || p[0] == '^') {
		negate, p = true, p[1:]
	}
	in := false
	for i := 0; i < len(p); i++ {
		if p[i] == ']' && i > 0 {
			return in != negate, p[i+1:], true
		}
		lo := p[i]
		if lo == '\\' && i+1 < len(p) {
			i++
			lo = p[i]
		}
		hi := lo
		if i+2 < len(p) && p[i+1] == '-' && p[i+2] != ']' {
			hi = p[i+2]
			i += 2
		}
		if lo <= b && b <= hi {
			in = true
		}
	}
	return false, "", false
}
