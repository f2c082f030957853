package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/earlynet/earlynet/cmd/internal/dhcp4"
	"github.com/earlynet/earlynet/cmd/internal/linkup"
	"github.com/earlynet/earlynet/profiles"
)

// defaultDHCPTimeout is NetworkManager's ipv4.dhcp-timeout default.
const defaultDHCPTimeout = 45 * time.Second

// famResult is the outcome of one address family on one device.
type famResult struct {
	v6      bool
	method  string
	err     error
	addrs   []netip.Prefix
	gateway netip.Addr
	routes  []linkup.Route
	dns     []netip.Addr
	search  []string
	lease   *dhcp4.Lease
	lease6  *dhcp6Lease
	took    time.Duration
}

// devResult is the outcome of one activation.
type devResult struct {
	act      *activation
	err      error
	fams     []*famResult
	hostname string
	phases   []phaseTime
}

func (r *devResult) family(v6 bool) *famResult {
	for _, f := range r.fams {
		if f.v6 == v6 && f.err == nil {
			return f
		}
	}
	return nil
}

// activateAll activates every device at once; each device runs its two
// families at once too.
func (u *upRun) activateAll(ctx context.Context, p *upPlan) []*devResult {
	out := make([]*devResult, len(p.acts))
	var wg sync.WaitGroup
	for i, a := range p.acts {
		wg.Go(func() { out[i] = u.activate(ctx, a) })
	}
	wg.Wait()
	return out
}

func (u *upRun) activate(ctx context.Context, a *activation) *devResult {
	r := &devResult{act: a}
	start := time.Now()
	mark := func(name string) {
		r.phases = append(r.phases, phaseTime{Name: name, MS: ms(time.Since(start)), SinceStartMS: ms(time.Since(u.start))})
		u.log.Debug("phase", "device", a.dev.Name, "phase", name)
	}
	if err := u.linkUp(a); err != nil {
		r.err = err
		return r
	}
	mark("link-up")
	cctx, cancel := context.WithTimeout(ctx, u.carrierTimeout())
	err := u.links.WaitCarrier(cctx, a.dev.Name)
	cancel()
	if err != nil {
		r.err = err
		return r
	}
	mark("carrier")
	r.err = u.families(ctx, a, r, mark)
	return r
}

func (u *upRun) carrierTimeout() time.Duration {
	if u.res.CarrierTimeout > 0 {
		return time.Duration(u.res.CarrierTimeout) * time.Second
	}
	return 10 * time.Second
}

// linkUp prepares the ports and the device (IPv6 sysctls before the link
// goes up, MTU, cloned MAC) and sets them up.
func (u *upRun) linkUp(a *activation) error {
	if v := a.prof.VLAN; v != nil && a.prof.Type == profiles.TypeVLAN {
		// The kernel refuses to open a VLAN whose parent is down
		// (ENETDOWN); the parent's own activation may not have got
		// there yet, so raise it first, as NetworkManager does.
		if err := u.links.Up(controllerName(v.Parent, u.res.Profiles)); err != nil {
			return fmt.Errorf("parent of %s: %w", a.dev.Name, err)
		}
	}
	for _, pa := range a.ports {
		if err := u.prepare(pa); err != nil {
			return err
		}
	}
	return u.prepare(a)
}

func (u *upRun) prepare(a *activation) error {
	name := a.dev.Name
	if ip6 := a.prof.IPv6; ip6 != nil {
		switch ip6.Method {
		case profiles.MethodDisabled:
			// As NetworkManager does: no link-local address appears that
			// its takeover would remove again.
			if err := u.links.Sysctl("ipv6", name, "disable_ipv6", "1"); err != nil {
				return err
			}
		case profiles.MethodAuto, profiles.MethodDHCP, profiles.MethodManual:
			if err := u.links.Sysctl("ipv6", name, "disable_ipv6", "0"); err != nil {
				return err
			}
		}
	}
	var mtu uint32
	var mac string
	if e := a.prof.Ethernet; e != nil {
		mtu, mac = e.MTU, e.ClonedMACAddress
	}
	if mac == "preserve" || mac == "permanent" || mac == "random" || mac == "stable" {
		mac = "" // NetworkManager keywords; only an explicit address is applied
	}
	if err := u.links.Prepare(name, mtu, mac); err != nil {
		return err
	}
	return u.links.Up(name)
}

