// Package nmhandover writes and checks the files NetworkManager 1.42
// reads at start-up to adopt devices that earlynet configured, instead of
// re-activating them: the device state file
// run/NetworkManager/devices/<ifindex>, the internal DHCP client's lease
// file run/NetworkManager/internal-<uuid>-<ifname>.lease, and the
// resolv.conf copies an initrd NetworkManager leaves behind. It also
// derives the DHCP identities NetworkManager uses by default, so that
// earlynet's DHCP client looks like the same client to the server.
//
// Formats follow NetworkManager 1.42.4 (src/core/nm-config.c
// nm_config_device_state_write, src/core/dhcp/nm-dhcp-nettools.c,
// src/core/dns/nm-dns-manager.c); background in
// shared/docs/handover.md.
package nmhandover

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/earlynet/earlynet/cmd/internal/renameio"
	"github.com/earlynet/earlynet/keyfile"
	"github.com/earlynet/earlynet/profiles"
)

// Paths relative to the root, as NetworkManager compiles them in.
const (
	RunDir     = "run/NetworkManager"
	DevicesDir = RunDir + "/devices"
	LibDir     = "var/lib/NetworkManager"
)

// Device is what earlynet configured on one interface.
type Device struct {
	Ifindex int
	Name    string // interface name
	UUID    string // UUID of the profile earlynet activated
	MAC     net.HardwareAddr

	// Software is set for links that are not hardware (bond, bridge,
	// VLAN, veth): NetworkManager writes nm-owned for those only.
	// Created says whether earlynet created the link (nm-owned=true).
	Software bool
	Created  bool

	// PermHWAddrFake is written only for a NIC without a permanent MAC
	// whose MAC earlynet changed.
	PermHWAddrFake net.HardwareAddr

	// RouteMetric is the default-route metric used (0: no default
	// route); RouteMetricAspired the device type's default if it differs.
	RouteMetric        uint32
	RouteMetricAspired uint32

	DHCP4 *Lease4
	DHCP6 *Lease6
}

// Lease4 is a DHCPv4 lease as earlynet's client obtained it.
type Lease4 struct {
	Address    netip.Prefix // leased address with the subnet's prefix length
	Router     netip.Addr
	DNS        []netip.Addr
	Domain     string
	Hostname   string
	NextServer netip.Addr
	RootPath   string
	BootFile   string
	MTU        int
	ServerID   netip.Addr
	ClientID   []byte
	LeaseTime  time.Duration
	Obtained   time.Time // start of the lease; expiry = Obtained + LeaseTime

	// Options holds further options under NetworkManager's names
	// (e.g. "ntp_servers"), written as dhcp4.<name>.
	Options map[string]string
}

// Expiry is when the lease ends.
func (l *Lease4) Expiry() time.Time { return l.Obtained.Add(l.LeaseTime) }

// Lease6 is a DHCPv6 lease.
type Lease6 struct {
	Addresses []netip.Addr
	DNS       []netip.Addr
	Search    []string
	DUID      []byte
	IAID      uint32
	Options   map[string]string // further options, written as dhcp6.<name>
}

// DNS is what goes to the resolv.conf copies.
type DNS struct {
	Servers []netip.Addr
	Search  []string
	Options []string
}

// State is everything handed over.
type State struct {
	Devices []Device
	DNS     *DNS
}

// Writer writes a State under Root.
type Writer struct {
	Root string
	Log  *slog.Logger // nil: discard
}

func (w *Writer) log() *slog.Logger {
	if w.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Log
}

// Write stages every file first and renames them into place only when
// all are on disk, so a failure leaves the previous set. A device whose
// name, UUID or ifindex cannot safely become a file name is skipped with
// a warning naming it (NetworkManager then treats that device as
// externally configured and leaves it alone); the warnings are returned.
func (w *Writer) Write(s State) (warnings []string, err error) {
	var b renameio.Batch
	defer b.Abort()
	var good []Device
	for _, d := range s.Devices {
		if err := d.Validate(); err != nil {
			msg := fmt.Sprintf("hand-over for %s skipped: %v", d.describe(), err)
			w.log().Warn(msg)
			warnings = append(warnings, msg)
			continue
		}
		good = append(good, d)
	}
	if len(good) > 0 {
		if err := os.MkdirAll(filepath.Join(w.Root, DevicesDir), 0o755); err != nil {
			return warnings, fmt.Errorf("create %s: %w", DevicesDir, err)
		}
	}
	// Lease files and DNS first, state files last: Commit renames in
	// staging order, and a state file is what commits NetworkManager to
	// a device, so a failed rename never leaves one without its lease.
	for _, d := range good {
		if d.DHCP4 == nil {
			continue
		}
		path := filepath.Join(w.Root, RunDir, LeaseFileName(d.UUID, d.Name))
		if err := b.Stage(path, LeaseFile(d.DHCP4.Address.Addr()), 0o600); err != nil {
			return warnings, err
		}
	}
	if err := w.stageDNS(&b, s.DNS); err != nil {
		return warnings, err
	}
	for _, d := range good {
		path := filepath.Join(w.Root, DevicesDir, strconv.Itoa(d.Ifindex))
		if err := b.Stage(path, StateFile(d), 0o600); err != nil {
			return warnings, err
		}
	}
	return warnings, b.Commit()
}

