package profiles

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFnmatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"eth0", "eth0", true},
		{"eth0", "eth1", false},
		{"eth*", "eth12", true},
		{"eth*", "eth", true},
		{"eth*", "en0", false},
		{"*", "", true},
		{"e?h0", "eth0", true},
		{"e?h0", "eh0", false},
		{"eth[0-3]", "eth2", true},
		{"eth[0-3]", "eth7", false},
		{"eth[!0-3]", "eth7", true},
		{"eth[^0-3]", "eth1", false},
		{"ens[35]", "ens5", true},
		{`eth\*`, "eth*", true},
		{`eth\*`, "eth0", false},
		{"eth[", "eth[", true},
		{"pci-*:03.0", "pci-0000:00:03.0", true},
		{"*a*b", "xaxxb", true},
		{"*a*b", "xaxxbc", false},
		{"a*/b", "a/x/b", true}, // no FNM_PATHNAME: '*' crosses '/'
	}
	for _, tt := range tests {
		if got := fnmatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("fnmatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		name     string
		s        string
		patterns []string
		want     bool
	}{
		{"empty list matches", "eth0", nil, true},
		{"one optional hit", "eth0", []string{"eth0"}, true},
		{"optional miss", "eth0", []string{"eth1"}, false},
		{"any optional suffices", "eth1", []string{"eth0", "eth1"}, true},
		{"pipe is optional", "eth1", []string{"|eth0", "|eth1"}, true},
		{"bare ! is mandatory inverted: excluded", "eth0", []string{"!eth0"}, false},
		{"bare ! alone matches others", "eth1", []string{"!eth0"}, true},
		{"inverted plus optional", "eth1", []string{"eth*", "!eth0"}, true},
		{"inverted excludes despite optional", "eth0", []string{"eth*", "!eth0"}, false},
		{"mandatory must hold", "eth0", []string{"&eth*", "&*0"}, true},
		{"mandatory fails", "eth1", []string{"&eth*", "&*0"}, false},
		{"mandatory holds but no optional hit", "eth1", []string{"&eth*", "en*"}, false},
		{"& then !", "eth1", []string{"&!eth0"}, true},
		{"| then ! is optional inverted", "eth0", []string{"|!eth0", "eth0"}, true},
		{"| then ! alone", "eth0", []string{"|!eth0"}, false},
		{"escaped bang is literal", "!a", []string{`&\!a`}, true},
		{"escaped bang does not match a", "a", []string{`\!a`}, false},
		{"empty string against wildcard", "", []string{"*"}, true},
		{"empty string against name", "", []string{"virtio*"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := WildcardMatch(tt.s, tt.patterns); got != tt.want {
				t.Errorf("WildcardMatch(%q, %q) = %v, want %v", tt.s, tt.patterns, got, tt.want)
			}
		})
	}
}

func TestKernelCmdlineMatch(t *testing.T) {
	cmdline := []string{"root=/dev/vda1", "ro", "ip=dhcp", "rd.neednet=1"}
	tests := []struct {
		patterns []string
		want     bool
	}{
		{nil, true},
		{[]string{"ro"}, true},
		{[]string{"ip"}, true},             // key only matches key=value
		{[]string{"ip=dhcp"}, true},        // full token
		{[]string{"ip=dhcp6"}, false},      // value differs
		{[]string{"rd"}, false},            // no prefix matching of keys
		{[]string{"rd.neednet=1"}, true},   // dotted key
		{[]string{"!ro"}, false},           // inverted, mandatory
		{[]string{"!quiet"}, true},         // absent token
		{[]string{"&ro", "&ip"}, true},     // all mandatory
		{[]string{"&ro", "&quiet"}, false}, // one mandatory missing
	}
	for _, tt := range tests {
		if got := KernelCmdlineMatch(cmdline, tt.patterns); got != tt.want {
			t.Errorf("KernelCmdlineMatch(%q) = %v, want %v", tt.patterns, got, tt.want)
		}
	}
}

