package initrd

import (
	"strings"

	"github.com/earlynet/earlynet/profiles"
)

// Default values nm-initrd-generator gives profiles.
const (
	defaultDHCPTimeout     = 90    // s
	defaultRequiredTimeout = 20000 // ms, ipv4.required-timeout
	waitDeviceTimeout      = 60000 // ms, from bootdev= and rd.neednet
	cmdlinePriority        = -100
	firmwarePriority       = -200
	multiConnectSingle     = 1
	multiConnectMultiple   = 3
	defaultName            = "default_connection"
	defaultID              = "Wired Connection"
	bootifName             = "bootif_connection"
	bootifID               = "BOOTIF Connection"
)

// entry is one profile in the registry with what the parser knows about
// it beyond its settings.
type entry struct {
	p        *profiles.Profile
	firmware bool // built from a firmware table, without cmdline defaults
	// invalid is why NetworkManager would reject the profile when the
	// model cannot carry the bad value itself (an empty BOOTIF MAC).
	invalid error
}

// registry holds the profiles by name and in creation order, as
// nm-initrd-generator's reader does.
type registry struct {
	byName map[string]*entry
	order  []*entry
}

func (g *registry) get(name string) *entry { return g.byName[name] }

func (g *registry) add(e *entry) {
	if g.byName == nil {
		g.byName = map[string]*entry{}
	}
	if old, ok := g.byName[e.p.Name]; ok {
		for i := range g.order {
			if g.order[i] == old {
				g.order[i] = e
			}
		}
	} else {
		g.order = append(g.order, e)
	}
	g.byName[e.p.Name] = e
}

// spec is a resolved interface spec: an interface name or a MAC.
type spec struct {
	ifname string
	mac    string
	macLen int
}

func (s spec) name() string {
	if s.ifname != "" {
		return s.ifname
	}
	return s.mac
}

// resolveSpec turns an interface spec into a name or a MAC. It warns and
// returns ok == false for a spec that is neither.
func (r *reader) resolveSpec(s string) (spec, bool) {
	if validIfname(s) {
		return spec{ifname: s}, true
	}
	if mac, n, ok := parseMAC(s); ok {
		return spec{mac: mac, macLen: n}, true
	}
	if nmValidIfname(s) {
		r.warn("invalid interface %q: control characters or invalid UTF-8 are not allowed in interface names", s)
	} else {
		r.warn("invalid interface '%s'", s)
	}
	return spec{}, false
}

// newProfile creates a cmdline profile with nm-initrd-generator's
// defaults and registers it.
func (r *reader) newProfile(name, id, ifname, mac string, macLen int, typ string, multi int) *entry {
	p := &profiles.Profile{
		Name:                name,
		ID:                  id,
		UUID:                r.env.NewUUID(),
		Type:                typ,
		InterfaceName:       ifname,
		AutoconnectPriority: cmdlinePriority,
		AutoconnectRetries:  profiles.Int(1),
		MultiConnect:        multi,
		IPv4: &profiles.IPConfig{
			Method:          profiles.MethodAuto,
			IgnoreAutoDNS:   r.ignoreAutoDNS,
			DHCPTimeout:     r.dhcpTimeout,
			DHCPVendorClass: r.vendorClass,
			DHCPDSCP:        r.dscp,
			RequiredTimeout: profiles.Int(r.ipRequiredTimeout),
		},
		IPv6: &profiles.IPConfig{
			Method:        profiles.MethodAuto,
			IgnoreAutoDNS: r.ignoreAutoDNS,
			DHCPTimeout:   r.dhcpTimeout,
		},
	}
	p.SetUser(profiles.OriginKey, profiles.OriginInitrd)
	if typ == profiles.TypeInfiniband {
		p.Infiniband = &profiles.Infiniband{TransportMode: "datagram", MACAddress: mac}
	} else if mac != "" {
		p.Ethernet = &profiles.Ethernet{MACAddress: mac}
	}
	ensureTypeSetting(p)
	e := &entry{p: p}
	r.reg.add(e)
	return e
}

// defaultProfile returns the "Wired Connection" profile that matches any
// Ethernet device, creating it on first use.
func (r *reader) defaultProfile() *entry {
	if r.dflt == nil {
		r.dflt = r.newProfile(defaultName, defaultID, "", "", 0, profiles.TypeEthernet, multiConnectMultiple)
	}
	return r.dflt
}

// lookup finds the profile for an interface spec, creating it if create
// is set; typ, when set, is forced onto the profile. An empty spec walks
// the profiles in creation order for the first one that is not a port (or
// is of type typ). ok is false for an invalid spec or when nothing was
// found and create is unset.
func (r *reader) lookup(specStr, typ string, create bool) (*entry, bool) {
	var e *entry
	var s spec
	if specStr != "" {
		var ok bool
		if s, ok = r.resolveSpec(specStr); !ok {
			return nil, false
		}
		e = r.reg.get(s.name())
	} else {
		e = r.firstProfile(typ)
	}
	if e == nil {
		if !create {
			return nil, false
		}
		if specStr == "" {
			// nm-initrd-generator creates an unnamed profile here that it
			// cannot write to a file; earlynet uses the default profile.
			e = r.defaultProfile()
		} else {
			t := typ
			if t == "" {
				t = guessType(s)
			}
			e = r.newProfile(s.name(), s.name(), s.ifname, s.mac, s.macLen, t, multiConnectSingle)
		}
	}
	if typ != "" {
		e.p.Type = typ
		ensureTypeSetting(e.p)
	}
	return e, true
}

func (r *reader) firstProfile(typ string) *entry {
	for _, e := range r.reg.order {
		if typ == "" && !e.p.IsPort() {
			return e
		}
		if typ != "" && e.p.Type == typ {
			return e
		}
	}
	return nil
}

// guessType is nm-initrd-generator's rule for a new profile's type.
func guessType(s spec) string {
	if strings.HasPrefix(s.ifname, "ib") || s.macLen == 20 {
		return profiles.TypeInfiniband
	}
	return profiles.TypeEthernet
}

// ensureTypeSetting adds the setting of p's type if it is missing, as
// NetworkManager's normalisation does.
func ensureTypeSetting(p *profiles.Profile) {
	switch p.Type {
	case profiles.TypeEthernet:
		if p.Ethernet == nil {
			p.Ethernet = &profiles.Ethernet{}
		}
	case profiles.TypeInfiniband:
		if p.Infiniband == nil {
			p.Infiniband = &profiles.Infiniband{}
		}
	case profiles.TypeBond:
		if p.Bond == nil {
			p.Bond = &profiles.Bond{}
		}
	case profiles.TypeBridge:
		if p.Bridge == nil {
			p.Bridge = &profiles.Bridge{}
		}
	case profiles.TypeTeam:
		p.Team = true
	case profiles.TypeVLAN:
		if p.VLAN == nil {
			p.VLAN = &profiles.VLAN{}
		}
	}
}
