package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/earlynet/earlynet/keyfile"
	"github.com/earlynet/earlynet/metadata"
	"github.com/earlynet/earlynet/profiles"
)

// change is what a run does to one device.
type change struct {
	dev  localDevice
	cfg  metadata.Config // the new configuration (empty: take back ours)
	prev *stateDevice    // what the previous run added; nil: nothing

	profile *profiles.Profile // after the merge; nil: no profile to write
	path    string
	old     []byte      // the file's current text; nil for a new file
	rebind  *rebindInfo // hand-over state to point at a new profile
	skip    string      // why the device is left alone

	undo   []func() error   // takes back this run's kernel additions
	kernel *metadata.Config // what the kernel holds from us after --apply
	failed error
	status string // what the run did, for the report
}

// changeSet is a whole run's plan.
type changeSet struct {
	changes []*change
	st      *state
}

// plan matches the metadata's interfaces to local devices by MAC and
// works out each device's profile. It touches nothing.
func (r *cloudRun) plan(md *metadata.Metadata) (*changeSet, error) {
	local, err := localDevices(r.f.sysfs, r.warn)
	if err != nil {
		return nil, err
	}
	st := loadState(r.f.root, r.warn)
	existing, err := loadProfiles(r.f.dir, r.warn)
	if err != nil {
		return nil, err
	}
	cs := &changeSet{st: st}
	inMeta := map[string]bool{}
	for _, c := range metadata.Plan(md) {
		inMeta[c.MAC] = true
		dev, ok := local[c.MAC]
		if !ok {
			r.warn(fmt.Sprintf("%s: interface %s (index %d) in the metadata has no local device; skipped", md.Provider, c.MAC, c.Index))
			continue
		}
		cs.changes = append(cs.changes, r.change(dev, c, st.Devices[c.MAC], existing))
	}
	for _, mac := range slices.Sorted(maps.Keys(st.Devices)) {
		if dev, ok := local[mac]; ok && !inMeta[mac] {
			// Gone from the metadata: take back what earlynet added.
			cs.changes = append(cs.changes, r.change(dev, metadata.Config{MAC: mac}, st.Devices[mac], existing))
		}
	}
	for _, mac := range slices.Sorted(maps.Keys(local)) {
		if !inMeta[mac] {
			r.warn(fmt.Sprintf("device %s (%s) is not in the %s metadata; left alone", local[mac].Name, mac, md.Provider))
		}
	}
	r.cs = cs
	return cs, nil
}

// existingProfile is a keyfile of the connections directory.
type existingProfile struct {
	path string
	raw  []byte
	p    *profiles.Profile
}

// loadProfiles reads the *.nmconnection files of dir; one that does not
// decode is reported and left alone.
func loadProfiles(dir string, warn func(string)) ([]existingProfile, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.nmconnection"))
	if err != nil {
		return nil, fmt.Errorf("list profiles in %s: %w", dir, err)
	}
	var out []existingProfile
	for _, n := range names {
		raw, err := os.ReadFile(n)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read profile: %w", err)
		}
		p, err := keyfile.Decode(raw)
		if err != nil {
			warn(fmt.Sprintf("profile %s ignored: %v", n, err))
			continue
		}
		out = append(out, existingProfile{path: n, raw: raw, p: p})
	}
	return out, nil
}

// change picks the profile for dev and merges c into it: the profile a
// previous run merged into, else one bound to the device by name or MAC,
// else a copy of a profile that applies to any Ethernet device
// (ip=dhcp's default_connection) bound to this one, else a new profile.
func (r *cloudRun) change(dev localDevice, c metadata.Config, prev *stateDevice, existing []existingProfile) *change {
	ch := &change{dev: dev, cfg: c, prev: prev}
	target, generic := pickProfile(dev, prev, existing)
	var prevCfg metadata.Config
	switch {
	case target != nil && metadata.Skipped(target.p):
		ch.skip = fmt.Sprintf("profile %s has %s=true", target.path, metadata.SkipKey)
		return ch
	case target != nil:
		ch.profile, ch.path, ch.old = target.p, target.path, target.raw
		if prev != nil && prev.Path == target.path {
			prevCfg = prev.Profile
		}
	case generic != nil && metadata.Skipped(generic.p):
		ch.skip = fmt.Sprintf("profile %s has %s=true", generic.path, metadata.SkipKey)
		return ch
	case c.Empty():
		ch.skip = "nothing to configure"
		return ch
	case generic != nil:
		ch.profile = bindCopy(generic.p, dev)
		ch.path = filepath.Join(r.f.dir, profileName(dev)+".nmconnection")
		ch.rebind = &rebindInfo{from: generic.p.UUID, to: ch.profile.UUID}
	default:
		ch.profile = metadata.NewProfile(c, profileName(dev), stableUUID(dev.MAC))
		ch.path = filepath.Join(r.f.dir, profileName(dev)+".nmconnection")
	}
	metadata.Merge(ch.profile, c, prevCfg)
	if err := profiles.Validate(ch.profile); err != nil {
		ch.failed = fmt.Errorf("device %s: profile %s: %w", dev.Name, ch.path, err)
	}
	return ch
}

