// Package linkup programs links, addresses and routes over rtnetlink for
// earlynet up, through a netlink handle bound to the network namespace
// the caller chose, and reads the device inventory that profile matching
// works on.
package linkup

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/earlynet/earlynet/profiles"
)

// Links works on one network namespace.
type Links struct {
	h     *netlink.Handle
	sysfs string // sysfs root, "/sys" in production
	proc  string // procfs root, "/proc" in production
	logf  func(string, ...any)
}

// New returns Links over h. sysfs and proc are the roots of those file
// systems (for driver, PCI path, bonding options and sysctls).
func New(h *netlink.Handle, sysfs, proc string, logf func(string, ...any)) *Links {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Links{h: h, sysfs: sysfs, proc: proc, logf: logf}
}

// listLinks retries a dump the kernel interrupted, a bounded number of
// times.
func (l *Links) listLinks() ([]netlink.Link, error) {
	var err error
	for range 5 {
		var ls []netlink.Link
		ls, err = l.h.LinkList()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return ls, err
		}
	}
	return nil, fmt.Errorf("list links: %w", err)
}

// Inventory lists the devices of the namespace in the form matching
// needs. Driver and PCI path cost an ioctl and sysfs lookups per link:
// they are read only when details is set (a profile matches on them).
func (l *Links) Inventory(details bool) ([]profiles.Device, error) {
	ls, err := l.listLinks()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	out := make([]profiles.Device, 0, len(ls))
	for _, lk := range ls {
		out = append(out, l.device(lk, details))
	}
	return out, nil
}

