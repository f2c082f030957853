package profiles

import (
	"net/netip"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	base := func() *Profile {
		return &Profile{ID: "eth0", UUID: "5b0bd1b8-1c1c-4d3b-9a8e-3b8d2a3c9d11", Type: TypeEthernet, InterfaceName: "eth0",
			IPv4: &IPConfig{Method: MethodAuto}, IPv6: &IPConfig{Method: MethodAuto}}
	}
	tests := []struct {
		name   string
		change func(p *Profile)
		err    string // substring; "" means valid
	}{
		{"valid", func(p *Profile) {}, ""},
		{"gateway without address", func(p *Profile) { p.IPv4.Gateway = netip.MustParseAddr("192.0.2.1") },
			"ipv4.gateway: gateway cannot be set if there are no addresses configured"},
		{"dns on disabled", func(p *Profile) {
			p.IPv4.Method = MethodDisabled
			p.IPv4.DNS = []netip.Addr{netip.MustParseAddr("192.0.2.53")}
		}, "ipv4.dns: this property is not allowed for 'method=disabled'"},
		{"manual without address", func(p *Profile) { p.IPv6.Method = MethodManual }, "ipv6.addresses: this property cannot be empty"},
		{"link-local with address", func(p *Profile) {
			p.IPv6.Method = MethodLinkLocal
			p.IPv6.Addresses = []netip.Prefix{netip.MustParsePrefix("2001:db8::2/64")}
		}, "ipv6.addresses: this property is not allowed for 'method=link-local'"},
		{"bad cloned mac", func(p *Profile) { p.Ethernet = &Ethernet{ClonedMACAddress: "zz"} }, "cloned-mac-address"},
		{"bond miimon and arp", func(p *Profile) {
			p.Type = TypeBond
			p.Bond = &Bond{}
			p.Bond.SetOption("miimon", "100")
			p.Bond.SetOption("arp_interval", "100")
		}, "only one of 'miimon' and 'arp_interval'"},
		{"bond arp without target", func(p *Profile) {
			p.Type = TypeBond
			p.Bond = &Bond{}
			p.Bond.SetOption("arp_interval", "100")
		}, "'arp_interval' requires"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base()
			tt.change(p)
			err := Validate(p)
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("Validate = %v, want an error containing %q", err, tt.err)
			}
		})
	}
}

func TestUUIDv4(t *testing.T) {
	var b [16]byte
	for i := range b {
		b[i] = 0xff
	}
	got := UUIDv4(b)
	if want := "ffffffff-ffff-4fff-bfff-ffffffffffff"; got != want {
		t.Errorf("UUIDv4(all ones) = %s, want %s", got, want)
	}
	if got := UUIDv4([16]byte{}); got != "00000000-0000-4000-8000-000000000000" || !ValidUUID(got) {
		t.Errorf("UUIDv4(zeros) = %s", got)
	}
}
