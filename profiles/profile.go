// Package profiles holds earlynet's connection profile model: a typed subset
// of NetworkManager's settings, named after NetworkManager's setting and key
// names, plus the rules NetworkManager applies to it (validation, matching).
//
// The zero value of every field means "NetworkManager's default", which a
// keyfile leaves out. Fields whose NetworkManager default is not the Go zero
// value are pointers (nil means default) or are named for the non-default
// state (IPConfig.Required is may-fail=false).
//
// The package is pure: it never touches the machine.
package profiles

import (
	"net/netip"
	"sort"
)

// Connection types, as NetworkManager's connection.type spells them in
// keyfiles.
const (
	TypeEthernet   = "ethernet"
	TypeInfiniband = "infiniband"
	TypeBond       = "bond"
	TypeBridge     = "bridge"
	TypeTeam       = "team"
	TypeVLAN       = "vlan"
)

// IP methods, as ipv4.method and ipv6.method spell them.
const (
	MethodAuto      = "auto"
	MethodDHCP      = "dhcp" // ipv6 only
	MethodManual    = "manual"
	MethodDisabled  = "disabled"
	MethodLinkLocal = "link-local"
	MethodIgnore    = "ignore"
)

// OriginKey and OriginInitrd form the [user] tag NetworkManager uses to tell
// profiles generated in the initrd from persistent ones.
const (
	OriginKey    = "org.freedesktop.NetworkManager.origin"
	OriginInitrd = "nm-initrd-generator"
)

// KV is one key and value of a setting whose keys are free-form (bond
// options, s390 options, user data), kept in order.
type KV struct {
	Key, Value string
}

// Setting is a key and value of a section that the typed model does not
// cover. The keyfile decoder keeps them so that a round trip loses nothing.
type Setting struct {
	Section, Key, Value string
}

// Profile is one NetworkManager connection profile.
type Profile struct {
	// Name is the file name stem (nm-initrd-generator's registry key,
	// e.g. "eth0", "default_connection"). It is not a setting.
	Name string

	ID            string
	UUID          string
	Type          string
	InterfaceName string

	AutoconnectPriority int
	AutoconnectRetries  *int // nil: -1, NetworkManager's default
	MultiConnect        int  // 0 default, 1 single, 3 multiple
	WaitDeviceTimeout   *int // ms; nil: -1
	Controller          string
	PortType            string

	Match      Match
	Ethernet   *Ethernet
	Infiniband *Infiniband
	VLAN       *VLAN
	Bond       *Bond
	Bridge     *Bridge
	Team       bool // an empty [team] section
	BridgePort bool // an empty [bridge-port] section
	TeamPort   bool // an empty [team-port] section

	IPv4 *IPConfig // nil for ports
	IPv6 *IPConfig

	User  []KV
	Other []Setting
}

// Match is NetworkManager's [match] setting.
type Match struct {
	InterfaceName     []string
	Driver            []string
	Path              []string
	KernelCommandLine []string
}

// Empty reports whether no match property is set.
func (m Match) Empty() bool {
	return len(m.InterfaceName)+len(m.Driver)+len(m.Path)+len(m.KernelCommandLine) == 0
}

// Ethernet is the [ethernet] (802-3-ethernet) setting.
type Ethernet struct {
	MACAddress       string
	ClonedMACAddress string
	MTU              uint32
	AutoNegotiate    bool
	Speed            uint32
	Duplex           string
	S390NetType      string
	S390Subchannels  []string
	S390Options      []KV
}

// Infiniband is the [infiniband] setting.
type Infiniband struct {
	MACAddress    string
	MTU           uint32
	TransportMode string
	PKey          *int // nil: -1
	Parent        string
}

// VLAN is the [vlan] setting.
type VLAN struct {
	ID     uint32
	Parent string
	Flags  uint32
}

// Bond is the [bond] setting: its options in the order they are written.
type Bond struct {
	Options []KV
}

// Option returns the value of bond option k.
func (b *Bond) Option(k string) (string, bool) {
	for _, o := range b.Options {
		if o.Key == k {
			return o.Value, true
		}
	}
	return "", false
}

// SetOption sets bond option k, keeping the options sorted by name as
// NetworkManager writes them.
func (b *Bond) SetOption(k, v string) {
	for i := range b.Options {
		if b.Options[i].Key == k {
			b.Options[i].Value = v
			return
		}
	}
	b.Options = append(b.Options, KV{k, v})
	sort.SliceStable(b.Options, func(i, j int) bool { return b.Options[i].Key < b.Options[j].Key })
}

// Bridge is the [bridge] setting.
type Bridge struct {
	STP *bool // nil: true
}

// IPConfig is the [ipv4] or [ipv6] setting.
type IPConfig struct {
	Method    string
	Addresses []netip.Prefix
	Gateway   netip.Addr
	DNS       []netip.Addr
	DNSSearch []string
	Routes    []Route
	Rules     []Rule

	// Required is may-fail=false: activation fails without this family.
	Required         bool
	IgnoreAutoDNS    bool
	IgnoreAutoRoutes bool
	NeverDefault     bool
	RouteMetric      *int64 // nil: -1
	RouteTable       uint32
	RequiredTimeout  *int // ms; nil: -1

	DHCPTimeout     int // s; 0: default
	DHCPHostname    string
	DHCPClientID    string
	DHCPVendorClass string // ipv4.dhcp-vendor-class-identifier
	DHCPDSCP        string
	AddrGenMode     string // ipv6 only; "" is the keyfile default
}

// Route is one entry of ipvX.routes.
type Route struct {
	Dest    netip.Prefix
	Gateway netip.Addr // invalid (zero) when there is none
	Metric  *int64     // nil when unset
	Table   uint32
	Type    string // "" (unicast) or "local", ...
	OnLink  bool
	Src     netip.Addr
}

// Rule is one entry of ipvX.routing-rules.
type Rule struct {
	Priority             uint32
	From                 netip.Prefix
	To                   netip.Prefix
	Table                uint32
	SuppressPrefixLength *int // nil when unset
}

// Int returns a pointer to v, for the optional integer fields.
func Int(v int) *int { return &v }

// Int64 returns a pointer to v.
func Int64(v int64) *int64 { return &v }

// Bool returns a pointer to v.
func Bool(v bool) *bool { return &v }

// IsPort reports whether p is a port of a controller (bond, bridge, team).
func (p *Profile) IsPort() bool { return p.Controller != "" || p.PortType != "" }

// UserValue returns the value of the [user] key k.
func (p *Profile) UserValue(k string) string {
	for _, kv := range p.User {
		if kv.Key == k {
			return kv.Value
		}
	}
	return ""
}

// SetUser sets the [user] key k to v.
func (p *Profile) SetUser(k, v string) {
	for i := range p.User {
		if p.User[i].Key == k {
			p.User[i].Value = v
			return
		}
	}
	p.User = append(p.User, KV{k, v})
}

// IP returns the IPConfig of the family of a (IPv4 or IPv6).
func (p *Profile) IP(v6 bool) *IPConfig {
	if v6 {
		return p.IPv6
	}
	return p.IPv4
}
