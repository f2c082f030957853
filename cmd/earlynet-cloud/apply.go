package main

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/earlynet/earlynet/cmd/internal/linkup"
	"github.com/earlynet/earlynet/metadata"
	"github.com/earlynet/earlynet/profiles"
)

// applyDevice adds ch's addresses, routes and rules, recording an undo
// step for each addition the previous run had not made, then removes
// the addresses and routes the previous run added that the new
// configuration no longer has. An address the device already holds and
// earlynet did not add (the DHCP lease) is left exactly as it is.
func (k *kernel) applyDevice(ch *change) error {
	name, prev := ch.dev.Name, ch.prevKernel()
	present, err := k.addresses(name)
	if err != nil {
		return err
	}
	held := metadata.Config{MAC: ch.cfg.MAC, Index: ch.cfg.Index}
	for _, v6 := range []bool{false, true} {
		want, had := ch.cfg.Addresses4, prev.Addresses4
		if v6 {
			want, had = ch.cfg.Addresses6, prev.Addresses6
		}
		for _, a := range want {
			ours := slices.Contains(had, a)
			if present[a] && !ours {
				continue
			}
			if !present[a] {
				if err := k.l.AddAddress(name, linkup.Address{Prefix: a}); err != nil {
					return err
				}
				ch.undo = append(ch.undo, func() error { return k.l.DelAddress(name, a) })
			}
			if v6 {
				held.Addresses6 = append(held.Addresses6, a)
			} else {
				held.Addresses4 = append(held.Addresses4, a)
			}
		}
	}
	if err := k.addRoutes(ch, prev, &held); err != nil {
		return err
	}
	for _, ru := range ch.cfg.Rules4 {
		lr := kernelRule(ru)
		if err := k.l.AddRule(lr); err != nil {
			return err
		}
		if !slices.ContainsFunc(prev.Rules4, func(p profiles.Rule) bool { return kernelRule(p) == lr }) {
			ch.undo = append(ch.undo, func() error { return k.l.DelRule(lr) })
		}
		held.Rules4 = append(held.Rules4, ru)
	}
	k.removeStale(ch, prev, held)
	ch.kernel = &held
	ch.status = "applied"
	return nil
}

func (k *kernel) addRoutes(ch *change, prev metadata.Config, held *metadata.Config) error {
	name := ch.dev.Name
	for _, v6 := range []bool{false, true} {
		want, had := ch.cfg.Routes4, prev.Routes4
		if v6 {
			want, had = ch.cfg.Routes6, prev.Routes6
		}
		for _, rt := range want {
			lr := kernelRoute(rt)
			if err := k.l.AddRoute(name, lr); err != nil {
				return err
			}
			if !slices.ContainsFunc(had, func(p profiles.Route) bool { return kernelRoute(p) == lr }) {
				ch.undo = append(ch.undo, func() error { return k.l.DelRoute(name, lr) })
			}
			if v6 {
				held.Routes6 = append(held.Routes6, rt)
			} else {
				held.Routes4 = append(held.Routes4, rt)
			}
		}
	}
	return nil
}

// removeStale deletes what the previous run added and the new
// configuration lacks (rules: reconcileRules, they are not per device).
// A failure is reported; the rest goes on.
func (k *kernel) removeStale(ch *change, prev, held metadata.Config) {
	name := ch.dev.Name
	for _, a := range slices.Concat(prev.Addresses4, prev.Addresses6) {
		if !slices.Contains(held.Addresses4, a) && !slices.Contains(held.Addresses6, a) {
			if err := k.l.DelAddress(name, a); err != nil {
				k.warn(err.Error())
			}
		}
	}
	keep := slices.Concat(held.Routes4, held.Routes6)
	for _, rt := range slices.Concat(prev.Routes4, prev.Routes6) {
		lr := kernelRoute(rt)
		if !slices.ContainsFunc(keep, func(p profiles.Route) bool { return kernelRoute(p) == lr }) {
			if err := k.l.DelRoute(name, lr); err != nil {
				k.warn(err.Error())
			}
		}
	}
}

// reconcileRules deletes the rules the previous run added that no device
// keeps, and re-adds the kept ones (a rolled-back device may have taken
// away a rule another device shares, like the 30350 one).
func (k *kernel) reconcileRules(cs *changeSet) {
	var keep []linkup.Rule
	for _, ch := range cs.changes {
		kept := ch.prevKernel().Rules4
		if ch.kernel != nil {
			kept = ch.kernel.Rules4
		}
		for _, ru := range kept {
			keep = append(keep, kernelRule(ru))
		}
	}
	for _, mac := range slices.Sorted(maps.Keys(cs.st.Devices)) {
		sd := cs.st.Devices[mac]
		if sd.Kernel == nil {
			continue
		}
		for _, ru := range sd.Kernel.Rules4 {
			lr := kernelRule(ru)
			if !slices.Contains(keep, lr) {
				if err := k.l.DelRule(lr); err != nil {
					k.warn(err.Error())
				}
				keep = append(keep, lr) // once
			}
		}
	}
	for _, ch := range cs.changes {
		if ch.kernel == nil {
			continue
		}
		for _, ru := range ch.kernel.Rules4 {
			if err := k.l.AddRule(kernelRule(ru)); err != nil {
				k.warn(err.Error())
			}
		}
	}
}

// addresses is the set of addresses name holds now.
func (k *kernel) addresses(name string) (map[netip.Prefix]bool, error) {
	as, err := k.l.Addrs(name, unix.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("list addresses of %s: %w", name, err)
	}
	out := map[netip.Prefix]bool{}
	for _, a := range as {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		bits, _ := a.Mask.Size()
		out[netip.PrefixFrom(ip.Unmap(), bits)] = true
	}
	return out, nil
}

// kernelRoute is a profile route as NetworkManager puts it in the
// kernel: proto static, table main unless set, local routes in table
// local.
func kernelRoute(rt profiles.Route) linkup.Route {
	lr := linkup.Route{Dest: rt.Dest.Masked(), Gateway: rt.Gateway, Src: rt.Src, Table: int(rt.Table),
		Protocol: unix.RTPROT_STATIC, OnLink: rt.OnLink}
	if rt.Metric != nil {
		lr.Metric = int(*rt.Metric)
	}
	if rt.Type == "local" {
		lr.Type = unix.RTN_LOCAL
		if lr.Table == 0 {
			lr.Table = unix.RT_TABLE_LOCAL
		}
	}
	if lr.Table == 0 {
		lr.Table = unix.RT_TABLE_MAIN
	}
	// A policy table's gateway is on the subnet, whose route is in a
	// table the kernel does not consult when it checks the gateway
	// (secondary addresses carry no prefix route in main).
	if lr.Gateway.IsValid() && lr.Table != unix.RT_TABLE_MAIN {
		lr.OnLink = true
	}
	return lr
}

func kernelRule(ru profiles.Rule) linkup.Rule {
	lr := linkup.Rule{Family: unix.AF_INET, Priority: int(ru.Priority), From: ru.From, To: ru.To,
		Table: int(ru.Table), SuppressPrefixLength: -1}
	if ru.From.Addr().Is6() || ru.To.Addr().Is6() {
		lr.Family = unix.AF_INET6
	}
	if ru.SuppressPrefixLength != nil {
		lr.SuppressPrefixLength = *ru.SuppressPrefixLength
	}
	return lr
}
