package main

import (
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/earlynet/earlynet/cmd/internal/linkup"
)

// kernelRAMetric is the metric the kernel gives the default route it
// learns from a router advertisement.
const kernelRAMetric = 1024

// adoptRA leaves IPv6 routing as NetworkManager programs it for
// ipv6.method=auto, so that its takeover changes nothing
// (handover.md §7.5): the kernel stops processing router advertisements
// (NetworkManager does that in user space and sets accept_ra=0 itself),
// the advertised prefix and default routes are installed with proto ra
// and the device's metric, and the kernel's own default route with
// metric 1024, which NetworkManager would delete seconds after taking
// over, is removed.
//
// Without a router yet (DHCPv6 was faster than the first advertisement,
// or the router announced lifetime 0) the kernel keeps handling them, so
// a later advertisement still brings the default route.
func (u *upRun) adoptRA(a *activation, f *famResult) error {
	if !f.gateway.IsValid() {
		return nil
	}
	name := a.dev.Name
	if err := u.links.Sysctl("ipv6", name, "accept_ra", "0"); err != nil {
		return err
	}
	var rs []linkup.Route
	for _, p := range f.addrs {
		if p.Bits() < 128 {
			rs = append(rs, linkup.Route{Dest: p.Masked(), Metric: a.metric, Protocol: unix.RTPROT_RA})
		}
	}
	rs = append(rs, linkup.Route{Dest: netip.PrefixFrom(netip.IPv6Unspecified(), 0), Gateway: f.gateway,
		Metric: a.metric, Protocol: unix.RTPROT_RA})
	if err := u.addRoutes(name, rs); err != nil {
		return err
	}
	f.routes = append(f.routes, rs...)
	if a.metric == kernelRAMetric {
		return nil
	}
	return u.links.DelRoute(name, linkup.Route{Dest: netip.PrefixFrom(netip.IPv6Unspecified(), 0),
		Gateway: f.gateway, Metric: kernelRAMetric})
}

// settleRA is for a device that is up before its optional IPv6
// autoconfiguration finished: NetworkManager's initrd run leaves such a
// device with accept_ra=0 and the real root's NetworkManager starts
// IPv6 autoconfiguration itself, so earlynet stops the kernel from doing
// it behind NetworkManager's back. A router advertisement the kernel
// already acted on is adopted as adoptRA does.
func (u *upRun) settleRA(a *activation) error {
	if err := u.links.Sysctl("ipv6", a.dev.Name, "accept_ra", "0"); err != nil {
		return err
	}
	f := &famResult{v6: true, gateway: u.raGateway(a.dev.Index)}
	if !f.gateway.IsValid() {
		return nil
	}
	addrs, err := u.links.Addrs(a.dev.Name, unix.AF_INET6)
	if err != nil {
		return err
	}
	for _, ad := range addrs {
		p, ok := kernelSLAAC(ad)
		if ok {
			f.addrs = append(f.addrs, p)
		}
	}
	return u.adoptRA(a, f)
}