func TestCompatible(t *testing.T) {
	eth0 := Device{Name: "eth0", Index: 2, Kind: KindEthernet, MAC: "02:00:00:00:00:01",
		PermMAC: "52:54:00:12:34:56", Driver: "virtio_net", Path: "pci-0000:00:03.0"}
	veth := Device{Name: "veth0", Index: 3, Kind: KindEthernet, MAC: "02:00:00:00:00:aa", Driver: "veth"}
	cmdline := []string{"ip=dhcp"}
	tests := []struct {
		name string
		p    Profile
		d    Device
		ok   bool
	}{
		{"untyped default", Profile{Type: TypeEthernet}, eth0, true},
		{"bond profile on NIC", Profile{Type: TypeBond, InterfaceName: "eth0"}, eth0, false},
		{"name equal", Profile{Type: TypeEthernet, InterfaceName: "eth0"}, eth0, true},
		{"name differs", Profile{Type: TypeEthernet, InterfaceName: "eth1"}, eth0, false},
		{"permanent MAC, any case", Profile{Type: TypeEthernet, Ethernet: &Ethernet{MACAddress: "52:54:00:12:34:56"}}, eth0, true},
		{"current MAC is not permanent", Profile{Type: TypeEthernet, Ethernet: &Ethernet{MACAddress: "02:00:00:00:00:01"}}, eth0, false},
		{"veth: current MAC", Profile{Type: TypeEthernet, Ethernet: &Ethernet{MACAddress: "02:00:00:00:00:AA"}}, veth, true},
		{"driver", Profile{Type: TypeEthernet, Match: Match{Driver: []string{"virtio*"}}}, eth0, true},
		{"driver excludes", Profile{Type: TypeEthernet, Match: Match{Driver: []string{"virtio*"}}}, veth, false},
		{"path", Profile{Type: TypeEthernet, Match: Match{Path: []string{"pci-0000:00:03.0"}}}, eth0, true},
		{"path none on veth", Profile{Type: TypeEthernet, Match: Match{Path: []string{"pci-*"}}}, veth, false},
		{"interface-name wildcard", Profile{Type: TypeEthernet, Match: Match{InterfaceName: []string{"veth*"}}}, veth, true},
		{"interface-name inverted", Profile{Type: TypeEthernet, Match: Match{InterfaceName: []string{"!veth*"}}}, veth, false},
		{"kernel-command-line", Profile{Type: TypeEthernet, Match: Match{KernelCommandLine: []string{"ip"}}}, eth0, true},
		{"kernel-command-line missing", Profile{Type: TypeEthernet, Match: Match{KernelCommandLine: []string{"netroot"}}}, eth0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Compatible(&tt.p, tt.d, cmdline)
			if (err == nil) != tt.ok {
				t.Fatalf("Compatible = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrIncompatible) {
				t.Errorf("error %v does not wrap ErrIncompatible", err)
			}
		})
	}
}

func TestAssign(t *testing.T) {
	devs := []Device{
		{Name: "eth1", Index: 3, Kind: KindEthernet, MAC: "02:00:00:00:00:02"},
		{Name: "eth0", Index: 2, Kind: KindEthernet, MAC: "02:00:00:00:00:01"},
		{Name: "lo", Index: 1, Kind: KindLoopback},
		{Name: "eth2", Index: 4, Kind: KindEthernet, MAC: "02:00:00:00:00:03"},
	}
	named := &Profile{Name: "eth0", Type: TypeEthernet, InterfaceName: "eth0", AutoconnectPriority: -100}
	dflt := &Profile{Name: "default_connection", Type: TypeEthernet, MultiConnect: 3, AutoconnectPriority: -100}
	bootif := &Profile{Name: "bootif_connection", Type: TypeEthernet, AutoconnectPriority: -200,
		Ethernet: &Ethernet{MACAddress: "02:00:00:00:00:03"}}
	single := &Profile{Name: "single", Type: TypeEthernet, AutoconnectPriority: -300}

	type pair struct{ Dev, Profile string }
	flatten := func(as []Assignment) []pair {
		var out []pair
		for _, a := range as {
			out = append(out, pair{a.Device.Name, a.Profile.Name})
		}
		return out
	}
	tests := []struct {
		name string
		ps   []*Profile
		want []pair
	}{
		{"named only: others untouched", []*Profile{named}, []pair{{"eth0", "eth0"}}},
		{"multi-connect default on all ethernet", []*Profile{dflt},
			[]pair{{"eth0", "default_connection"}, {"eth1", "default_connection"}, {"eth2", "default_connection"}}},
		{"bootif by MAC only", []*Profile{bootif}, []pair{{"eth2", "bootif_connection"}}},
		{"higher priority wins", []*Profile{bootif, dflt},
			[]pair{{"eth0", "default_connection"}, {"eth1", "default_connection"}, {"eth2", "default_connection"}}},
		{"single-connect used once, lowest index", []*Profile{single}, []pair{{"eth0", "single"}}},
		{"named first, single takes the next", []*Profile{single, named}, []pair{{"eth0", "eth0"}, {"eth1", "single"}}},
		{"no profiles: nothing", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := flatten(Assign(tt.ps, devs, nil))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Assign (-want +got):\n%s", diff)
			}
		})
	}
}
