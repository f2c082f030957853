package nmhandover

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSiphash24 uses the SipHash paper's reference vectors (key 00..0f,
// message 00..0e and its prefixes; also in systemd's
// src/test/test-siphash24.c) and the two hashes NetworkManager 1.42.4's
// src/core/tests/test-core.c pins under the IAID key: the interface
// names "lo" and "eth0" (ifname_hash_1) and two 16-byte machine ids
// (duid_id, which the test stores as htole64 of the hash, i.e. the hash's
// little-endian bytes read big-endian).
func TestSiphash24(t *testing.T) {
	var seq [16]byte
	msg := make([]byte, 15)
	for i := range seq {
		seq[i] = byte(i)
	}
	for i := range msg {
		msg[i] = byte(i)
	}
	mid := func(s string) []byte { b, _ := ParseMachineID([]byte(s)); return b[:] }
	le := func(be uint64) uint64 {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], be)
		return binary.LittleEndian.Uint64(b[:])
	}
	tests := []struct {
		name string
		key  [16]byte
		msg  []byte
		want uint64
	}{
		{"paper empty", seq, nil, 0x726fdb47dd0e0e31},
		{"paper 1 byte", seq, msg[:1], 0x74f839c593dc67fd},
		{"paper 8 bytes", seq, msg[:8], 0x93f5f5799a932462},
		{"paper 15 bytes", seq, msg, 0xa129ca6149be45e5},
		{"NM lo", iaidKey(), []byte("lo"), 0x7297085c2b12c911},
		{"NM eth0", iaidKey(), []byte("eth0"), 0x9e1cb083b54cd7b6},
		{"NM machine-id 0", iaidKey(), mid("cbc22e47418e402aa7b30dea928394ef"), le(0x3d769bb2c14d29e1)},
		{"NM machine-id 1", iaidKey(), mid("114eb4dad3224aff9fc3308338a0ebb7"), le(0x551572e0f2a2a10f)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := siphash24(tt.key, tt.msg); got != tt.want {
				t.Errorf("siphash24 = %#016x, want %#016x", got, tt.want)
			}
		})
	}
}

// TestIAID checks the IAIDs NetworkManager 1.42.4's test-core.c pins
// for "lo" and "eth0" (iaid_ifname, stored big-endian: it is also the
// byte order on the wire).
func TestIAID(t *testing.T) {
	for _, tt := range []struct {
		ifname string
		want   uint32
		wire   []byte
	}{
		{"lo", 0x5985c14d, []byte{0x59, 0x85, 0xc1, 0x4d}},
		{"eth0", 0x2b506735, []byte{0x2b, 0x50, 0x67, 0x35}},
	} {
		got := IAID(tt.ifname)
		if got != tt.want {
			t.Errorf("IAID(%q) = %#08x, want %#08x", tt.ifname, got, tt.want)
		}
		if diff := cmp.Diff(tt.wire, IAIDBytes(got)); diff != "" {
			t.Errorf("IAIDBytes(%q) (-want +got):\n%s", tt.ifname, diff)
		}
	}
}

// TestDUIDFromMachineID: type 4 followed by the first 16 bytes of
// SHA-256 over the 16 binary bytes of the machine id. The expected digest
// was computed outside Go: printf cbc2...94ef | xxd -r -p | sha256sum.
// (That the formula is NetworkManager's is proven against the real
// daemon in integration/handover_test.go's DHCPv6 case.)
func TestDUIDFromMachineID(t *testing.T) {
	id, err := ParseMachineID([]byte("cbc22e47418e402aa7b30dea928394ef\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := ColonHex(DUIDFromMachineID(id))
	want := "00:04:9f:31:04:51:86:99:72:c4:82:26:47:08:da:5d:5e:c7"
	if got != want {
		t.Errorf("DUID = %s, want %s", got, want)
	}
}

func TestParseMachineIDRejects(t *testing.T) {
	for _, in := range []string{"", "cbc22e47", "zzc22e47418e402aa7b30dea928394ef", "cbc22e47418e402aa7b30dea928394ef00"} {
		if _, err := ParseMachineID([]byte(in)); err == nil {
			t.Errorf("ParseMachineID(%q): no error", in)
		}
	}
}

func TestClientID4(t *testing.T) {
	mac, _ := net.ParseMAC("02:00:00:00:00:c1")
	if got, want := ColonHex(ClientID4(mac)), "01:02:00:00:00:00:c1"; got != want {
		t.Errorf("ClientID4 = %s, want %s", got, want)
	}
}
