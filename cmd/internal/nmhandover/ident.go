package nmhandover

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"net"
	"strings"
)

// iaidKey is the SipHash key systemd's dhcp_identifier_set_iaid() and
// NetworkManager's nm_utils_create_dhcp_iaid() share (HASH_KEY in
// systemd src/libsystemd-network/dhcp-identifier.c and NetworkManager
// src/core/nm-core-utils.c).
func iaidKey() [16]byte {
	return [16]byte{0x80, 0x11, 0x8c, 0xc2, 0xfe, 0x4a, 0x03, 0xee, 0x3e, 0xd6, 0x0c, 0x6f, 0x36, 0x39, 0x14, 0x09}
}

// ClientID4 is the DHCPv4 client identifier NetworkManager's internal
// client sends by default: type 1 (Ethernet) followed by the hardware
// address, option 61's "01:<MAC>".
func ClientID4(mac net.HardwareAddr) []byte {
	return append([]byte{1}, mac...)
}

// IAID is NetworkManager's default DHCP IAID (ipvX.dhcp-iaid=ifname):
// SipHash-2-4 of the interface name under iaidKey, the two 32-bit halves
// XORed. The result is the number NetworkManager logs and puts on the
// wire big-endian (IAIDBytes).
func IAID(ifname string) uint32 {
	h := siphash24(iaidKey(), []byte(ifname))
	return uint32(h) ^ uint32(h>>32)
}

// IAIDBytes is the IAID as it appears in an IA_NA option and in
// NetworkManager's "dhcp6.iaid" export (colon hex).
func IAIDBytes(iaid uint32) []byte {
	return binary.BigEndian.AppendUint32(nil, iaid)
}

// ParseMachineID reads /etc/machine-id text: 32 hex digits and an
// optional newline, the 16 bytes NetworkManager hashes.
func ParseMachineID(text []byte) ([16]byte, error) {
	var id [16]byte
	s := strings.TrimRight(string(text), "\n")
	if len(s) != 32 {
		return id, fmt.Errorf("machine-id %q: want 32 hex digits", s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("machine-id %q: %w", s, err)
	}
	return id, nil
}

// DUIDFromMachineID is NetworkManager's default DHCPv6 DUID
// (ipv6.dhcp-duid=lease without a stored DUID): a DUID-UUID (type 4, RFC
// 6355) whose 16 bytes are the first half of SHA-256 over the binary
// machine id (nm_utils_generate_duid_from_machine_id).
func DUIDFromMachineID(machineID [16]byte) []byte {
	sum := sha256.Sum256(machineID[:])
	return append([]byte{0x00, 0x04}, sum[:16]...)
}

// ColonHex formats b as NetworkManager prints identifiers: lower-case
// hex bytes joined by ':'.
func ColonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(parts, ":")
}

// siphash24 is SipHash-2-4 (Aumasson and Bernstein) with a 128-bit key,
// as c-siphash and systemd's siphash24.c compute it.
func siphash24(key [16]byte, msg []byte) uint64 {
	k0 := binary.LittleEndian.Uint64(key[0:8])
	k1 := binary.LittleEndian.Uint64(key[8:16])
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13) ^ v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16) ^ v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21) ^ v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17) ^ v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	n := len(msg)
	for ; len(msg) >= 8; msg = msg[8:] {
		m := binary.LittleEndian.Uint64(msg)
		v3 ^= m
		round()
		round()
		v0 ^= m
	}
	var last [8]byte
	copy(last[:], msg)
	last[7] = byte(n)
	m := binary.LittleEndian.Uint64(last[:])
	v3 ^= m
	round()
	round()
	v0 ^= m
	v2 ^= 0xff
	for range 4 {
		round()
	}
	return v0 ^ v1 ^ v2 ^ v3
}
