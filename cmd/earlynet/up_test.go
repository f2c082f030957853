package main

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/earlynet/earlynet/cmd/internal/dhcp4"
	"github.com/earlynet/earlynet/cmd/internal/nmhandover"
	"github.com/earlynet/earlynet/profiles"
)

func TestSatisfied(t *testing.T) {
	req := &profiles.IPConfig{Method: profiles.MethodAuto, Required: true}
	opt := &profiles.IPConfig{Method: profiles.MethodAuto}
	optRT := &profiles.IPConfig{Method: profiles.MethodAuto, RequiredTimeout: profiles.Int(20000)}
	off := &profiles.IPConfig{Method: profiles.MethodDisabled}
	ok4 := &famResult{}
	ok6 := &famResult{v6: true}
	bad4 := &famResult{err: errors.New("x")}
	tests := []struct {
		name         string
		p            profiles.Profile
		fams         []*famResult
		sat, waiting bool
	}{
		{"required v4 done", profiles.Profile{IPv4: req, IPv6: opt}, []*famResult{ok4}, true, false},
		{"required v4 missing, v6 done", profiles.Profile{IPv4: req, IPv6: opt}, []*famResult{ok6}, false, false},
		{"required v4 failed", profiles.Profile{IPv4: req, IPv6: opt}, []*famResult{bad4, ok6}, false, false},
		{"both optional, one done", profiles.Profile{IPv4: opt, IPv6: opt}, []*famResult{ok6}, true, false},
		{"nothing done", profiles.Profile{IPv4: opt, IPv6: opt}, nil, false, false},
		{"required-timeout family pending", profiles.Profile{IPv4: optRT, IPv6: opt}, []*famResult{ok6}, true, true},
		{"required-timeout family done", profiles.Profile{IPv4: optRT, IPv6: opt}, []*famResult{ok4}, true, false},
		{"disabled families ignored", profiles.Profile{IPv4: req, IPv6: off}, []*famResult{ok4}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := satisfied(&tt.p, tt.fams); got != tt.sat {
				t.Errorf("satisfied: got %v, want %v", got, tt.sat)
			}
			if got := awaiting(&tt.p, tt.fams); got != tt.waiting {
				t.Errorf("awaiting: got %v, want %v", got, tt.waiting)
			}
		})
	}
	if got := requiredTimeout(&profiles.Profile{IPv4: optRT, IPv6: opt}); got != 20*time.Second {
		t.Errorf("requiredTimeout: got %v, want 20s", got)
	}
}