func (l *Links) device(lk netlink.Link, details bool) profiles.Device {
	a := lk.Attrs()
	d := profiles.Device{
		Name:  a.Name,
		Index: a.Index,
		Kind:  kind(lk),
		MAC:   strings.ToLower(a.HardwareAddr.String()),
	}
	if len(a.PermHWAddr) > 0 && !allZero(a.PermHWAddr) {
		d.PermMAC = strings.ToLower(a.PermHWAddr.String())
	}
	if details {
		d.Driver = l.driver(a.Name)
		d.Path = l.idPath(a.Name)
	}
	return d
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func kind(lk netlink.Link) string {
	a := lk.Attrs()
	if a.Flags&net.FlagLoopback != 0 {
		return profiles.KindLoopback
	}
	switch lk.Type() {
	case "device", "veth":
		if a.EncapType == "ether" {
			return profiles.KindEthernet
		}
	case "bond":
		return profiles.KindBond
	case "bridge":
		return profiles.KindBridge
	case "vlan":
		return profiles.KindVLAN
	case "team":
		return profiles.KindTeam
	}
	return profiles.KindOther
}

// driver is the kernel driver: the ethtool answer NetworkManager uses
// (it covers veth, which has no device link), else the sysfs link.
func (l *Links) driver(name string) string {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err == nil {
		info, ierr := unix.IoctlGetEthtoolDrvinfo(fd, name)
		unix.Close(fd)
		if ierr == nil {
			return unix.ByteSliceToString(info.Driver[:])
		}
	}
	target, err := os.Readlink(filepath.Join(l.sysfs, "class/net", name, "device/driver"))
	if err != nil {
		return ""
	}
	return filepath.Base(target)
}

// idPath approximates udev's ID_PATH for PCI devices ("pci-<address>" of
// the nearest PCI function above the device); "" for virtual devices.
func (l *Links) idPath(name string) string {
	p, err := filepath.EvalSymlinks(filepath.Join(l.sysfs, "class/net", name, "device"))
	if err != nil {
		return ""
	}
	for dir := p; dir != "/" && dir != "."; dir = filepath.Dir(dir) {
		if isPCIAddr(filepath.Base(dir)) {
			return "pci-" + filepath.Base(dir)
		}
	}
	return ""
}

// isPCIAddr reports whether s looks like "0000:00:03.0".
func isPCIAddr(s string) bool {
	if len(s) != 12 || s[4] != ':' || s[7] != ':' || s[10] != '.' {
		return false
	}
	for i, c := range s {
		if i == 4 || i == 7 || i == 10 {
			continue
		}
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// Link returns the link named name.
func (l *Links) Link(name string) (netlink.Link, error) {
	lk, err := l.h.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("find link %s: %w", name, err)
	}
	return lk, nil
}

// EnsureVirtual creates the bond, bridge or VLAN p describes unless a link
// of that name exists. parent is the VLAN's parent link name.
func (l *Links) EnsureVirtual(p *profiles.Profile, parent string) (created bool, err error) {
	name := p.InterfaceName
	if _, err := l.h.LinkByName(name); err == nil {
		return false, nil
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = name
	var lk netlink.Link
	switch p.Type {
	case profiles.TypeBond:
		b := netlink.NewLinkBond(attrs)
		if p.Bond != nil {
			if m, ok := p.Bond.Option("mode"); ok {
				b.Mode = netlink.StringToBondMode(m)
			}
		}
		lk = b
	case profiles.TypeBridge:
		br := &netlink.Bridge{LinkAttrs: attrs}
		if p.Bridge == nil || p.Bridge.STP == nil || *p.Bridge.STP {
			// NetworkManager's default is STP on; the kernel's is off.
			defer func() {
				if err == nil {
					err = l.writeSys(filepath.Join("class/net", name, "bridge/stp_state"), "1")
				}
			}()
		}
		lk = br
	case profiles.TypeVLAN:
		pl, err := l.Link(parent)
		if err != nil {
			return false, err
		}
		attrs.ParentIndex = pl.Attrs().Index
		lk = &netlink.Vlan{LinkAttrs: attrs, VlanId: int(p.VLAN.ID)}
	default:
		return false, fmt.Errorf("create %s: type %s is not a virtual link earlynet creates", name, p.Type)
	}
	if err := l.h.LinkAdd(lk); err != nil {
		return false, fmt.Errorf("create %s %s: %w", p.Type, name, err)
	}
	if p.Type == profiles.TypeBond && p.Bond != nil {
		if err := l.bondOptions(name, p.Bond); err != nil {
			return true, err
		}
	}
	return true, nil
}

// bondOptions writes the bonding options other than mode through sysfs,
// as NetworkManager does.
func (l *Links) bondOptions(name string, b *profiles.Bond) error {
	for _, o := range b.Options {
		if o.Key == "mode" {
			continue
		}
		if strings.ContainsAny(o.Key, "/.") {
			return fmt.Errorf("bond %s: option name %q refused", name, o.Key)
		}
		if err := l.writeSys(filepath.Join("class/net", name, "bonding", o.Key), o.Value); err != nil {
			return fmt.Errorf("bond %s option %s: %w", name, o.Key, err)
		}
	}
	return nil
}

func (l *Links) writeSys(rel, value string) error {
	path := filepath.Join(l.sysfs, rel)
	if err := os.WriteFile(path, []byte(value), 0); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Enslave makes port a port of controller (the port must be down).
func (l *Links) Enslave(port, controller string) error {
	pl, err := l.Link(port)
	if err != nil {
		return err
	}
	cl, err := l.Link(controller)
	if err != nil {
		return err
	}
	if pl.Attrs().MasterIndex == cl.Attrs().Index {
		return nil
	}
	if err := l.h.LinkSetDown(pl); err != nil {
		return fmt.Errorf("set %s down to enslave: %w", port, err)
	}
	if err := l.h.LinkSetMasterByIndex(pl, cl.Attrs().Index); err != nil {
		return fmt.Errorf("enslave %s to %s: %w", port, controller, err)
	}
	return nil
}

// Prepare sets MTU and MAC address (when non-zero) on a link.
func (l *Links) Prepare(name string, mtu uint32, mac string) error {
	lk, err := l.Link(name)
	if err != nil {
		return err
	}
	if mtu != 0 && int(mtu) != lk.Attrs().MTU {
		if err := l.h.LinkSetMTU(lk, int(mtu)); err != nil {
			return fmt.Errorf("set MTU %d on %s: %w", mtu, name, err)
		}
	}
	if mac != "" {
		hw, err := net.ParseMAC(mac)
		if err != nil {
			return fmt.Errorf("cloned MAC %q for %s: %w", mac, name, err)
		}
		if hw.String() != lk.Attrs().HardwareAddr.String() {
			if err := l.h.LinkSetHardwareAddr(lk, hw); err != nil {
				return fmt.Errorf("set MAC %s on %s: %w", hw, name, err)
			}
		}
	}
	return nil
}

// SetMTU sets the MTU of a link that is up (the DHCP MTU option).
func (l *Links) SetMTU(name string, mtu int) error {
	lk, err := l.Link(name)
	if err != nil {
		return err
	}
	if lk.Attrs().MTU == mtu {
		return nil
	}
	if err := l.h.LinkSetMTU(lk, mtu); err != nil {
		return fmt.Errorf("set MTU %d on %s: %w", mtu, name, err)
	}
	return nil
}

// Sysctl sets net.ipv6.conf.<name>.<key> (or ipv4) under the proc root,
// unless it already has that value.
func (l *Links) Sysctl(family, name, key, value string) error {
	if strings.ContainsAny(name, "/") || name == "." || name == ".." {
		return fmt.Errorf("sysctl for %q: bad interface name", name)
	}
	path := filepath.Join(l.proc, "sys/net", family, "conf", name, key)
	// A write takes the kernel's global rtnl lock even when nothing
	// changes; a read does not.
	if cur, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(cur)) == value {
		return nil
	}
	if err := os.WriteFile(path, []byte(value), 0); err != nil {
		return fmt.Errorf("sysctl %s: %w", path, err)
	}
	return nil
}

// Up sets the link administratively up.
func (l *Links) Up(name string) error {
	lk, err := l.Link(name)
	if err != nil {
		return err
	}
	if err := l.h.LinkSetUp(lk); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}

// HasCarrier reports the link's lower-up state.
func HasCarrier(lk netlink.Link) bool {
	return lk.Attrs().RawFlags&unix.IFF_LOWER_UP != 0
}

// WaitCarrier waits until name has carrier or ctx ends. It listens for
// link events instead of polling.
func (l *Links) WaitCarrier(ctx context.Context, name string) error {
	lk, err := l.Link(name)
	if err != nil {
		return err
	}
	if HasCarrier(lk) { // the common case on veth and fast NICs: no subscription
		return nil
	}
	ch := make(chan netlink.LinkUpdate, 16)
	done := make(chan struct{})
	defer close(done)
	if err := netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{}); err != nil {
		return fmt.Errorf("wait for carrier on %s: subscribe: %w", name, err)
	}
	// Carrier may have come between the first look and the subscription.
	if lk, err = l.Link(name); err != nil {
		return err
	}
	if HasCarrier(lk) {
		return nil
	}
	idx := lk.Attrs().Index
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("no carrier on %s: %w", name, ctx.Err())
		case u, ok := <-ch:
			if !ok {
				return fmt.Errorf("wait for carrier on %s: link events ended", name)
			}
			if u.Attrs().Index == idx && HasCarrier(u.Link) {
				return nil
			}
		}
	}
}

