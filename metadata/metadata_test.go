package metadata

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/earlynet/earlynet/keyfile"
	"github.com/earlynet/earlynet/profiles"
)

func TestNormalizeMAC(t *testing.T) {
	for in, want := range map[string]string{
		"000D3A047598": "00:0d:3a:04:75:98", "02-00-17-05-D1-DB": "02:00:17:05:d1:db",
		"0e:49:61:0f:c3:11\n": "0e:49:61:0f:c3:11", "bad": "", "00:11:22:33:44": "", "00:11:22:33:44:55:66:77": "",
	} {
		got, err := NormalizeMAC(in)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("NormalizeMAC(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		dmi  DMI
		want string
	}{
		{DMI{SysVendor: "Amazon EC2", ProductName: "m5.large"}, "ec2"},
		{DMI{ProductName: "HVM domU", BIOSVendor: "Amazon EC2"}, "ec2"},
		{DMI{SysVendor: "Google", ProductName: "Google Compute Engine"}, "gce"},
		{DMI{SysVendor: "Microsoft Corporation", ChassisAssetTag: azureAssetTag}, "azure"},
		{DMI{SysVendor: "Microsoft Corporation", ProductName: "Virtual Machine"}, ""}, // Hyper-V, not Azure
		{DMI{SysVendor: "Alibaba Cloud", ProductName: "Alibaba Cloud ECS"}, "aliyun"},
		{DMI{ChassisAssetTag: "OracleCloud.com"}, "oci"},
		{DMI{SysVendor: "QEMU", ProductName: "Standard PC (Q35 + ICH9, 2009)"}, ""},
	} {
		p, ok := Detect(tc.dmi)
		if got := map[bool]string{true: p.Name}[ok]; got != tc.want {
			t.Errorf("Detect(%+v) = %q, want %q", tc.dmi, got, tc.want)
		}
	}
}

func TestBaseURL(t *testing.T) {
	ec2, _ := Lookup("ec2")
	for env, want := range map[string]string{
		"": "http://169.254.169.254", "127.0.0.1:1338": "http://127.0.0.1:1338",
		"http://127.0.0.1:9/": "http://127.0.0.1:9", "https://imds.test": "https://imds.test",
	} {
		got := ec2.BaseURL(func(k string) string {
			if k != "NM_CLOUD_SETUP_EC2_HOST" {
				t.Errorf("read %s", k)
			}
			return env
		})
		if got != want {
			t.Errorf("NM_CLOUD_SETUP_EC2_HOST=%q: got %q, want %q", env, got, want)
		}
	}
}

// TestMergeReplacesOnlyOwnEntries: a second merge of the same config
// changes nothing; a merge after the metadata changed removes what the
// previous one added and keeps what the profile had of its own.
func TestMergeReplacesOnlyOwnEntries(t *testing.T) {
	own := netip.MustParsePrefix("192.0.2.200/24")
	p := &profiles.Profile{IPv4: &profiles.IPConfig{Method: profiles.MethodAuto, Addresses: []netip.Prefix{own}}}
	md1 := &Metadata{Interfaces: []Interface{{MAC: "02:00:00:00:00:01", IPv4s: addrList("192.0.2.10", "192.0.2.11"),
		Subnet4: netip.MustParsePrefix("192.0.2.0/24")}}}
	c1 := Plan(md1)[0]
	Merge(p, c1, Config{})
	first := string(keyfile.Encode(p))
	Merge(p, c1, c1)
	if diff := cmp.Diff(first, string(keyfile.Encode(p))); diff != "" {
		t.Errorf("second merge of the same config changed the profile (-first +second):\n%s", diff)
	}
	md2 := &Metadata{Interfaces: []Interface{{MAC: "02:00:00:00:00:01", IPv4s: addrList("192.0.2.10", "192.0.2.12"),
		Subnet4: netip.MustParsePrefix("192.0.2.0/24")}}}
	Merge(p, Plan(md2)[0], c1)
	want := []netip.Prefix{own, netip.MustParsePrefix("192.0.2.10/24"), netip.MustParsePrefix("192.0.2.12/24")}
	if diff := cmp.Diff(want, p.IPv4.Addresses, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("addresses after the metadata changed (-want +got):\n%s", diff)
	}
	for _, r := range p.IPv4.Rules {
		if r.From == netip.MustParsePrefix("192.0.2.11/32") {
			t.Errorf("rule for the removed address 192.0.2.11 is still there: %+v", r)
		}
	}
}

func TestSkipped(t *testing.T) {
	p := &profiles.Profile{}
	if Skipped(p) {
		t.Error("profile without the key skipped")
	}
	p.SetUser(SkipKey, "yes")
	if !Skipped(p) {
		t.Error("profile with org.freedesktop.nm-cloud-setup.skip=yes not skipped")
	}
}

func addrList(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}
