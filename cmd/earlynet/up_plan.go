package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/earlynet/earlynet/profiles"
)

// activation is one profile to activate on one device.
type activation struct {
	dev     profiles.Device
	prof    *profiles.Profile
	ports   []*activation // for a controller: its ports, brought up first
	port    bool
	created bool // earlynet created the link (bond, bridge, VLAN)
	metric  int  // effective default-route metric
	base    int  // the metric NetworkManager aspires to for this device
}

// upPlan is what plan decided.
type upPlan struct {
	acts      []*activation // controllers and plain devices, in ifindex order
	unmatched []*profiles.Profile
}

// plan creates the virtual links the profiles ask for, enslaves their
// ports, and assigns the remaining profiles to devices with
// NetworkManager's matching rules. Devices nothing matches are left alone.
func (u *upRun) plan() (*upPlan, error) {
	details := slices.ContainsFunc(u.res.Profiles, func(p *profiles.Profile) bool {
		return len(p.Match.Driver)+len(p.Match.Path) > 0
	})
	inv, err := u.links.Inventory(details)
	if err != nil {
		return nil, err
	}
	var ports, controllers, plain []*profiles.Profile
	for _, p := range u.res.Profiles {
		switch {
		case p.IsPort():
			ports = append(ports, p)
		case isVirtual(p.Type):
			controllers = append(controllers, p)
			plain = append(plain, p)
		default:
			plain = append(plain, p)
		}
	}
	portActs, err := u.enslavePorts(ports, controllers, inv)
	if err != nil {
		return nil, err
	}
	if len(ports)+len(controllers) > 0 { // links were created or changed
		if inv, err = u.links.Inventory(details); err != nil {
			return nil, err
		}
	}
	inv = slices.DeleteFunc(inv, func(d profiles.Device) bool {
		return slices.ContainsFunc(portActs, func(a *activation) bool { return a.dev.Index == d.Index })
	})
	p := &upPlan{}
	used := map[*profiles.Profile]bool{}
	for _, as := range profiles.Assign(plain, inv, u.tokens) {
		a := &activation{dev: as.Device, prof: as.Profile, created: slices.Contains(u.created, as.Device.Name)}
		for _, pa := range portActs {
			if controllerName(pa.prof.Controller, u.res.Profiles) == a.dev.Name {
				a.ports = append(a.ports, pa)
			}
		}
		used[as.Profile] = true
		p.acts = append(p.acts, a)
		u.log.Debug("assigned", "device", a.dev.Name, "profile", a.prof.ID, "uuid", a.prof.UUID)
	}
	for _, pr := range plain {
		if !used[pr] {
			p.unmatched = append(p.unmatched, pr)
		}
	}
	assignMetrics(p.acts)
	return p, nil
}

// planWaiting is plan, repeated on every new link while a profile the
// boot needs has no device yet, up to its wait-device-timeout (drivers
// may still be loading when earlynet starts).
func (u *upRun) planWaiting(ctx context.Context) (*upPlan, error) {
	wait := u.deviceWait()
	if wait <= 0 {
		return u.plan()
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	ch := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	defer close(done)
	if err := netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{}); err != nil {
		return nil, fmt.Errorf("watch for new links: %w", err)
	}
	for {
		p, err := u.plan()
		if err != nil || len(u.missing(p)) == 0 {
			return p, err
		}
		u.log.Debug("waiting for devices", "profiles", len(u.missing(p)))
		select {
		case <-ctx.Done():
			return p, nil // the missing profiles are reported as failures
		case <-ch:
		}
	}
}

// deviceWait is the longest wait-device-timeout of the profiles.
func (u *upRun) deviceWait() time.Duration {
	var d time.Duration
	for _, p := range u.res.Profiles {
		if p.WaitDeviceTimeout != nil && *p.WaitDeviceTimeout > 0 {
			d = max(d, time.Duration(*p.WaitDeviceTimeout)*time.Millisecond)
		}
	}
	return d
}

// missing lists the profiles that must come up but have no device: a
// profile with a required family, or, with rd.neednet, any profile when
// no device matched at all.
func (u *upRun) missing(p *upPlan) []*profiles.Profile {
	var out []*profiles.Profile
	for _, pr := range p.unmatched {
		if mustComeUp(pr) || (u.res.NeedNet && len(p.acts) == 0) {
			out = append(out, pr)
		}
	}
	return out
}

func isVirtual(t string) bool {
	return t == profiles.TypeBond || t == profiles.TypeBridge || t == profiles.TypeVLAN || t == profiles.TypeTeam
}

// controllerName resolves a connection.master value (a UUID or an
// interface name) to the controller's interface name.
func controllerName(ref string, ps []*profiles.Profile) string {
	for _, p := range ps {
		if p.UUID == ref && p.InterfaceName != "" {
			return p.InterfaceName
		}
	}
	return ref
}

// enslavePorts creates the controllers (bonds and bridges before VLANs,
// which may sit on them) and enslaves the devices the port profiles
// match.
func (u *upRun) enslavePorts(ports, controllers []*profiles.Profile, inv []profiles.Device) ([]*activation, error) {
	slices.SortStableFunc(controllers, func(a, b *profiles.Profile) int {
		return boolInt(a.Type == profiles.TypeVLAN) - boolInt(b.Type == profiles.TypeVLAN)
	})
	for _, c := range controllers {
		if c.Type == profiles.TypeTeam {
			return nil, fmt.Errorf("profile %s: team devices are not supported by earlynet up", c.ID)
		}
		parent := ""
		if c.VLAN != nil {
			parent = controllerName(c.VLAN.Parent, u.res.Profiles)
		}
		created, err := u.links.EnsureVirtual(c, parent)
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", c.ID, err)
		}
		if created {
			u.created = append(u.created, c.InterfaceName)
		}
	}
	var acts []*activation
	for _, as := range profiles.Assign(ports, inv, u.tokens) {
		ctrl := controllerName(as.Profile.Controller, u.res.Profiles)
		if err := u.links.Enslave(as.Device.Name, ctrl); err != nil {
			return nil, fmt.Errorf("profile %s: %w", as.Profile.ID, err)
		}
		acts = append(acts, &activation{dev: as.Device, prof: as.Profile, port: true})
	}
	return acts, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// defaultMetric is NetworkManager's default route metric per device type.
func defaultMetric(t string) int {
	switch t {
	case profiles.TypeVLAN:
		return 400
	case profiles.TypeBond:
		return 300
	case profiles.TypeBridge:
		return 425
	case profiles.TypeTeam:
		return 350
	case profiles.TypeInfiniband:
		return 150
	}
	return 100
}

// assignMetrics gives each device the metric NetworkManager would: the
// profile's route-metric or the type default, bumped by one while another
// device already uses it (at most +50), in ifindex order.
func assignMetrics(acts []*activation) {
	slices.SortStableFunc(acts, func(a, b *activation) int { return a.dev.Index - b.dev.Index })
	taken := map[int]bool{}
	for _, a := range acts {
		a.base = defaultMetric(a.prof.Type)
		if ip := a.prof.IPv4; ip != nil && ip.RouteMetric != nil && *ip.RouteMetric >= 0 {
			a.base = int(*ip.RouteMetric)
		}
		a.metric = a.base
		for i := 0; i < 50 && taken[a.metric]; i++ {
			a.metric++
		}
		taken[a.metric] = true
	}
}