// Address is one address to add, with NetworkManager's conventions.
type Address struct {
	Prefix    netip.Prefix
	Valid     time.Duration // 0: permanent
	Preferred time.Duration
}

// AddAddress adds (or refreshes) an address with noprefixroute, as
// NetworkManager does; the prefix route is added separately with
// NetworkManager's metric.
func (l *Links) AddAddress(name string, a Address) error {
	lk, err := l.Link(name)
	if err != nil {
		return err
	}
	addr := &netlink.Addr{
		IPNet: &net.IPNet{IP: a.Prefix.Addr().AsSlice(), Mask: net.CIDRMask(a.Prefix.Bits(), a.Prefix.Addr().BitLen())},
		Flags: unix.IFA_F_NOPREFIXROUTE,
	}
	if a.Prefix.Addr().Is6() {
		addr.Flags |= unix.IFA_F_NODAD
	}
	if a.Valid > 0 {
		addr.ValidLft = int(a.Valid / time.Second)
		addr.PreferedLft = int(a.Preferred / time.Second)
	}
	if err := l.h.AddrReplace(lk, addr); err != nil {
		return fmt.Errorf("add address %s to %s: %w", a.Prefix, name, err)
	}
	return nil
}

// DelAddress removes an address earlynet added (undoing a half-applied
// configuration).
func (l *Links) DelAddress(name string, p netip.Prefix) error {
	lk, err := l.Link(name)
	if err != nil {
		return err
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
	if err := l.h.AddrDel(lk, addr); err != nil {
		return fmt.Errorf("remove address %s from %s: %w", p, name, err)
	}
	return nil
}

// Route is one route to add.
type Route struct {
	Dest     netip.Prefix
	Gateway  netip.Addr // invalid: on-link
	Src      netip.Addr // invalid: none
	Metric   int
	Table    int // 0: main
	Protocol int // unix.RTPROT_*
	OnLink   bool
	Type     int // unix.RTN_*; 0: unicast
}

// AddRoute adds a route through name.
func (l *Links) AddRoute(name string, r Route) error {
	nr, err := l.route(name, r)
	if err != nil {
		return err
	}
	nr.Protocol = netlink.RouteProtocol(r.Protocol)
	switch {
	case nr.Scope == netlink.SCOPE_HOST:
	case nr.Gw == nil && r.Dest.Addr().Is4():
		nr.Scope = netlink.SCOPE_LINK
	default:
		nr.Scope = netlink.SCOPE_UNIVERSE
	}
	if r.Src.IsValid() {
		nr.Src = r.Src.AsSlice()
	}
	if r.OnLink {
		nr.Flags |= int(netlink.FLAG_ONLINK)
	}
	// Append, not replace: the kernel keys IPv4 routes by destination and
	// metric only, so a replace would take the same prefix away from
	// another device. An identical route already there is fine.
	add := l.h.RouteAppend
	if r.Dest.Addr().Is6() {
		add = l.h.RouteAdd
	}
	if err := add(nr); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add route %s via %s dev %s metric %d: %w", r.Dest, r.Gateway, name, r.Metric, err)
	}
	return nil
}

