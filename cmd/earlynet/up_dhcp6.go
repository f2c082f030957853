package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/dhcpv6/nclient6"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/earlynet/earlynet/cmd/internal/linkup"
	"github.com/earlynet/earlynet/cmd/internal/nmhandover"
	"github.com/earlynet/earlynet/profiles"
)

// dhcp6Lease is an accepted DHCPv6 reply.
type dhcp6Lease struct {
	Address   netip.Addr
	Valid     time.Duration
	Preferred time.Duration
	DNS       []netip.Addr
	Search    []string
	ServerID  string
	DUID      []byte // the client's, as sent
	IAID      uint32
}

// ipv6Auto is ipv6.method=auto (and dhcp): the kernel's SLAAC from router
// advertisements and a DHCPv6 exchange at once; the family is up with
// whichever gives a global address first.
func (u *upRun) ipv6Auto(ctx context.Context, a *activation, cfg *profiles.IPConfig, f *famResult) error {
	if d := dhcpTimeout(cfg); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type outcome struct {
		dhcp bool
		err  error
		f    *famResult
	}
	ch := make(chan outcome, 2)
	go func() {
		sf := &famResult{v6: true}
		ch <- outcome{false, u.slaac(ctx, a, cfg, sf), sf}
	}()
	go func() {
		df := &famResult{v6: true}
		ch <- outcome{true, u.dhcp6(ctx, a, cfg, df), df}
	}()
	var errs []error
	for range 2 {
		o := <-ch
		if o.err == nil {
			*f = *o.f
			f.method = cfg.Method
			return u.adoptRA(a, f)
		}
		errs = append(errs, o.err)
	}
	return errors.Join(errs...)
}

// dhcp6 runs SOLICIT/ADVERTISE/REQUEST/REPLY with nclient6 from the
// device's link-local address once it passed duplicate address detection,
// retransmitting on RFC 8415's schedule (exchange6).
func (u *upRun) dhcp6(ctx context.Context, a *activation, cfg *profiles.IPConfig, f *famResult) error {
	name := a.dev.Name
	ll, err := u.waitLinkLocal(ctx, a.dev.Index)
	if err != nil {
		return err
	}
	hw, err := u.links.HWAddr(name)
	if err != nil {
		return err
	}
	conn, err := net.ListenUDP("udp6", &net.UDPAddr{IP: ll.AsSlice(), Port: dhcpv6.DefaultClientPort, Zone: name})
	if err != nil {
		return fmt.Errorf("open DHCPv6 socket on %s: %w", name, err)
	}
	// One try per SendAndRead and a timeout no RT reaches: exchange6
	// keeps RFC 8415's schedule.
	c, err := nclient6.NewWithConn(conn, hw, nclient6.WithTimeout(2*solicitRT.MRT), nclient6.WithRetry(1))
	if err != nil {
		conn.Close()
		return fmt.Errorf("DHCPv6 client on %s: %w", name, err)
	}
	defer c.Close()
	// NetworkManager's default IAID (ipv6.dhcp-iaid=ifname), so that its
	// client renews this very binding after the takeover.
	var iaid [4]byte
	copy(iaid[:], nmhandover.IAIDBytes(nmhandover.IAID(name)))
	mods := []dhcpv6.Modifier{dhcpv6.WithClientID(u.duid(hw)), dhcpv6.WithIAID(iaid)}
	sol, err := dhcpv6.NewSolicit(hw, mods...)
	if err != nil {
		return fmt.Errorf("DHCPv6 on %s: %w", name, err)
	}
	adv, err := exchange6(ctx, c, sol, nclient6.IsMessageType(dhcpv6.MessageTypeAdvertise), solicitRT, nil)
	if err != nil {
		return fmt.Errorf("DHCPv6 on %s: %w", name, err)
	}
	req, err := dhcpv6.NewRequestFromAdvertise(adv, mods...)
	if err != nil {
		return fmt.Errorf("DHCPv6 on %s: %w", name, err)
	}
	reply, err := exchange6(ctx, c, req, nclient6.IsMessageType(dhcpv6.MessageTypeReply), requestRT, nil)
	if err != nil {
		return fmt.Errorf("DHCPv6 on %s: %w", name, err)
	}
	l, err := checkReply6(reply)
	if err != nil {
		return fmt.Errorf("DHCPv6 on %s: %w", name, err)
	}
	l.DUID, l.IAID = u.duid(hw).ToBytes(), nmhandover.IAID(name)
	if err := u.links.AddAddress(name, linkup.Address{Prefix: netip.PrefixFrom(l.Address, 128), Valid: l.Valid, Preferred: l.Preferred}); err != nil {
		return err
	}
	f.addrs, f.lease6 = []netip.Prefix{netip.PrefixFrom(l.Address, 128)}, l
	f.gateway = u.raGateway(a.dev.Index)
	f.dns, f.search = append(append([]netip.Addr(nil), cfg.DNS...), l.DNS...), append(append([]string(nil), cfg.DNSSearch...), l.Search...)
	return nil
}

