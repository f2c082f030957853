package keyfile

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/earlynet/earlynet/profiles"
)

// TestNM142FilesRoundTrip decodes keyfiles written by NetworkManager 1.42's
// nm-initrd-generator and checks that encoding gives back the same text,
// byte for byte (after the origin comment).
func TestNM142FilesRoundTrip(t *testing.T) {
	files, err := filepath.Glob("testdata/nm142/*.nmconnection")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.TrimPrefix(string(data), "# Created by nm-initrd-generator\n\n")
			p, err := Decode(data)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(p.Other) > 0 {
				t.Errorf("keys not in the typed model: %v", p.Other)
			}
			if diff := cmp.Diff(want, string(Encode(p))); diff != "" {
				t.Errorf("Encode(Decode(%s)) mismatch (-want +got):\n%s", f, diff)
			}
		})
	}
}

// richProfile sets the fields that need escaping, lists, routes and rules.
func richProfile() *profiles.Profile {
	metric := int64(200)
	return &profiles.Profile{
		Name: "eth0", ID: " lead;ing\\ \ttab\nnl #x", UUID: "5b0bd1b8-1c1c-4d3b-9a8e-3b8d2a3c9d11",
		Type: profiles.TypeEthernet, InterfaceName: "eth0",
		AutoconnectPriority: -100, AutoconnectRetries: profiles.Int(1), MultiConnect: 1,
		Ethernet: &profiles.Ethernet{MTU: 9000, ClonedMACAddress: "00:53:EF:12:34:56"},
		IPv4: &profiles.IPConfig{
			Method:    profiles.MethodManual,
			Addresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.2/24"), netip.MustParsePrefix("198.51.100.7/32")},
			Gateway:   netip.MustParseAddr("192.0.2.1"),
			DNS:       []netip.Addr{netip.MustParseAddr("192.0.2.53"), netip.MustParseAddr("203.0.113.53")},
			DNSSearch: []string{"example.com", "semi;colon.example"},
			Routes: []profiles.Route{
				{Dest: netip.MustParsePrefix("198.51.100.0/24"), Gateway: netip.MustParseAddr("192.0.2.1"), Metric: &metric, Table: 30400},
				{Dest: netip.MustParsePrefix("203.0.113.0/24")},
			},
			Rules: []profiles.Rule{
				{Priority: 30200, From: netip.MustParsePrefix("198.51.100.7/32"), Table: 30400},
				{Priority: 30350, Table: 254, SuppressPrefixLength: profiles.Int(0)},
			},
			Required:     true,
			DHCPHostname: "host one",
		},
		IPv6: &profiles.IPConfig{Method: profiles.MethodDisabled},
		User: []profiles.KV{{Key: profiles.OriginKey, Value: profiles.OriginInitrd}},
	}
}

// TestEncodeDecodeRoundTrip checks that every typed field survives
// Encode then Decode, including values that need GKeyFile escaping.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	want := richProfile()
	data := Encode(want)
	got, err := Decode(data)
	if err != nil {
		t.Fatalf("Decode(Encode(p)): %v\n%s", err, data)
	}
	got.Name = want.Name // the name is the file name, not in the text
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("Decode(Encode(p)) mismatch (-want +got):\n%s\nkeyfile:\n%s", diff, data)
	}
	if !bytes.Equal(Encode(got), data) {
		t.Errorf("second Encode differs:\n%s\nvs\n%s", Encode(got), data)
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{" lead", "\\slead"},
		{"a\nb\tc\rd", "a\\nb\\tc\\rd"},
		{"back\\slash", "back\\\\slash"},
		{"#not-a-comment", "#not-a-comment"},
	}
	for _, tt := range tests {
		if got := escapeValue(tt.in); got != tt.want {
			t.Errorf("escapeValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := unescapeValue(escapeValue(tt.in)); got != tt.in {
			t.Errorf("unescapeValue(escapeValue(%q)) = %q", tt.in, got)
		}
	}
	items := []string{"a;b", "c\\d", " e"}
	if got := splitList(joinList(items)); !cmp.Equal(got, items) {
		t.Errorf("splitList(joinList(%q)) = %q", items, got)
	}
}
