package metadata

import (
	"slices"
	"strings"

	"github.com/earlynet/earlynet/profiles"
)

// SkipKey is nm-cloud-setup's [user] key: a profile where it is true is
// left alone.
const SkipKey = "org.freedesktop.nm-cloud-setup.skip"

// Skipped reports whether the user marked p to be left alone.
func Skipped(p *profiles.Profile) bool {
	v, ok := profiles.ParseBool(p.UserValue(SkipKey))
	return ok && v
}

// NewProfile is the profile for an interface no profile configures yet:
// ethernet matched by MAC, DHCP and IPv6 autoconfiguration as usual, the
// cloud configuration on top.
func NewProfile(c Config, id, uuid string) *profiles.Profile {
	p := &profiles.Profile{
		ID:       id,
		UUID:     uuid,
		Type:     profiles.TypeEthernet,
		Ethernet: &profiles.Ethernet{MACAddress: strings.ToUpper(c.MAC)},
		IPv4:     &profiles.IPConfig{Method: profiles.MethodAuto},
		IPv6:     &profiles.IPConfig{Method: profiles.MethodAuto},
	}
	Merge(p, c, Config{})
	return p
}

// Merge puts c into p: what prev (the configuration a previous run
// merged) added is taken out first, so a run after the metadata changed
// removes only what earlynet itself added, and merging the same c twice
// changes nothing. Whatever else p has is kept, in its order.
func Merge(p *profiles.Profile, c, prev Config) {
	if p.IPv4 == nil {
		p.IPv4 = &profiles.IPConfig{Method: profiles.MethodAuto}
	}
	if p.IPv6 == nil {
		p.IPv6 = &profiles.IPConfig{Method: profiles.MethodAuto}
	}
	v4, v6 := p.IPv4, p.IPv6
	v4.Addresses = replace(v4.Addresses, prev.Addresses4, c.Addresses4, addrEq)
	v4.Routes = replace(v4.Routes, prev.Routes4, c.Routes4, routeEq)
	v4.Rules = replace(v4.Rules, prev.Rules4, c.Rules4, ruleEq)
	v6.Addresses = replace(v6.Addresses, prev.Addresses6, c.Addresses6, addrEq)
	v6.Routes = replace(v6.Routes, prev.Routes6, c.Routes6, routeEq)
}

// replace drops from list the entries of old and appends those of add
// that list does not hold yet.
func replace[T any](list, old, add []T, eq func(a, b T) bool) []T {
	out := slices.DeleteFunc(slices.Clone(list), func(x T) bool {
		return slices.ContainsFunc(old, func(o T) bool { return eq(x, o) })
	})
	for _, a := range add {
		if !slices.ContainsFunc(out, func(x T) bool { return eq(x, a) }) {
			out = append(out, a)
		}
	}
	return out
}

func addrEq[T comparable](a, b T) bool { return a == b }

func routeEq(a, b profiles.Route) bool {
	return a.Dest == b.Dest && a.Gateway == b.Gateway && a.Table == b.Table && a.Type == b.Type &&
		metric(a.Metric) == metric(b.Metric) && a.Src == b.Src && a.OnLink == b.OnLink
}

func ruleEq(a, b profiles.Rule) bool {
	return a.Priority == b.Priority && a.From == b.From && a.To == b.To && a.Table == b.Table &&
		suppress(a.SuppressPrefixLength) == suppress(b.SuppressPrefixLength)
}

func metric(m *int64) int64 {
	if m == nil {
		return -1
	}
	return *m
}

func suppress(s *int) int {
	if s == nil {
		return -1
	}
	return *s
}
