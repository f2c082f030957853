package metadata

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/earlynet/earlynet/keyfile"
	"github.com/earlynet/earlynet/profiles"
)

// checkPlan: whatever a parser accepted must plan into profiles that
// validate and survive a keyfile round trip, and merging them twice
// changes nothing.
func checkPlan(t *testing.T, md *Metadata) {
	t.Helper()
	if md == nil {
		return
	}
	for _, c := range Plan(md) {
		p := NewProfile(c, "cloud-x", "00000000-0000-4000-8000-000000000000")
		if err := profiles.Validate(p); err != nil {
			t.Fatalf("invalid profile for %+v: %v", c, err)
		}
		text := keyfile.Encode(p)
		q, err := keyfile.Decode(text)
		if err != nil {
			t.Fatalf("keyfile does not decode: %v\n%s", err, text)
		}
		Merge(q, c, c)
		if again := keyfile.Encode(q); string(again) != string(text) {
			t.Fatalf("merging the same configuration again changed the profile:\n%s\n---\n%s", text, again)
		}
	}
}

func seedJSON(f *testing.F, provider string) {
	paths, _ := filepath.Glob(filepath.Join("testdata", provider, "*.json"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

// FuzzAzure and FuzzOCI: the metadata services' JSON documents.
func FuzzAzure(f *testing.F) {
	seedJSON(f, "azure")
	f.Add([]byte(`{"interface":[{"macAddress":"000D3A000001","ipv4":{"ipAddress":[{"privateIpAddress":"10.0.0.4"}],"subnet":[{"address":"10.0.0.0","prefix":"99"}]}}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		md, _ := Azure(doc)
		checkPlan(t, md)
	})
}

func FuzzOCI(f *testing.F) {
	seedJSON(f, "oci")
	f.Fuzz(func(t *testing.T, doc []byte) {
		md, _ := OCI(doc)
		checkPlan(t, md)
	})
}

// FuzzEC2: the listing and one MAC's leaves, as text.
func FuzzEC2(f *testing.F) {
	f.Add("0e:49:61:0f:c3:11/\n", "0", "172.31.5.10\n172.31.5.11", "172.31.0.0/20", "2001:db8::5", "2001:db8::/64")
	f.Add("0e-49-61-0f-c3-11\n0e:49:61:0f:c3:11/", "99", "::1", "1.2.3.4/33", "x", "")
	f.Fuzz(func(t *testing.T, listing, dev, v4, sub4, v6, sub6 string) {
		leaves := map[string]map[string]string{}
		for _, mac := range strings.Split(listing, "\n") {
			leaves[strings.TrimSuffix(mac, "/")] = map[string]string{"device-number": dev, "local-ipv4s": v4,
				"subnet-ipv4-cidr-block": sub4, "ipv6s": v6, "subnet-ipv6-cidr-blocks": sub6}
		}
		md, _ := EC2(listing, "", leaves)
		checkPlan(t, md)
	})
}

// FuzzGCE: one NIC's values.
func FuzzGCE(f *testing.F) {
	f.Add("42:01:0a:80:00:13", "203.0.113.7", "10.8.0.0/24", "2001:db8::1", "2001:db8:5::/96")
	f.Fuzz(func(t *testing.T, mac, fwd, alias, v6, fwd6 string) {
		md, _ := GCE([]GCENIC{{MAC: mac, ForwardedIPs: []string{fwd}, IPAliases: []string{alias}, IPv6s: []string{v6}, ForwardedIPv6s: []string{fwd6}}})
		checkPlan(t, md)
	})
}