func TestAssignMetrics(t *testing.T) {
	eth := func(idx int) *activation {
		return &activation{dev: profiles.Device{Index: idx}, prof: &profiles.Profile{Type: profiles.TypeEthernet}}
	}
	custom := &activation{dev: profiles.Device{Index: 1}, prof: &profiles.Profile{Type: profiles.TypeEthernet,
		IPv4: &profiles.IPConfig{RouteMetric: profiles.Int64(100)}}}
	br := &activation{dev: profiles.Device{Index: 9}, prof: &profiles.Profile{Type: profiles.TypeBridge}}
	acts := []*activation{eth(5), eth(3), custom, br}
	assignMetrics(acts)
	type m struct{ Index, Base, Metric int }
	var got []m
	for _, a := range acts {
		got = append(got, m{a.dev.Index, a.base, a.metric})
	}
	want := []m{{1, 100, 100}, {3, 100, 101}, {5, 100, 102}, {9, 425, 425}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

func TestClientID(t *testing.T) {
	hw := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	tests := []struct {
		v    string
		want []byte
		warn bool
	}{
		{"", []byte{1, 2, 0, 0, 0, 0, 1}, false},
		{"mac", []byte{1, 2, 0, 0, 0, 0, 1}, false},
		{"none", nil, false},
		{"01:aa:bb", []byte{1, 0xaa, 0xbb}, false},
		{"host-a", append([]byte{0}, "host-a"...), false},
		{"duid", []byte{1, 2, 0, 0, 0, 0, 1}, true},
	}
	for _, tt := range tests {
		got, warn := clientID(tt.v, hw)
		if diff := cmp.Diff(tt.want, got); diff != "" || (warn != "") != tt.warn {
			t.Errorf("clientID(%q): got %x warn %q, want %x warn=%v", tt.v, got, warn, tt.want, tt.warn)
		}
	}
}

func TestStableUUIDs(t *testing.T) {
	a, b := stableUUIDs([]string{"ip=dhcp"}), stableUUIDs([]string{"ip=dhcp"})
	c := stableUUIDs([]string{"ip=eth0:dhcp"})
	a1, a2 := a(), a()
	if a1 != b() || a2 != b() {
		t.Error("same command line gave different UUID sequences")
	}
	if a1 == a2 || a1 == c() {
		t.Error("UUIDs repeat across profiles or command lines")
	}
	if !profiles.ValidUUID(a1) || a1[14] != '4' {
		t.Errorf("%q is not a version 4 UUID", a1)
	}
}

func TestDeviceState(t *testing.T) {
	a := &activation{dev: profiles.Device{Name: "eth0", Index: 2}, prof: &profiles.Profile{UUID: "5b7c1f9e-5a4e-4c1e-9a8e-2f1d3c4b5a60"},
		base: 100, metric: 101}
	l := &dhcp4.Lease{
		Address:    netip.MustParsePrefix("192.0.2.133/24"),
		Gateway:    netip.MustParseAddr("192.0.2.1"),
		DNS:        []netip.Addr{netip.MustParseAddr("192.0.2.53")},
		Hostname:   "vm",
		LeaseTime:  time.Hour,
		ServerID:   netip.MustParseAddr("192.0.2.1"),
		NextServer: netip.MustParseAddr("192.0.2.1"),
		Acquired:   time.Unix(1795374215, 0),
		ClientID:   []byte{1, 2, 0, 0, 0, 0, 0xc1},
	}
	want := `[device]
managed=true
connection-uuid=5b7c1f9e-5a4e-4c1e-9a8e-2f1d3c4b5a60
route-metric-default-effective=101
route-metric-default-aspired=100
next-server=192.0.2.1

[dhcp4]
dhcp4.broadcast_address=192.0.2.255
dhcp4.dhcp_client_identifier=01:02:00:00:00:00:c1
dhcp4.dhcp_lease_time=3600
dhcp4.dhcp_server_identifier=192.0.2.1
dhcp4.domain_name_servers=192.0.2.53
dhcp4.expiry=1795377815
dhcp4.host_name=vm
dhcp4.ip_address=192.0.2.133
dhcp4.next_server=192.0.2.1
dhcp4.routers=192.0.2.1
dhcp4.subnet_mask=255.255.255.0
`
	r := &devResult{act: a, fams: []*famResult{{lease: l, gateway: l.Gateway}}}
	devs := handoverDevices(r)
	if len(devs) != 1 {
		t.Fatalf("got %d devices, want 1", len(devs))
	}
	if diff := cmp.Diff(want, string(nmhandover.StateFile(devs[0]))); diff != "" {
		t.Errorf("state file (-want +got):\n%s", diff)
	}
	port := &activation{dev: profiles.Device{Name: "eth1", Index: 3}, prof: &profiles.Profile{UUID: "x"}, created: true}
	bond := &activation{dev: profiles.Device{Name: "bond0", Index: 4}, prof: &profiles.Profile{UUID: "y"}, created: true, ports: []*activation{port}}
	devs = handoverDevices(&devResult{act: bond})
	if len(devs) != 2 || devs[0].Ifindex != 3 || devs[1].Ifindex != 4 {
		t.Fatalf("bond and port: got %+v, want port 3 then bond 4", devs)
	}
	if diff := cmp.Diff("[device]\nmanaged=true\nconnection-uuid=x\nnm-owned=true\n", string(nmhandover.StateFile(devs[0]))); diff != "" {
		t.Errorf("port state file (-want +got):\n%s", diff)
	}
}

func TestValidHostname(t *testing.T) {
	for h, want := range map[string]bool{
		"host1": true, "a.example.test": true, "": false, "../etc": false, "a/b": false,
		"a\nb": false, "x y": false, string(make([]byte, 65)): false,
	} {
		if got := validHostname(h); got != want {
			t.Errorf("validHostname(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestDUIDFromMachineID(t *testing.T) {
	d, ok := duidFromMachineID("0123456789abcdef0123456789abcdef")
	if !ok {
		t.Fatal("valid machine id refused")
	}
	// 00:04 + SHA-256(binary machine id)[:16], as NetworkManager derives it.
	want := "00:04:22:3e:0a:16:0a:f9:da:0a:03:e6:dd:2c:47:19:c5:6f"
	if got := nmhandover.ColonHex(d.ToBytes()); got != want {
		t.Errorf("DUID: got %s, want %s", got, want)
	}
	for _, bad := range []string{"", "0123", "zz23456789abcdef0123456789abcdef"} {
		if _, ok := duidFromMachineID(bad); ok {
			t.Errorf("machine id %q accepted", bad)
		}
	}
}

func TestCheckReply6(t *testing.T) {
	reply := func(addr string, valid time.Duration, status iana.StatusCode) *dhcpv6.Message {
		m, _ := dhcpv6.NewMessage()
		m.MessageType = dhcpv6.MessageTypeReply
		ia := &dhcpv6.OptIANA{IaId: [4]byte{1, 2, 3, 4}}
		ia.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: net.ParseIP(addr), PreferredLifetime: valid, ValidLifetime: valid})
		if status != 0 {
			ia.Options.Add(&dhcpv6.OptStatusCode{StatusCode: status, StatusMessage: "no"})
		}
		m.AddOption(ia)
		m.AddOption(dhcpv6.OptDNS(net.ParseIP("2001:db8:1::53")))
		return m
	}
	l, err := checkReply6(reply("2001:db8:1::100", time.Hour, 0))
	if err != nil {
		t.Fatal(err)
	}
	if l.Address != netip.MustParseAddr("2001:db8:1::100") || l.Valid != time.Hour || len(l.DNS) != 1 {
		t.Errorf("lease: got %+v", l)
	}
	for name, m := range map[string]*dhcpv6.Message{
		"zero lifetime": reply("2001:db8:1::100", 0, 0),
		"link-local":    reply("fe80::1", time.Hour, 0),
		"unspecified":   reply("::", time.Hour, 0),
		"NoAddrsAvail":  reply("2001:db8:1::100", time.Hour, iana.StatusNoAddrsAvail),
	} {
		if _, err := checkReply6(m); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestControllerName(t *testing.T) {
	ps := []*profiles.Profile{
		{UUID: "11111111-1111-4111-8111-111111111111", InterfaceName: "bond0", Type: profiles.TypeBond},
		{UUID: "22222222-2222-4222-8222-222222222222", Type: profiles.TypeBridge}, // no interface name
	}
	for ref, want := range map[string]string{
		"11111111-1111-4111-8111-111111111111": "bond0", // connection.master by UUID
		"br0":                                  "br0",   // by interface name
		"22222222-2222-4222-8222-222222222222": "22222222-2222-4222-8222-222222222222",
	} {
		if got := controllerName(ref, ps); got != want {
			t.Errorf("controllerName(%q) = %q, want %q", ref, got, want)
		}
	}
}