// checkReply6 takes the first IA_NA address of a REPLY, refusing error
// status codes, zero lifetimes and non-global addresses.
func checkReply6(m *dhcpv6.Message) (*dhcp6Lease, error) {
	if m.MessageType != dhcpv6.MessageTypeReply {
		return nil, fmt.Errorf("got %s, want REPLY", m.MessageType)
	}
	if st := m.Options.Status(); st != nil && st.StatusCode != 0 {
		return nil, fmt.Errorf("server status %s: %s", st.StatusCode, st.StatusMessage)
	}
	ia := m.Options.OneIANA()
	if ia == nil {
		return nil, errors.New("no IA_NA in reply")
	}
	if st := ia.Options.Status(); st != nil && st.StatusCode != 0 {
		return nil, fmt.Errorf("IA_NA status %s: %s", st.StatusCode, st.StatusMessage)
	}
	ad := ia.Options.OneAddress()
	if ad == nil {
		return nil, errors.New("no address in IA_NA")
	}
	addr, ok := netip.AddrFromSlice(ad.IPv6Addr)
	if !ok || !addr.Is6() || !addr.IsGlobalUnicast() || addr.IsLinkLocalUnicast() {
		return nil, fmt.Errorf("unusable address %v", ad.IPv6Addr)
	}
	if ad.ValidLifetime <= 0 {
		return nil, fmt.Errorf("address %s with valid lifetime 0", addr)
	}
	l := &dhcp6Lease{Address: addr, Valid: ad.ValidLifetime, Preferred: min(ad.PreferredLifetime, ad.ValidLifetime)}
	for _, ip := range m.Options.DNS() {
		if a, ok := netip.AddrFromSlice(ip); ok && !a.IsUnspecified() {
			l.DNS = append(l.DNS, a)
		}
	}
	if s := m.Options.DomainSearchList(); s != nil {
		l.Search = s.Labels
	}
	return l, nil
}

// duid is NetworkManager's default DHCPv6 DUID for its internal client:
// DUID-UUID from the first 16 bytes of SHA-256 over the binary machine
// id, so the real root's NetworkManager is the same client. Without a
// machine id: DUID-LL from the MAC.
func (u *upRun) duid(hw net.HardwareAddr) dhcpv6.DUID {
	if d, ok := duidFromMachineID(string(u.machine)); ok {
		return d
	}
	return &dhcpv6.DUIDLL{HWType: 1, LinkLayerAddr: hw}
}

func duidFromMachineID(id string) (dhcpv6.DUID, bool) {
	bin, err := nmhandover.ParseMachineID([]byte(id))
	if err != nil {
		return nil, false
	}
	d, err := dhcpv6.DUIDFromBytes(nmhandover.DUIDFromMachineID(bin))
	return d, err == nil
}

// waitLinkLocal waits for the device's link-local address to leave the
// tentative state.
func (u *upRun) waitLinkLocal(ctx context.Context, index int) (netip.Addr, error) {
	ch := make(chan netlink.AddrUpdate, 32)
	done := make(chan struct{})
	defer close(done)
	if err := netlink.AddrSubscribeWithOptions(ch, done, netlink.AddrSubscribeOptions{ListExisting: true}); err != nil {
		return netip.Addr{}, fmt.Errorf("watch addresses: %w", err)
	}
	for {
		select {
		case <-ctx.Done():
			return netip.Addr{}, fmt.Errorf("no usable IPv6 link-local address: %w", ctx.Err())
		case up, ok := <-ch:
			if !ok {
				return netip.Addr{}, errors.New("watch addresses: events ended")
			}
			a, _ := netip.AddrFromSlice(up.LinkAddress.IP)
			if up.NewAddr && up.LinkIndex == index && a.Is6() && !a.Is4In6() && a.IsLinkLocalUnicast() &&
				up.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0 {
				return a, nil
			}
		}
	}
}