// route is r through name as netlink needs it for adding and deleting:
// destination, gateway (none for an unspecified one), metric, table.
func (l *Links) route(name string, r Route) (*netlink.Route, error) {
	lk, err := l.Link(name)
	if err != nil {
		return nil, err
	}
	nr := &netlink.Route{
		LinkIndex: lk.Attrs().Index,
		Dst:       &net.IPNet{IP: r.Dest.Addr().AsSlice(), Mask: net.CIDRMask(r.Dest.Bits(), r.Dest.Addr().BitLen())},
		Priority:  r.Metric,
		Table:     r.Table,
	}
	if r.Gateway.IsValid() && !r.Gateway.IsUnspecified() {
		nr.Gw = r.Gateway.AsSlice()
	}
	if r.Type != 0 && r.Type != unix.RTN_UNICAST {
		nr.Type = r.Type
		if r.Type == unix.RTN_LOCAL {
			nr.Scope = netlink.SCOPE_HOST
		}
	}
	return nr, nil
}

// DelRoute deletes the route through name with r's destination, gateway,
// metric and table; a route that is already gone is not an error.
func (l *Links) DelRoute(name string, r Route) error {
	nr, err := l.route(name, r)
	if err != nil {
		return err
	}
	if err := l.h.RouteDel(nr); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("delete route %s via %s dev %s metric %d: %w", r.Dest, r.Gateway, name, r.Metric, err)
	}
	return nil
}

// Index returns the ifindex of name.
func (l *Links) Index(name string) (int, error) {
	lk, err := l.Link(name)
	if err != nil {
		return 0, err
	}
	return lk.Attrs().Index, nil
}

// HWAddr returns the current MAC of name.
func (l *Links) HWAddr(name string) (net.HardwareAddr, error) {
	lk, err := l.Link(name)
	if err != nil {
		return nil, err
	}
	return lk.Attrs().HardwareAddr, nil
}

// Addrs lists the addresses of family (unix.AF_INET or AF_INET6) on name.
func (l *Links) Addrs(name string, family int) ([]netlink.Addr, error) {
	lk, err := l.Link(name)
	if err != nil {
		return nil, err
	}
	as, err := l.h.AddrList(lk, family)
	if err != nil {
		return nil, fmt.Errorf("list addresses of %s: %w", name, err)
	}
	return as, nil
}

// Rule is one IPv4 or IPv6 policy routing rule.
type Rule struct {
	Family   int // unix.AF_INET or AF_INET6
	Priority int
	From     netip.Prefix // invalid: any
	To       netip.Prefix // invalid: any
	Table    int
	// SuppressPrefixLength is -1 for none.
	SuppressPrefixLength int
}

func (r Rule) netlink() *netlink.Rule {
	nr := netlink.NewRule()
	nr.Family = r.Family
	nr.Priority = r.Priority
	nr.Table = r.Table
	nr.SuppressPrefixlen = r.SuppressPrefixLength
	if r.From.IsValid() {
		nr.Src = &net.IPNet{IP: r.From.Addr().AsSlice(), Mask: net.CIDRMask(r.From.Bits(), r.From.Addr().BitLen())}
	}
	if r.To.IsValid() {
		nr.Dst = &net.IPNet{IP: r.To.Addr().AsSlice(), Mask: net.CIDRMask(r.To.Bits(), r.To.Addr().BitLen())}
	}
	return nr
}

// AddRule adds r; an identical rule already there is fine.
func (l *Links) AddRule(r Rule) error {
	if err := l.h.RuleAdd(r.netlink()); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add rule priority %d from %s table %d: %w", r.Priority, r.From, r.Table, err)
	}
	return nil
}

// DelRule deletes r; a rule that is already gone is not an error.
func (l *Links) DelRule(r Rule) error {
	if err := l.h.RuleDel(r.netlink()); err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("delete rule priority %d from %s table %d: %w", r.Priority, r.From, r.Table, err)
	}
	return nil
}
