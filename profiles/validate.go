package profiles

import (
	"errors"
	"fmt"
	"strings"
)

// Validate checks p against the NetworkManager rules that a generated
// profile can break. A profile that fails would be refused by
// NetworkManager when loaded, so it must not be written.
func Validate(p *Profile) error {
	checks := []func(*Profile) error{
		validateConnection,
		validateEthernet,
		validateInfiniband,
		validateVLAN,
		validateBond,
	}
	for _, c := range checks {
		if err := c(p); err != nil {
			return err
		}
	}
	if err := validateIP("ipv4", p.IPv4); err != nil {
		return err
	}
	return validateIP("ipv6", p.IPv6)
}

func validateConnection(p *Profile) error {
	switch {
	case p.ID == "":
		return errors.New("connection.id: property is missing")
	case !ValidUUID(p.UUID):
		return fmt.Errorf("connection.uuid: '%s' is not a valid UUID", p.UUID)
	case p.InterfaceName != "" && !ValidIfname(p.InterfaceName):
		return fmt.Errorf("connection.interface-name: '%s': interface name is not valid", p.InterfaceName)
	}
	return nil
}

func validateEthernet(p *Profile) error {
	e := p.Ethernet
	if e == nil {
		return nil
	}
	if e.MACAddress != "" && !validMAC(e.MACAddress, 6) {
		return fmt.Errorf("802-3-ethernet.mac-address: '%s' is not a valid MAC address", e.MACAddress)
	}
	if e.ClonedMACAddress != "" && !validClonedMAC(e.ClonedMACAddress) {
		return fmt.Errorf("802-3-ethernet.cloned-mac-address: '%s' is not a valid MAC address", e.ClonedMACAddress)
	}
	return nil
}

func validateInfiniband(p *Profile) error {
	ib := p.Infiniband
	if ib == nil || p.Type != TypeInfiniband {
		return nil
	}
	if ib.MACAddress != "" && !validMAC(ib.MACAddress, 20) {
		return fmt.Errorf("infiniband.mac-address: '%s' is not a valid MAC address", ib.MACAddress)
	}
	if ib.PKey != nil && (*ib.PKey == 0 || *ib.PKey == 0x8000) {
		return errors.New("infiniband.p-key: the values 0 and 0x8000 are not allowed")
	}
	if ib.MTU > 65520 {
		return fmt.Errorf("infiniband.mtu: %d is out of range", ib.MTU)
	}
	return nil
}

func validateVLAN(p *Profile) error {
	v := p.VLAN
	if p.Type != TypeVLAN || v == nil {
		return nil
	}
	if v.ID > 4094 {
		return fmt.Errorf("vlan.id: the vlan id must be in range 0-4094 but is %d", v.ID)
	}
	if v.Parent == "" && (p.Ethernet == nil || p.Ethernet.MACAddress == "") {
		return errors.New("vlan.parent: property is not specified and neither is '802-3-ethernet:mac-address'")
	}
	if v.Parent != "" && !ValidIfname(v.Parent) && !ValidUUID(v.Parent) {
		return fmt.Errorf("vlan.parent: '%s' is neither an UUID nor an interface name", v.Parent)
	}
	return nil
}

func validateBond(p *Profile) error {
	if p.Type != TypeBond || p.Bond == nil {
		return nil
	}
	get := func(k string) string { v, _ := p.Bond.Option(k); return v }
	nonZero := func(k string) bool { v := get(k); return v != "" && strings.TrimLeft(v, "0") != "" }
	if nonZero("miimon") && nonZero("arp_interval") {
		return errors.New("bond.options: only one of 'miimon' and 'arp_interval' can be set")
	}
	if nonZero("arp_interval") && get("arp_ip_target") == "" && get("ns_ip6_target") == "" {
		return errors.New("bond.options: 'arp_interval' requires 'arp_ip_target' or 'ns_ip6_target' to be set")
	}
	return nil
}

func validateIP(name string, ip *IPConfig) error {
	if ip == nil {
		return nil
	}
	if ip.Gateway.IsValid() && len(ip.Addresses) == 0 {
		return fmt.Errorf("%s.gateway: gateway cannot be set if there are no addresses configured", name)
	}
	switch ip.Method {
	case MethodDisabled, MethodIgnore:
		if len(ip.DNS) > 0 {
			return fmt.Errorf("%s.dns: this property is not allowed for 'method=%s'", name, ip.Method)
		}
		if len(ip.Addresses) > 0 {
			return fmt.Errorf("%s.addresses: this property is not allowed for 'method=%s'", name, ip.Method)
		}
	case MethodLinkLocal:
		if len(ip.Addresses) > 0 {
			return fmt.Errorf("%s.addresses: this property is not allowed for 'method=%s'", name, ip.Method)
		}
	case MethodManual:
		if len(ip.Addresses) == 0 {
			return fmt.Errorf("%s.addresses: this property cannot be empty for 'method=manual'", name)
		}
	}
	return nil
}

// ValidIfname is NetworkManager's rule for interface names: 1 to 15 bytes,
// not "." or "..", no '/', ':' or white space. earlynet also refuses
// control characters, since names end up in file names and logs.
func ValidIfname(s string) bool {
	if s == "" || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '/' || c == ':' || c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// UUIDv4 formats 16 bytes (random, or a hash for a stable UUID) as a
// version 4, variant 1 UUID in 8-4-4-4-12 form.
func UUIDv4(b [16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ValidUUID reports whether s is a UUID in 8-4-4-4-12 hex form.
func ValidUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// validMAC reports whether s is n hex octets separated by ':' or '-'.
func validMAC(s string, n int) bool {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == '-' })
	if len(parts) != n || strings.Count(s, ":")+strings.Count(s, "-") != n-1 {
		return false
	}
	for _, p := range parts {
		if len(p) != 2 || !isHex(p[0]) || !isHex(p[1]) {
			if len(p) != 1 || !isHex(p[0]) {
				return false
			}
		}
	}
	return true
}

func validClonedMAC(s string) bool {
	switch s {
	case "preserve", "permanent", "random", "stable":
		return true
	}
	return validMAC(s, 6)
}
