package initrd

import (
	"github.com/earlynet/earlynet/profiles"
)

// normalize does what NetworkManager's normalisation does to the profiles
// nm-initrd-generator writes. DHCP properties stay on families that do not
// use DHCP, as in NetworkManager 1.42 (1.44 clears them; they are inert).
func normalize(p *profiles.Profile) {
	if p.IsPort() {
		p.IPv4, p.IPv6 = nil, nil
		switch p.PortType {
		case profiles.TypeBridge:
			p.BridgePort = true
		case profiles.TypeTeam:
			p.TeamPort = true
		}
	}
	relaxDisabled(p)
	switch p.Type {
	case profiles.TypeBond:
		if _, ok := p.Bond.Option("mode"); !ok {
			p.Bond.SetOption("mode", "balance-rr")
		}
	case profiles.TypeVLAN:
		ensureEthernet(p)
		if p.VLAN.Flags == 0 {
			p.VLAN.Flags = 1 // reorder headers
		}
	case profiles.TypeBridge:
		ensureEthernet(p)
	}
}

// relaxDisabled clears "required" (may-fail=false) on a family that is
// disabled: NetworkManager's normalisation does, so `ip=eth0:dhcp
// ip=eth0:none` leaves may-fail at its default.
func relaxDisabled(p *profiles.Profile) {
	if p.IPv4 != nil && p.IPv4.Method == profiles.MethodDisabled {
		p.IPv4.Required = false
	}
	if p.IPv6 != nil && (p.IPv6.Method == profiles.MethodDisabled || p.IPv6.Method == profiles.MethodIgnore) {
		p.IPv6.Required = false
	}
}
