package dhcp4

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// minMTU is the smallest option 26 value applied; smaller ones are
// ignored (RFC 791 requires every host to take 576-byte datagrams).
const minMTU = 576

// Check turns an OFFER or ACK into a lease, or says why it makes no sense:
// no or unusable address, a lease time of 0, a missing or /0 or
// non-contiguous netmask, no server identifier, or a gateway outside the
// subnet that no classless route makes reachable.
func Check(m *dhcpv4.DHCPv4) (*Lease, error) {
	addr, ok := netip.AddrFromSlice(m.YourIPAddr.To4())
	if !ok || !usable(addr) {
		return nil, fmt.Errorf("unusable address %v", m.YourIPAddr)
	}
	bits, err := prefixLen(m)
	if err != nil {
		return nil, err
	}
	sid, ok := netip.AddrFromSlice(m.ServerIdentifier().To4())
	if !ok || !sid.IsValid() || sid.IsUnspecified() {
		return nil, errors.New("no server identifier")
	}
	lt := m.IPAddressLeaseTime(0)
	if lt <= 0 {
		return nil, errors.New("lease time 0 or missing")
	}
	l := &Lease{
		Address:   netip.PrefixFrom(addr, bits),
		ServerID:  sid,
		LeaseTime: lt,
		T1:        m.IPAddressRenewalTime(lt / 2),
		T2:        m.IPAddressRebindingTime(lt * 7 / 8),
		Hostname:  m.HostName(),
		Domain:    m.DomainName(),
		RootPath:  m.RootPath(),
		BootFile:  m.BootFileName,
		ACK:       m,
	}
	if err := l.routes(m); err != nil {
		return nil, err
	}
	l.DNS = addrs(m.DNS())
	if s := m.DomainSearch(); s != nil {
		l.Search = s.Labels
	}
	if v := m.Options.Get(dhcpv4.OptionInterfaceMTU); len(v) == 2 {
		if mtu := int(v[0])<<8 | int(v[1]); mtu >= minMTU {
			l.MTU = mtu
		}
	}
	if ns, ok := netip.AddrFromSlice(m.ServerIPAddr.To4()); ok && !ns.IsUnspecified() {
		l.NextServer = ns
	}
	if strings.ContainsRune(l.Hostname, 0) {
		l.Hostname = ""
	}
	return l, nil
}

func usable(a netip.Addr) bool {
	return a.Is4() && !a.IsUnspecified() && !a.IsLoopback() && !a.IsMulticast() &&
		a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// prefixLen reads option 1. Without it the classful default applies, as
// in NetworkManager; a /0 or a non-contiguous mask is refused.
func prefixLen(m *dhcpv4.DHCPv4) (int, error) {
	raw := m.Options.Get(dhcpv4.OptionSubnetMask)
	if raw == nil {
		return classful(m.YourIPAddr.To4()), nil
	}
	if len(raw) != 4 {
		return 0, fmt.Errorf("subnet mask of %d bytes", len(raw))
	}
	ones, bits := net.IPMask(raw).Size()
	switch {
	case bits == 0:
		return 0, fmt.Errorf("non-contiguous subnet mask %s", net.IP(raw))
	case ones == 0:
		return 0, errors.New("subnet mask /0")
	}
	return ones, nil
}

func classful(ip net.IP) int {
	switch {
	case ip[0] < 128:
		return 8
	case ip[0] < 192:
		return 16
	}
	return 24
}

// routes fills Gateway and Routes. With option 121 the router option is
// ignored (RFC 3442) and the default route comes from 121; without it the
// first router must lie in the leased subnet.
func (l *Lease) routes(m *dhcpv4.DHCPv4) error {
	if raw := m.Options.Get(dhcpv4.OptionClasslessStaticRoute); raw != nil {
		rs := m.ClasslessStaticRoute()
		if rs == nil {
			return errors.New("malformed classless static routes (option 121)")
		}
		for _, r := range rs {
			dest, ok := netip.AddrFromSlice(r.Dest.IP.To4())
			gw, ok2 := netip.AddrFromSlice(r.Router.To4())
			ones, _ := r.Dest.Mask.Size()
			if !ok || !ok2 {
				return errors.New("malformed classless static route (option 121)")
			}
			if ones == 0 {
				if !l.Gateway.IsValid() && !gw.IsUnspecified() {
					l.Gateway = gw
				}
				continue
			}
			l.Routes = append(l.Routes, Route{Dest: netip.PrefixFrom(dest, ones).Masked(), Gateway: gw})
		}
		return nil
	}
	rs := m.Router()
	if len(rs) == 0 {
		return nil
	}
	gw, ok := netip.AddrFromSlice(rs[0].To4())
	if !ok || !usable(gw) {
		return fmt.Errorf("unusable router %v", rs[0])
	}
	if !l.Address.Masked().Contains(gw) {
		return fmt.Errorf("gateway %s outside the subnet %s", gw, l.Address.Masked())
	}
	if gw == l.Address.Addr() {
		return fmt.Errorf("gateway %s is the leased address", gw)
	}
	l.Gateway = gw
	return nil
}

func addrs(ips []net.IP) []netip.Addr {
	var out []netip.Addr
	for _, ip := range ips {
		if a, ok := netip.AddrFromSlice(ip.To4()); ok && usable(a) {
			out = append(out, a)
		}
	}
	return out
}

// Expiry is when the lease ends.
func (l *Lease) Expiry() time.Time { return l.Acquired.Add(l.LeaseTime) }
