package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/earlynet/earlynet/cmd/internal/dhcp4"
	"github.com/earlynet/earlynet/cmd/internal/linkup"
	"github.com/earlynet/earlynet/profiles"
)

// dhcp4 obtains a lease on the device and applies it as NetworkManager
// does: the address with the lease's lifetimes and noprefixroute, the
// prefix route (proto kernel, device metric), the default route and the
// classless routes proto dhcp, the MTU option unless the profile sets one.
func (u *upRun) dhcp4(ctx context.Context, a *activation, cfg *profiles.IPConfig, f *famResult, sent func()) error {
	name := a.dev.Name
	if d := dhcpTimeout(cfg); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	hw, err := u.links.HWAddr(name)
	if err != nil {
		return err
	}
	// nclient4.NewRawUDPConn, minus its interface lookup (one more
	// netlink dump): the index is known.
	raw, err := packet.Listen(&net.Interface{Index: a.dev.Index, Name: name, HardwareAddr: hw}, packet.Datagram, unix.ETH_P_IP, nil)
	if err != nil {
		return fmt.Errorf("open DHCPv4 socket on %s: %w", name, err)
	}
	conn := nclient4.NewBroadcastUDPConn(raw, &net.UDPAddr{Port: nclient4.ClientPort})
	u.log.Debug("DHCPv4 socket open", "device", name)
	// Closing a packet socket waits for an RCU grace period (~10 ms):
	// do not make the activation wait for it.
	defer func() { go conn.Close() }()
	cid, warn := clientID(cfg.DHCPClientID, hw)
	if warn != "" {
		fmt.Fprintf(u.stderr, "earlynet: warning: %s: %s\n", name, warn)
	}
	lease, err := dhcp4.Acquire(ctx, conn, dhcp4.Config{
		HWAddr: hw, ClientID: cid, Hostname: cfg.DHCPHostname, VendorClass: cfg.DHCPVendorClass,
		Clock: realClock{}, Rand: rand.Float64, Sent: sent,
		Logf: func(format string, args ...any) { u.log.Debug(name + ": " + fmt.Sprintf(format, args...)) },
	})
	if err != nil {
		return fmt.Errorf("DHCPv4 on %s: %w", name, err)
	}
	u.log.Debug("DHCPv4 lease", "device", name, "address", lease.Address)
	if err := u.applyLease(a, cfg, lease, f); err != nil {
		// Leave nothing half-configured: the addresses go (their routes
		// with them); the device is reported failed and not recorded.
		for _, p := range f.addrs {
			if derr := u.links.DelAddress(name, p); derr != nil {
				err = errors.Join(err, derr)
			}
		}
		f.addrs, f.routes, f.lease = nil, nil, nil
		return err
	}
	return nil
}

func (u *upRun) applyLease(a *activation, cfg *profiles.IPConfig, l *dhcp4.Lease, f *famResult) error {
	name := a.dev.Name
	if l.MTU > 0 && (a.prof.Ethernet == nil || a.prof.Ethernet.MTU == 0) {
		if err := u.links.SetMTU(name, l.MTU); err != nil {
			return err
		}
	}
	addr := l.Address
	if err := u.links.AddAddress(name, linkup.Address{Prefix: addr, Valid: l.LeaseTime, Preferred: l.LeaseTime}); err != nil {
		return err
	}
	f.addrs, f.lease = []netip.Prefix{addr}, l
	src := addr.Addr()
	f.routes = append(f.routes, linkup.Route{Dest: addr.Masked(), Src: src, Metric: a.base, Protocol: unix.RTPROT_KERNEL})
	if !cfg.IgnoreAutoRoutes {
		for _, r := range l.Routes {
			f.routes = append(f.routes, linkup.Route{Dest: r.Dest, Gateway: r.Gateway, Src: src, Metric: a.base, Protocol: unix.RTPROT_DHCP})
		}
		if l.Gateway.IsValid() && !cfg.NeverDefault {
			f.gateway = l.Gateway
			f.routes = append(f.routes, linkup.Route{Dest: anyPrefix(l.Gateway), Gateway: l.Gateway, Src: src, Metric: a.metric, Protocol: unix.RTPROT_DHCP})
		}
	}
	for _, p := range cfg.Addresses {
		if err := u.links.AddAddress(name, linkup.Address{Prefix: p}); err != nil {
			return err
		}
		f.addrs = append(f.addrs, p)
	}
	f.routes = append(f.routes, profileRoutes(a, cfg)...)
	if err := u.addRoutes(name, f.routes); err != nil {
		return err
	}
	f.dns, f.search = append(f.dns, cfg.DNS...), append(f.search, cfg.DNSSearch...)
	if !cfg.IgnoreAutoDNS {
		f.dns = append(f.dns, l.DNS...)
		f.search = append(f.search, l.Search...)
		if len(l.Search) == 0 && l.Domain != "" {
			f.search = append(f.search, l.Domain)
		}
	}
	return nil
}