func (w *Writer) stageDNS(b *renameio.Batch, dns *DNS) error {
	if dns == nil || len(dns.Servers) == 0 && len(dns.Search) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(w.Root, RunDir), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", RunDir, err)
	}
	text := ResolvConf(*dns)
	for _, name := range []string{"resolv.conf", "no-stub-resolv.conf"} {
		// World-readable, as NetworkManager writes it: every process
		// that resolves a name reads this file.
		if err := b.Stage(filepath.Join(w.Root, RunDir, name), text, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (d Device) describe() string {
	return fmt.Sprintf("device %q (ifindex %d, profile %q)", d.Name, d.Ifindex, d.UUID)
}

// Validate refuses what must not become a file name or a key file line:
// names with '/', "..", control characters or over 15 bytes, a UUID not
// in 8-4-4-4-12 form, a non-positive ifindex.
func (d Device) Validate() error {
	if !profiles.ValidIfname(d.Name) {
		return fmt.Errorf("interface name %q is not a valid interface name", d.Name)
	}
	if !profiles.ValidUUID(d.UUID) {
		return fmt.Errorf("profile UUID %q is not a UUID", d.UUID)
	}
	if d.Ifindex <= 0 {
		return fmt.Errorf("ifindex %d is not positive", d.Ifindex)
	}
	if d.DHCP4 != nil && !(d.DHCP4.Address.IsValid() && d.DHCP4.Address.Addr().Is4()) {
		return fmt.Errorf("DHCPv4 lease address %v is not an IPv4 prefix", d.DHCP4.Address)
	}
	return nil
}

// LeaseFileName is the file NetworkManager's internal DHCPv4 client
// reads to start in INIT-REBOOT (nm-dhcp-utils.c
// nm_dhcp_utils_get_leasefile_path).
func LeaseFileName(uuid, ifname string) string {
	return "internal-" + uuid + "-" + ifname + ".lease"
}

// LeaseFile is the lease file text, as nm-dhcp-nettools.c writes it.
func LeaseFile(addr netip.Addr) []byte {
	return []byte("# This is private data. Do not parse.\nADDRESS=" + addr.String() + "\n")
}

// StateFile renders run/NetworkManager/devices/<ifindex> with the keys
// in nm_config_device_state_write's order.
func StateFile(d Device) []byte {
	dev := keyfile.Group{Name: "device"}
	add := func(g *keyfile.Group, k, v string) {
		g.Keys = append(g.Keys, profiles.KV{Key: k, Value: keyfile.EscapeValue(v)})
	}
	add(&dev, "managed", "true")
	if len(d.PermHWAddrFake) > 0 {
		add(&dev, "perm-hw-addr-fake", strings.ToUpper(d.PermHWAddrFake.String()))
	}
	add(&dev, "connection-uuid", d.UUID)
	if d.Software || d.Created {
		add(&dev, "nm-owned", strconv.FormatBool(d.Created))
	}
	if d.RouteMetric != 0 {
		add(&dev, "route-metric-default-effective", strconv.FormatUint(uint64(d.RouteMetric), 10))
		if a := d.RouteMetricAspired; a != 0 && a != d.RouteMetric {
			add(&dev, "route-metric-default-aspired", strconv.FormatUint(uint64(a), 10))
		}
	}
	groups := []keyfile.Group{dev}
	if l := d.DHCP4; l != nil {
		if l.NextServer.IsValid() {
			add(&groups[0], "next-server", l.NextServer.String())
		}
		if l.RootPath != "" {
			add(&groups[0], "root-path", l.RootPath)
		}
		if l.BootFile != "" {
			add(&groups[0], "dhcp-bootfile", l.BootFile)
		}
		groups = append(groups, optionGroup("dhcp4", DHCP4Options(l)))
	}
	if l := d.DHCP6; l != nil {
		groups = append(groups, optionGroup("dhcp6", DHCP6Options(l)))
	}
	return keyfile.Format(groups)
}

// optionGroup writes options sorted by name, each as <prefix>.<name>,
// as NetworkManager does; names that are not plain option names are
// dropped.
func optionGroup(prefix string, opts map[string]string) keyfile.Group {
	g := keyfile.Group{Name: prefix}
	names := make([]string, 0, len(opts))
	for k := range opts {
		if validOptionName(k) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		g.Keys = append(g.Keys, profiles.KV{Key: prefix + "." + k, Value: keyfile.EscapeValue(opts[k])})
	}
	return g
}

func validOptionName(s string) bool {
	if s == "" || len(s) > 64 || strings.HasPrefix(s, "requested_") {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// DHCP4Options names a DHCPv4 lease's values as NetworkManager's
// internal client exports them.
func DHCP4Options(l *Lease4) map[string]string {
	o := map[string]string{}
	for k, v := range l.Options {
		o[k] = v
	}
	a := l.Address
	o["ip_address"] = a.Addr().String()
	o["subnet_mask"] = mask4(a.Bits())
	if a.Bits() < 31 {
		o["broadcast_address"] = broadcast4(a)
	}
	o["dhcp_lease_time"] = strconv.FormatInt(int64(l.LeaseTime/time.Second), 10)
	o["expiry"] = strconv.FormatInt(l.Expiry().Unix(), 10)
	if l.ServerID.IsValid() {
		o["dhcp_server_identifier"] = l.ServerID.String()
	}
	if len(l.ClientID) > 0 {
		o["dhcp_client_identifier"] = ColonHex(l.ClientID)
	}
	if l.Router.IsValid() {
		o["routers"] = l.Router.String()
	}
	if len(l.DNS) > 0 {
		o["domain_name_servers"] = joinAddrs(l.DNS)
	}
	setNonEmpty(o, "domain_name", l.Domain)
	setNonEmpty(o, "host_name", l.Hostname)
	setNonEmpty(o, "root_path", l.RootPath)
	setNonEmpty(o, "filename", l.BootFile)
	if l.NextServer.IsValid() {
		o["next_server"] = l.NextServer.String()
	}
	if l.MTU > 0 {
		o["interface_mtu"] = strconv.Itoa(l.MTU)
	}
	return o
}

// DHCP6Options names a DHCPv6 lease's values as NetworkManager's
// internal client exports them.
func DHCP6Options(l *Lease6) map[string]string {
	o := map[string]string{}
	for k, v := range l.Options {
		o[k] = v
	}
	o["iaid"] = ColonHex(IAIDBytes(l.IAID))
	if len(l.DUID) > 0 {
		o["dhcp6_client_id"] = ColonHex(l.DUID)
	}
	if len(l.Addresses) > 0 {
		o["ip6_address"] = joinAddrs(l.Addresses)
	}
	if len(l.DNS) > 0 {
		o["dhcp6_name_servers"] = joinAddrs(l.DNS)
	}
	if len(l.Search) > 0 {
		o["dhcp6_domain_search"] = strings.Join(l.Search, " ")
	}
	return o
}

func setNonEmpty(o map[string]string, k, v string) {
	if v != "" {
		o[k] = v
	}
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, " ")
}

func mask4(bits int) string {
	m := net.CIDRMask(bits, 32)
	return net.IP(m).String()
}

func broadcast4(p netip.Prefix) string {
	a := p.Masked().Addr().As4()
	m := net.CIDRMask(p.Bits(), 32)
	for i := range a {
		a[i] |= ^m[i]
	}
	return netip.AddrFrom4(a).String()
}

// ResolvConf is the text NetworkManager writes to
// run/NetworkManager/resolv.conf and no-stub-resolv.conf
// (nm-dns-manager.c create_resolv_conf): search entries containing
// white space are skipped, as NetworkManager skips them.
func ResolvConf(d DNS) []byte {
	var b strings.Builder
	b.WriteString("# Generated by NetworkManager\n")
	var search []string
	for _, s := range d.Search {
		if s != "" && !strings.ContainsAny(s, " \t\n\r\x00") {
			search = append(search, s)
		}
	}
	if len(search) > 0 {
		b.WriteString("search " + strings.Join(search, " ") + "\n")
	}
	for i, a := range d.Servers {
		if i == 3 {
			b.WriteString("# NOTE: the libc resolver may not support more than 3 nameservers.\n")
			b.WriteString("# The nameservers listed below may not be recognized.\n")
		}
		b.WriteString("nameserver " + a.String() + "\n")
	}
	var opts []string
	for _, o := range d.Options {
		if o != "" && !strings.ContainsAny(o, " \t\n\r\x00") {
			opts = append(opts, o)
		}
	}
	if len(opts) > 0 {
		b.WriteString("options " + strings.Join(opts, " ") + "\n")
	}
	return []byte(b.String())
}
