package nmhandover

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	otherUUID = "0b7c1f9e-5a4e-4c1e-9a8e-2f1d3c4b5a61"
	dhcpProf  = "[connection]\nid=earlynet eth0\nuuid=" + testUUID + "\ntype=ethernet\ninterface-name=eth0\n\n[ipv4]\nmethod=auto\n\n[ipv6]\naddr-gen-mode=eui64\nmethod=auto\n"
	stateText = "[device]\nmanaged=true\nconnection-uuid=" + testUUID + "\n\n[dhcp4]\ndhcp4.expiry=2000\ndhcp4.ip_address=192.0.2.133\n"
	leaseText = "# This is private data. Do not parse.\nADDRESS=192.0.2.133\n"
)

// fixture is a root and sysfs tree: path -> content ("" removes the
// file); profiles get mode 0600 unless the path says otherwise.
type fixture map[string]string

func baseFixture() fixture {
	return fixture{
		"run/NetworkManager/system-connections/eth0.nmconnection": dhcpProf,
		"run/NetworkManager/devices/2":                            stateText,
		"run/NetworkManager/internal-" + testUUID + "-eth0.lease": leaseText,
		"sys/class/net/lo/ifindex":                                "1\n",
		"sys/class/net/eth0/ifindex":                              "2\n",
	}
}

func (f fixture) with(changes fixture) fixture {
	out := fixture{}
	for k, v := range f {
		out[k] = v
	}
	for k, v := range changes {
		out[k] = v
	}
	return out
}

