package initrd

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/earlynet/earlynet/keyfile"
)

// dtFS is a device tree whose boot path is bootpath, with MACs on the
// boot node; extra adds or replaces files under firmware/devicetree/base.
func dtFS(bootpath string, extra map[string]string) fstest.MapFS {
	const base = "firmware/devicetree/base/"
	fsys := fstest.MapFS{
		base + "chosen/bootpath":                           {Data: []byte(bootpath + "\x00")},
		base + "chosen/client-name":                        {Data: []byte("myhost\x00")},
		base + "pci@f0000000/ethernet@1/mac-address":       {Data: []byte{0xac, 0x7f, 0x3e, 0xe5, 0xd8, 0x18}},
		base + "pci@f0000000/ethernet@1/local-mac-address": {Data: []byte{0x02, 0x7f, 0x3e, 0xe5, 0xd8, 0x18}},
	}
	for k, v := range extra {
		fsys[base+k] = &fstest.MapFile{Data: []byte(v)}
	}
	return fsys
}

// TestOpenFirmware checks the dt-reader cases against what
// nm-initrd-generator 1.42 wrote for the same trees, except for the MAC,
// whose last byte NetworkManager gets wrong (quirk Q11).
func TestOpenFirmware(t *testing.T) {
	tests := []struct {
		name  string
		fsys  fstest.MapFS
		want  []string // lines the keyfile must contain
		avoid []string // lines it must not contain
	}{
		{"static from boot path",
			dtFS("/pci@f0000000/ethernet@1:speed=1000,duplex=full,1.2.3.4,/vmlinuz,192.0.2.5,192.0.2.1,255.255.255.0", nil),
			[]string{"id=OpenFirmware Connection", "autoconnect-priority=-200", "mac-address=AC:7F:3E:E5:D8:18",
				"cloned-mac-address=02:7F:3E:E5:D8:18", "speed=1000", "duplex=full",
				"address1=192.0.2.5/24,192.0.2.1", "method=manual", "method=disabled"},
			[]string{"dhcp-hostname=myhost"}},
		{"bootp", dtFS("/pci@f0000000/ethernet@1:bootp", nil),
			[]string{"dhcp-hostname=myhost", "method=auto"}, []string{"method=manual", "speed="}},
		{"binary properties", dtFS("/pci@f0000000/ethernet@1", map[string]string{
			"chosen/client-ip": "\xc0\x00\x02\x07", "chosen/netmask-ip": "\xff\xff\xff\x80", "chosen/gateway-ip": "\xc0\x00\x02\x01"}),
			[]string{"address1=192.0.2.7/25,192.0.2.1", "method=manual"}, nil},
		{"bootp response wins", dtFS("/pci@f0000000/ethernet@1:1.2.3.4,/vmlinuz,192.0.2.5,192.0.2.1,24",
			map[string]string{"chosen/bootp-response": "x"}),
			[]string{"method=auto", "dhcp-hostname=myhost"}, []string{"address1="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testEnv()
			env.SysFS = tt.fsys
			res := Parse([]string{"rd.iscsi.ibft"}, env)
			if len(res.Profiles) != 1 || res.Profiles[0].Name != "ofw" {
				t.Fatalf("got %d profiles, want the one ofw profile; warnings %v", len(res.Profiles), res.Warnings)
			}
			kf := string(keyfile.Encode(res.Profiles[0]))
			lines := strings.Split(kf, "\n")
			for _, w := range tt.want {
				if !contains(lines, w) {
					t.Errorf("keyfile lacks %q:\n%s", w, kf)
				}
			}
			for _, a := range tt.avoid {
				if strings.Contains(kf, a) {
					t.Errorf("keyfile has %q:\n%s", a, kf)
				}
			}
		})
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}