// clientID is option 61 for the profile's ipv4.dhcp-client-id: "mac"
// (NetworkManager's default for its internal client) is type 1 plus the
// MAC, "none" sends none, a colon-separated hex string is sent as is, and
// other text is sent after a zero type byte. The DUID-based forms fall
// back to "mac" with a warning.
func clientID(v string, hw net.HardwareAddr) ([]byte, string) {
	macID := append([]byte{1}, hw...)
	switch v {
	case "", "mac", "perm-mac":
		return macID, ""
	case "none":
		return nil, ""
	case "duid", "ipv6-duid", "stable":
		return macID, fmt.Sprintf("dhcp-client-id %s is not supported; using the MAC form", v)
	}
	if b, err := hex.DecodeString(strings.ReplaceAll(v, ":", "")); err == nil && strings.Contains(v, ":") && len(b) > 1 {
		return b, ""
	}
	return append([]byte{0}, v...), ""
}

// slaac waits for the kernel's stateless autoconfiguration: a global
// IPv6 address on the device that passed duplicate address detection.
// The router advertisement's default route is the kernel's.
func (u *upRun) slaac(ctx context.Context, a *activation, cfg *profiles.IPConfig, f *famResult) error {
	name := a.dev.Name
	if d := dhcpTimeout(cfg); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	ch := make(chan netlink.AddrUpdate, 32)
	done := make(chan struct{})
	defer close(done)
	if err := netlink.AddrSubscribeWithOptions(ch, done, netlink.AddrSubscribeOptions{ListExisting: true}); err != nil {
		return fmt.Errorf("watch IPv6 addresses on %s: %w", name, err)
	}
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("no IPv6 address from router advertisements on %s: %w", name, ctx.Err())
		case up, ok := <-ch:
			if !ok {
				return fmt.Errorf("watch IPv6 addresses on %s: events ended", name)
			}
			p, ok := slaacAddr(up, a.dev.Index)
			if !ok {
				continue
			}
			f.addrs = []netip.Prefix{p}
			f.gateway = u.raGateway(a.dev.Index)
			f.dns, f.search = cfg.DNS, cfg.DNSSearch
			return nil
		}
	}
}

func slaacAddr(up netlink.AddrUpdate, index int) (netip.Prefix, bool) {
	if !up.NewAddr || up.LinkIndex != index {
		return netip.Prefix{}, false
	}
	return kernelSLAAC(netlink.Addr{IPNet: &up.LinkAddress, Flags: up.Flags, Scope: up.Scope})
}

// kernelSLAAC reports whether ad is a usable global IPv6 address the
// kernel configured from a router advertisement.
func kernelSLAAC(ad netlink.Addr) (netip.Prefix, bool) {
	if ad.IPNet == nil || ad.IP.To4() != nil {
		return netip.Prefix{}, false
	}
	if ad.Scope != unix.RT_SCOPE_UNIVERSE || ad.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) != 0 {
		return netip.Prefix{}, false
	}
	// Addresses earlynet adds itself (DHCPv6, static) carry noprefixroute
	// and, from DHCPv6, a /128; the kernel's SLAAC addresses do neither.
	ones, _ := ad.Mask.Size()
	if ad.Flags&unix.IFA_F_NOPREFIXROUTE != 0 || ones == 128 {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(ad.IP)
	return netip.PrefixFrom(a, ones), ok
}

// raGateway is the gateway of the kernel's default route from the router
// advertisement, if it is there yet.
func (u *upRun) raGateway(index int) netip.Addr {
	rs, err := u.h.RouteListFiltered(unix.AF_INET6, &netlink.Route{LinkIndex: index, Protocol: unix.RTPROT_RA},
		netlink.RT_FILTER_OIF|netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return netip.Addr{}
	}
	for _, r := range rs {
		if (r.Dst == nil || r.Dst.IP.IsUnspecified()) && r.Gw != nil {
			a, _ := netip.AddrFromSlice(r.Gw)
			return a
		}
	}
	return netip.Addr{}
}

// leaseExpiry is when the lease ends, as Unix seconds.
func leaseExpiry(l *dhcp4.Lease) int64 {
	return l.Acquired.Add(l.LeaseTime).Truncate(time.Second).Unix()
}