func (f fixture) build(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for p, text := range f {
		if text == "" {
			continue
		}
		path := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCheck(t *testing.T) {
	okLine := `ok    eth0 (ifindex 2) profile "earlynet eth0" ` + testUUID +
		`: NM will assume it (indicated by the state file); its DHCP client renews 192.0.2.133 with INIT-REBOOT (no DISCOVER)`
	fail := func(why string) string {
		return `FAIL  eth0 (ifindex 2) profile "earlynet eth0" ` + testUUID + ": " + why
	}
	tests := []struct {
		name string
		fx   fixture
		now  int64
		want []string
	}{
		{name: "clean hand-over", fx: baseFixture(), want: []string{okLine}},
		{
			name: "profile in etc is found too",
			fx: baseFixture().with(fixture{
				"run/NetworkManager/system-connections/eth0.nmconnection": "",
				"etc/NetworkManager/system-connections/eth0.nmconnection": dhcpProf,
			}),
			want: []string{okLine},
		},
		{
			name: "profile in etc without extension",
			fx: baseFixture().with(fixture{
				"run/NetworkManager/system-connections/eth0.nmconnection": "",
				"etc/NetworkManager/system-connections/eth0":              dhcpProf,
			}),
			want: []string{okLine},
		},
		{
			name: "lease file in var/lib",
			fx: baseFixture().with(fixture{
				"run/NetworkManager/internal-" + testUUID + "-eth0.lease":     "",
				"var/lib/NetworkManager/internal-" + testUUID + "-eth0.lease": leaseText,
			}),
			want: []string{okLine},
		},
		{
			name: "no devices directory",
			fx:   baseFixture().with(fixture{"run/NetworkManager/devices/2": ""}),
			want: []string{"FAIL  eth0 (ifindex 2) profile " + testUUID +
				": run/NetworkManager/devices is missing: NM starts in first-start mode and can at best guess a profile"},
		},
		{
			name: "state file for another device only",
			fx: baseFixture().with(fixture{
				"run/NetworkManager/devices/2": "",
				"run/NetworkManager/devices/1": "[device]\nmanaged=false\n",
			}),
			want: []string{
				"FAIL  lo (ifindex 1): " + "run/NetworkManager/devices/1: managed=false: NM leaves the device unmanaged; " +
					"run/NetworkManager/devices/1 has no connection-uuid: NM generates an external profile and runs no DHCP",
				"FAIL  eth0 (ifindex 2) profile " + testUUID +
					": lease file run/NetworkManager/internal-" + testUUID + "-eth0.lease but no state file in run/NetworkManager/devices for this interface: NM treats it as externally configured and runs no DHCP",
			},
		},
		{
			name: "managed missing",
			fx:   baseFixture().with(fixture{"run/NetworkManager/devices/2": "[device]\nconnection-uuid=" + testUUID + "\n"}),
			want: []string{fail("run/NetworkManager/devices/2 has no managed=true: NM ignores its connection-uuid")},
		},
		{
			name: "UUID without a profile",
			fx:   baseFixture().with(fixture{"run/NetworkManager/devices/2": "[device]\nmanaged=true\nconnection-uuid=" + otherUUID + "\n"}),
			want: []string{"FAIL  eth0 (ifindex 2) profile " + otherUUID + ": no loadable profile with UUID " + otherUUID +
				" in run/NetworkManager/system-connections, etc/NetworkManager/system-connections, usr/lib/NetworkManager/system-connections"},
		},
		{
			name: "profile does not decode",
			fx:   baseFixture().with(fixture{"run/NetworkManager/system-connections/eth0.nmconnection": "[connection]\nid=x\nuuid=" + testUUID + "\n"}),
			want: []string{"FAIL  eth0 (ifindex 2) profile " + testUUID +
				": profile run/NetworkManager/system-connections/eth0.nmconnection does not load: keyfile has no connection.type"},
		},
		{
			name: "lease for another profile",
			fx: baseFixture().with(fixture{
				"run/NetworkManager/internal-" + testUUID + "-eth0.lease":  "",
				"run/NetworkManager/internal-" + otherUUID + "-eth0.lease": leaseText,
			}),
			want: []string{fail("no lease file internal-" + testUUID + "-eth0.lease in run/NetworkManager or var/lib/NetworkManager: " +
				"NM's DHCP client starts over with DISCOVER (found lease files for another profile or interface: run/NetworkManager/internal-" + otherUUID + "-eth0.lease)")},
		},
		{
			name: "ipv6 ignore",
			fx:   baseFixture().with(fixture{"run/NetworkManager/system-connections/eth0.nmconnection": dhcpProf[:len(dhcpProf)-len("method=auto\n")] + "method=ignore\n"}),
			want: []string{fail("profile run/NetworkManager/system-connections/eth0.nmconnection has ipv6.method=ignore: NM bounces disable_ipv6 and deletes every IPv6 address and route (use auto or disabled)")},
		},
		{
			name: "lease expired",
			fx:   baseFixture(),
			now:  2000,
			want: []string{fail("the DHCP lease for 192.0.2.133 expired at 1970-01-01T00:33:20Z: the server may refuse the INIT-REBOOT request")},
		},
		{
			name: "stale ifindex",
			fx:   baseFixture().with(fixture{"sys/class/net/eth0/ifindex": "5\n"}),
			want: []string{`FAIL  eth0 (ifindex 2) profile "earlynet eth0" ` + testUUID + ": no interface has ifindex 2 (state file from another boot?)",
				"FAIL  eth0 (ifindex 5) profile " + testUUID + ": lease file run/NetworkManager/internal-" + testUUID + "-eth0.lease but no state file in run/NetworkManager/devices for this interface: NM treats it as externally configured and runs no DHCP"},
		},
		{
			name: "static profile needs no lease",
			fx: baseFixture().with(fixture{
				"run/NetworkManager/system-connections/eth0.nmconnection": "[connection]\nid=s\nuuid=" + testUUID + "\ntype=ethernet\n\n[ipv4]\naddress1=192.0.2.77/24\nmethod=manual\n\n[ipv6]\nmethod=disabled\n",
				"run/NetworkManager/internal-" + testUUID + "-eth0.lease": "",
				"run/NetworkManager/devices/2":                            "[device]\nmanaged=true\nconnection-uuid=" + testUUID + "\n",
			}),
			want: []string{`ok    eth0 (ifindex 2) profile "s" ` + testUUID + ": NM will assume it (indicated by the state file)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tt.fx.build(t)
			now := tt.now
			if now == 0 {
				now = 1000
			}
			c := Checker{Root: root, Sysfs: filepath.Join(root, "sys"), Now: time.Unix(now, 0)}
			fs, err := c.Check()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fs {
				got = append(got, f.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckInsecureProfile(t *testing.T) {
	root := baseFixture().build(t)
	p := filepath.Join(root, "run/NetworkManager/system-connections/eth0.nmconnection")
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := Checker{Root: root, Sysfs: filepath.Join(root, "sys"), Now: time.Unix(1000, 0)}.Check()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"profile run/NetworkManager/system-connections/eth0.nmconnection has mode 0644: NM refuses keyfiles readable by group or others"}
	if len(fs) != 1 {
		t.Fatalf("got %d findings, want 1", len(fs))
	}
	if diff := cmp.Diff(want, fs[0].Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestCheckReadsWhatWriteWrites closes the loop: a Write followed by a
// profile is a clean hand-over, and the lease's expiry is honoured.
func TestCheckReadsWhatWriteWrites(t *testing.T) {
	root := fixture{
		"run/NetworkManager/system-connections/eth0.nmconnection": dhcpProf,
		"sys/class/net/eth0/ifindex":                              "2\n",
	}.build(t)
	d := nmExampleDevice()
	d.Name = "eth0"
	if _, err := (&Writer{Root: root}).Write(State{Devices: []Device{d}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		now  time.Time
		want bool
	}{{d.DHCP4.Expiry().Add(-time.Second), true}, {d.DHCP4.Expiry(), false}} {
		fs, err := Checker{Root: root, Sysfs: filepath.Join(root, "sys"), Now: tc.now}.Check()
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 1 || fs[0].OK() != tc.want {
			t.Errorf("at %v: got %v, want one finding with OK()=%v", tc.now, fs, tc.want)
		}
	}
}

// TestCheckRADefault uses /proc/net/ipv6_route lines as the kernel prints
// them: an RA-installed default route (RTF_UP|GATEWAY|DEFAULT|ADDRCONF|
// EXPIRES, metric 1024) is reported, one added over netlink is not.
func TestCheckRADefault(t *testing.T) {
	ra := "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00450003     eth0\n"
	nm := "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000064 00000001 00000000 00000003     eth0\n"
	other := "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00450003     eth1\n"
	for _, tc := range []struct {
		name, routes string
		want         []string
	}{
		{"kernel RA route", nm + ra, []string{"the kernel's router-advertisement default route (metric 1024) is on eth0: NM deletes it after taking over; install the default route as NM does (proto ra, the device's metric) and set accept_ra=0"}},
		{"NM-style route only", nm + other, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := baseFixture().with(fixture{"proc/net/ipv6_route": tc.routes}).build(t)
			fs, err := Checker{Root: root, Sysfs: filepath.Join(root, "sys"), Proc: filepath.Join(root, "proc"), Now: time.Unix(1000, 0)}.Check()
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != 1 {
				t.Fatalf("got %d findings, want 1", len(fs))
			}
			if diff := cmp.Diff(tc.want, fs[0].Problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckDHCP6Identity: a [dhcp6] lease obtained with another IAID or
// DUID than NM's defaults is reported; the NM 1.42 test-core.c vectors
// give the expected values for "eth0".
func TestCheckDHCP6Identity(t *testing.T) {
	state := func(iaid, duid string) string {
		return "[device]\nmanaged=true\nconnection-uuid=" + testUUID + "\n\n[dhcp4]\ndhcp4.ip_address=192.0.2.133\n\n[dhcp6]\n" +
			"dhcp6.dhcp6_client_id=" + duid + "\ndhcp6.iaid=" + iaid + "\n"
	}
	nmDUID := "00:04:9f:31:04:51:86:99:72:c4:82:26:47:08:da:5d:5e:c7"
	for _, tc := range []struct {
		name, state, prof string
		want              []string
	}{
		{"same identity", state("2b:50:67:35", nmDUID), dhcpProf, nil},
		{"IAID from the MAC", state("00:00:00:c1", nmDUID), dhcpProf,
			[]string{"the DHCPv6 lease was obtained with IAID 00:00:00:c1 but NM will use 2b:50:67:35 (from the interface name): the server hands NM a second address"}},
		{"IAID pinned in the profile", state("00:00:00:c1", nmDUID), dhcpProf + "dhcp-iaid=mac\n", nil},
		{"DUID-LL", state("2b:50:67:35", "00:03:00:01:02:00:00:00:00:c1"), dhcpProf,
			[]string{"the DHCPv6 lease was obtained with DUID 00:03:00:01:02:00:00:00:00:c1 but NM will use " + nmDUID + " (from etc/machine-id): the server sees a new client"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := baseFixture().with(fixture{
				"run/NetworkManager/devices/2":                            tc.state,
				"run/NetworkManager/system-connections/eth0.nmconnection": tc.prof,
				"etc/machine-id": "cbc22e47418e402aa7b30dea928394ef\n",
			}).build(t)
			fs, err := Checker{Root: root, Sysfs: filepath.Join(root, "sys"), Now: time.Unix(1000, 0)}.Check()
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != 1 {
				t.Fatalf("got %d findings, want 1", len(fs))
			}
			if diff := cmp.Diff(tc.want, fs[0].Problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIgnoreKeyfileName(t *testing.T) {
	for _, tc := range []struct {
		name       string
		requireExt bool
		want       bool
	}{
		{"eth0.nmconnection", true, false},
		{"eth0", true, true},
		{".nmconnection", true, true},
		{".eth0.nmconnection", true, true},
		{"eth0", false, false},
		{"eth0~", false, true},
		{"eth0.Ab12cD", false, true},
		{"ca.PEM", false, true},
		{"eth0.nmconnection", false, false},
	} {
		if got := ignoreKeyfileName(tc.name, tc.requireExt); got != tc.want {
			t.Errorf("ignoreKeyfileName(%q, %v) = %v, want %v", tc.name, tc.requireExt, got, tc.want)
		}
	}
}