// pickProfile returns the profile to merge into, or else a generic one to
// copy; nil, nil when there is neither.
func pickProfile(dev localDevice, prev *stateDevice, existing []existingProfile) (target, generic *existingProfile) {
	if prev != nil {
		for i := range existing {
			if e := &existing[i]; e.path == prev.Path && e.p.UUID == prev.UUID {
				return e, nil
			}
		}
	}
	d := profiles.Device{Name: dev.Name, Kind: profiles.KindEthernet, MAC: dev.MAC}
	for i := range existing {
		e := &existing[i]
		p := e.p
		if p.Type != profiles.TypeEthernet || p.IsPort() || profiles.Compatible(p, d, nil) != nil {
			continue
		}
		bound := p.InterfaceName == dev.Name || p.Ethernet != nil && strings.EqualFold(p.Ethernet.MACAddress, dev.MAC)
		switch {
		case bound:
			return e, nil
		case generic == nil && p.InterfaceName == "" && (p.Ethernet == nil || p.Ethernet.MACAddress == ""):
			generic = e
		}
	}
	return nil, generic
}

// bindCopy is a copy of the generic profile g bound to dev, preferred
// over g for that device.
func bindCopy(g *profiles.Profile, dev localDevice) *profiles.Profile {
	p, err := keyfile.Decode(keyfile.Encode(g))
	if err != nil { // Encode's output always decodes; keep going regardless
		p = &profiles.Profile{Type: profiles.TypeEthernet}
	}
	p.ID, p.UUID = profileName(dev), stableUUID(dev.MAC)
	p.InterfaceName = dev.Name
	p.MultiConnect = 0
	p.AutoconnectPriority = g.AutoconnectPriority + 1
	return p
}

// profileName is the id and file name stem of a profile earlynet-cloud
// creates; dev.Name passed profiles.ValidIfname.
func profileName(dev localDevice) string { return "cloud-" + dev.Name }

// stableUUID is a version-4-shaped UUID derived from the MAC, so that
// runs agree on a device's profile.
func stableUUID(mac string) string {
	b := sha256.Sum256([]byte("earlynet-cloud " + mac))
	return profiles.UUIDv4([16]byte(b[:16]))
}

// describe is the device's report line.
func (ch *change) describe(dryRun bool) deviceReport {
	d := deviceReport{Name: ch.dev.Name, MAC: ch.dev.MAC, Path: ch.path}
	if ch.profile != nil {
		d.Profile = ch.profile.ID
	}
	for _, a := range slices.Concat(ch.cfg.Addresses4, ch.cfg.Addresses6) {
		d.Addresses = append(d.Addresses, a.String())
	}
	for _, rt := range slices.Concat(ch.cfg.Routes4, ch.cfg.Routes6) {
		d.Routes = append(d.Routes, routeString(rt))
	}
	for _, ru := range ch.cfg.Rules4 {
		d.Rules = append(d.Rules, keyfile.FormatRule(ru))
	}
	switch {
	case ch.failed != nil:
		d.Status = "failed: " + ch.failed.Error()
	case ch.skip != "":
		d.Status = "skipped: " + ch.skip
	case dryRun:
		d.Status = "planned"
	case ch.status != "":
		d.Status = ch.status
	default:
		d.Status = "unchanged"
	}
	return d
}

func routeString(rt profiles.Route) string {
	s := rt.Dest.String()
	if rt.Type != "" {
		s = rt.Type + " " + s
	}
	if rt.Gateway.IsValid() {
		s += " via " + rt.Gateway.String()
	}
	if rt.Metric != nil {
		s += fmt.Sprintf(" metric %d", *rt.Metric)
	}
	if rt.Table != 0 {
		s += fmt.Sprintf(" table %d", rt.Table)
	}
	return s
}
