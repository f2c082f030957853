package initrd

import (
	"strings"
	"testing"

	"github.com/earlynet/earlynet/keyfile"
	"github.com/earlynet/earlynet/profiles"
)

// FuzzParse checks that no command line makes Parse panic, that every
// profile it returns is one NetworkManager would load, that its file name
// is a plain base name, and that its keyfile reads back the same.
func FuzzParse(f *testing.F) {
	for _, c := range []string{
		"ip=dhcp", "ip=192.0.2.2::192.0.2.1:24:h:eth0:none:192.0.2.53",
		"ip=[2001:db8::2]/56::[2001:db8::1]::h:eth4::[2001:db8::53]",
		"bond=bond0:eth0,eth1:mode=active-backup,miimon=100:9000 ip=bond0:dhcp",
		"vlan=vlan5:eth0 bridge=br0:vlan5 ip=br0:dhcp6", "ib.pkey=ib0.8004 ip=ib0.8004:dhcp",
		"rd.znet=qeth,0.0.0800,0.0.0801,0.0.0802,layer2=0 ip=enc800:dhcp",
		"BOOTIF=01-00-53-AB-cd-02-03 rd.neednet ip=eth0:dhcp rd.route=198.51.100.0/24:192.0.2.1",
		"rd.ethtool=eth0:on:100 rd.net.dhcp.client-id=eth0:01-02-03 ip=ibft",
		"ip=foo/bar:dhcp vlan=..:eth0 ip=\x01:dhcp",
	} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, line string) {
		res := Parse(strings.Fields(line), testEnv())
		for _, p := range res.Profiles {
			if err := profiles.Validate(p); err != nil {
				t.Fatalf("%q: returned invalid profile %s: %v", line, p.Name, err)
			}
			name := FileName(p.Name)
			if strings.ContainsAny(name, "/\x00") || name == ".nmconnection" {
				t.Fatalf("%q: unsafe file name %q", line, name)
			}
			data := keyfile.Encode(p)
			q, err := keyfile.Decode(data)
			if err != nil {
				t.Fatalf("%q: keyfile of %s does not decode: %v\n%s", line, p.Name, err, data)
			}
			if again := keyfile.Encode(q); string(again) != string(data) {
				t.Fatalf("%q: keyfile of %s changes on a round trip:\n%s\nvs\n%s", line, p.Name, data, again)
			}
		}
	})
}