// families runs IPv4 and IPv6 at once and decides when the device is
// up: every required family (may-fail=false) done, at least one family
// done, and optional families with a required-timeout given that long.
func (u *upRun) families(ctx context.Context, a *activation, r *devResult, mark func(string)) error {
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type job struct {
		v6  bool
		cfg *profiles.IPConfig
	}
	var jobs []job
	for _, v6 := range []bool{false, true} {
		if cfg := a.prof.IP(v6); cfg != nil && active(cfg.Method) {
			jobs = append(jobs, job{v6, cfg})
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	// An optional family starts once a required one has its first packet
	// on the wire (or is done): both still run at once on the network, but
	// the optional family's set-up does not compete for the CPU on the
	// way to the first DISCOVER.
	inFlight := make(chan struct{})
	var once sync.Once
	sent := func() { once.Do(func() { close(inFlight) }) }
	anyRequired := slices.ContainsFunc(jobs, func(j job) bool { return j.cfg.Required })
	ch := make(chan *famResult, len(jobs))
	for _, j := range jobs {
		if j.cfg.Required || !anyRequired {
			go func() {
				f := u.family(fctx, a, j.v6, j.cfg, sent)
				sent()
				ch <- f
			}()
			continue
		}
		go func() {
			select {
			case <-inFlight:
			case <-fctx.Done():
			}
			ch <- u.family(fctx, a, j.v6, j.cfg, func() {})
		}()
	}
	var deadline <-chan time.Time
	if d := requiredTimeout(a.prof); d > 0 {
		deadline = time.After(d)
	}
	expired := false
	for pending := len(jobs); pending > 0; {
		if satisfied(a.prof, r.fams) && (expired || !awaiting(a.prof, r.fams)) {
			break
		}
		select {
		case f := <-ch:
			pending--
			r.fams = append(r.fams, f)
			mark(famName(f.v6))
			if f.err != nil && a.prof.IP(f.v6).Required {
				return fmt.Errorf("%s: %w", famName(f.v6), f.err)
			}
		case <-deadline:
			expired = true
		}
	}
	if cfg := a.prof.IP(true); cfg != nil && (cfg.Method == profiles.MethodAuto || cfg.Method == profiles.MethodDHCP) &&
		!slices.ContainsFunc(r.fams, func(f *famResult) bool { return f.v6 }) {
		if err := u.settleRA(a); err != nil {
			fmt.Fprintf(u.stderr, "earlynet: warning: %s: ipv6: %v\n", a.dev.Name, err)
		}
	}
	if !satisfied(a.prof, r.fams) {
		var errs []error
		for _, f := range r.fams {
			if f.err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", famName(f.v6), f.err))
			}
		}
		if len(errs) == 0 {
			errs = append(errs, errors.New("no address family came up"))
		}
		return errors.Join(errs...)
	}
	return nil
}

func famName(v6 bool) string {
	if v6 {
		return "ipv6"
	}
	return "ipv4"
}

func active(method string) bool {
	switch method {
	case profiles.MethodAuto, profiles.MethodDHCP, profiles.MethodManual, profiles.MethodLinkLocal:
		return true
	}
	return false
}

// satisfied reports whether the families done so far make the device
// activated.
func satisfied(p *profiles.Profile, fams []*famResult) bool {
	ok := map[bool]bool{}
	any := false
	for _, f := range fams {
		if f.err == nil {
			ok[f.v6] = true
			any = true
		}
	}
	for _, v6 := range []bool{false, true} {
		if cfg := p.IP(v6); cfg != nil && active(cfg.Method) && cfg.Required && !ok[v6] {
			return false
		}
	}
	return any
}

// awaiting reports whether an optional family with a required-timeout
// has not finished yet.
func awaiting(p *profiles.Profile, fams []*famResult) bool {
	for _, v6 := range []bool{false, true} {
		cfg := p.IP(v6)
		if cfg == nil || !active(cfg.Method) || cfg.Required || cfg.RequiredTimeout == nil {
			continue
		}
		if !slices.ContainsFunc(fams, func(f *famResult) bool { return f.v6 == v6 }) {
			return true
		}
	}
	return false
}

// requiredTimeout is the longest ipvX.required-timeout of an optional
// family: NetworkManager waits that long for it before declaring the
// device activated without it.
func requiredTimeout(p *profiles.Profile) time.Duration {
	var d time.Duration
	for _, v6 := range []bool{false, true} {
		if cfg := p.IP(v6); cfg != nil && active(cfg.Method) && !cfg.Required && cfg.RequiredTimeout != nil {
			d = max(d, time.Duration(*cfg.RequiredTimeout)*time.Millisecond)
		}
	}
	return d
}

// family configures one address family; sent is called once its first
// packet is out.
func (u *upRun) family(ctx context.Context, a *activation, v6 bool, cfg *profiles.IPConfig, sent func()) *famResult {
	start := time.Now()
	f := &famResult{v6: v6, method: cfg.Method}
	switch {
	case cfg.Method == profiles.MethodManual:
		f.err = u.static(a, cfg, f)
	case cfg.Method == profiles.MethodLinkLocal:
		f.err = fmt.Errorf("method link-local is not supported by earlynet up")
	case !v6:
		f.err = u.dhcp4(ctx, a, cfg, f, sent)
	default:
		f.err = u.ipv6Auto(ctx, a, cfg, f)
	}
	f.took = time.Since(start)
	return f
}

// static applies manual addresses and routes as NetworkManager does:
// permanent addresses with noprefixroute, the prefix route with the
// device's metric (proto kernel), gateway and routes proto static.
func (u *upRun) static(a *activation, cfg *profiles.IPConfig, f *famResult) error {
	name := a.dev.Name
	for _, p := range cfg.Addresses {
		if err := u.links.AddAddress(name, linkup.Address{Prefix: p}); err != nil {
			return err
		}
		f.addrs = append(f.addrs, p)
		f.routes = append(f.routes, linkup.Route{Dest: p.Masked(), Src: p.Addr(), Metric: a.base, Protocol: unix.RTPROT_KERNEL})
	}
	if cfg.Gateway.IsValid() && !cfg.NeverDefault {
		f.gateway = cfg.Gateway
		f.routes = append(f.routes, linkup.Route{Dest: anyPrefix(cfg.Gateway), Gateway: cfg.Gateway, Metric: a.metric, Protocol: unix.RTPROT_STATIC, Table: int(cfg.RouteTable)})
	}
	f.routes = append(f.routes, profileRoutes(a, cfg)...)
	f.dns, f.search = cfg.DNS, cfg.DNSSearch
	return u.addRoutes(name, f.routes)
}

func anyPrefix(a netip.Addr) netip.Prefix {
	if a.Is4() {
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
}

// profileRoutes are ipvX.routes (rd.route=), proto static, with the
// route's own metric or the device's.
func profileRoutes(a *activation, cfg *profiles.IPConfig) []linkup.Route {
	var out []linkup.Route
	for _, r := range cfg.Routes {
		m := a.base
		if r.Metric != nil {
			m = int(*r.Metric)
		}
		t := r.Table
		if t == 0 {
			t = cfg.RouteTable
		}
		out = append(out, linkup.Route{Dest: r.Dest, Gateway: r.Gateway, Src: r.Src, Metric: m, Table: int(t), Protocol: unix.RTPROT_STATIC, OnLink: r.OnLink})
	}
	return out
}

func (u *upRun) addRoutes(name string, rs []linkup.Route) error {
	for _, r := range rs {
		if err := u.links.AddRoute(name, r); err != nil {
			return err
		}
	}
	return nil
}

func dhcpTimeout(cfg *profiles.IPConfig) time.Duration {
	if cfg.DHCPTimeout > 0 && cfg.DHCPTimeout < 2147483647 {
		return time.Duration(cfg.DHCPTimeout) * time.Second
	}
	if cfg.DHCPTimeout == 0 {
		return defaultDHCPTimeout
	}
	return 0 // infinity
}
