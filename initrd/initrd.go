// Package initrd reads the kernel command line in dracut/NetworkManager
// syntax (ip=, rd.route=, nameserver=, bond=, bridge=, vlan=, team=,
// BOOTIF=, rd.neednet, rd.net.*, rd.ethtool=, rd.znet=, ...) and builds the
// connection profiles nm-initrd-generator builds for it.
//
// It is pure: the machine (sysfs, the persistent profile directory, UUIDs)
// comes in through Env.
package initrd

import (
	"fmt"
	"io/fs"

	"github.com/earlynet/earlynet/profiles"
)

// Env is what Parse needs from the machine.
type Env struct {
	// SysFS is the sysfs tree (nm-initrd-generator's --sysfs-dir) with
	// paths relative to it: "firmware/ibft/ethernet0/mac",
	// "class/net/eth0/address". Nil means an empty tree.
	SysFS fs.FS

	// PersistentDirExists tells whether the persistent connections
	// directory (-p) exists; bare rd.neednet creates the default profile
	// only when it does not.
	PersistentDirExists bool

	// NewUUID returns a new random (v4) UUID string. Required.
	NewUUID func() string

	// LoadIBFT is called once when firmware/ibft is missing, to load the
	// iscsi_ibft module, as nm-initrd-generator runs modprobe. May be nil.
	LoadIBFT func()
}

// Warning is a message about one token, as nm-initrd-generator prints
// them on stderr.
type Warning struct {
	Token string // the command line token, or "" for global messages
	Msg   string
}

func (w Warning) String() string {
	if w.Token == "" {
		return w.Msg
	}
	return fmt.Sprintf("%s (in %q)", w.Msg, w.Token)
}

// Dropped is a profile that NetworkManager would refuse to load, and so is
// not written.
type Dropped struct {
	Name string
	Err  error
}

// Result is everything the command line says about the network.
type Result struct {
	// Profiles are the valid profiles, in creation order.
	Profiles []*profiles.Profile
	// Dropped are the profiles that failed validation.
	Dropped []Dropped

	// Hostname is the last valid hostname from ip=, or "".
	Hostname string
	// CarrierTimeout is rd.net.timeout.carrier in seconds; 0 means the
	// default (10 s) and the snippet is then limited to the initrd.
	CarrierTimeout int
	// GlobalDNS, DNSResolveMode and DNSBackend come from rd.net.dns,
	// rd.net.dns-resolve-mode and rd.net.dns-backend.
	GlobalDNS      []string
	DNSResolveMode string
	DNSBackend     string
	// NeedNet is rd.neednet's final value (false when absent).
	NeedNet bool
	// DHCPTimeout is the dhcp-timeout given to cmdline profiles, in s.
	DHCPTimeout int

	Warnings []Warning
}
