package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/earlynet/earlynet/cmd/internal/dhcp4"
	"github.com/earlynet/earlynet/cmd/internal/dmi"
	"github.com/earlynet/earlynet/cmd/internal/nmhandover"
	"github.com/earlynet/earlynet/cmd/internal/renameio"
	"github.com/earlynet/earlynet/initrd"
	"github.com/earlynet/earlynet/keyfile"
	"github.com/earlynet/earlynet/profiles"
)

// NetworkManager's run-time directories, relative to --root.
const (
	nmRun     = "run/NetworkManager"
	connDir   = nmRun + "/system-connections"
	initrdDir = nmRun + "/initrd"
	confDir   = nmRun + "/conf.d"
	etcResolv = "etc/resolv.conf"
)

// upReport is the --json report.
type upReport struct {
	OK       bool           `json:"ok"`
	Devices  []deviceReport `json:"devices"`
	DNS      []string       `json:"dns,omitempty"`
	Search   []string       `json:"search,omitempty"`
	Hostname string         `json:"hostname,omitempty"`
	Cloud    string         `json:"cloud,omitempty"`
	Phases   []phaseTime    `json:"phases"`
	Warnings []string       `json:"warnings,omitempty"`
}

type phaseTime struct {
	Name         string  `json:"name"`
	MS           float64 `json:"ms"`
	SinceStartMS float64 `json:"since_start_ms"`
}

type deviceReport struct {
	Name      string       `json:"name"`
	Ifindex   int          `json:"ifindex,omitempty"`
	Profile   string       `json:"profile"`
	UUID      string       `json:"uuid"`
	State     string       `json:"state"`
	Error     string       `json:"error,omitempty"`
	Created   bool         `json:"created,omitempty"`
	Ports     []string     `json:"ports,omitempty"`
	Metric    int          `json:"metric,omitempty"`
	Addresses []string     `json:"addresses,omitempty"`
	Routes    []string     `json:"routes,omitempty"`
	DNS       []string     `json:"dns,omitempty"`
	Lease     *leaseReport `json:"lease,omitempty"`
	Phases    []phaseTime  `json:"phases,omitempty"`
}

type leaseReport struct {
	Address   string   `json:"address"`
	Server    string   `json:"server"`
	Gateway   string   `json:"gateway,omitempty"`
	LeaseTime int64    `json:"lease_time_s"`
	Expiry    int64    `json:"expiry"`
	MTU       int      `json:"mtu,omitempty"`
	Hostname  string   `json:"hostname,omitempty"`
	DNS       []string `json:"dns,omitempty"`
}

// writeProfiles writes what `earlynet initrd` writes for the command line,
// under --root.
func (u *upRun) writeProfiles(ps []*profiles.Profile) error {
	root := u.f.root
	for _, d := range []string{connDir, initrdDir, confDir} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Join(root, d), err)
		}
	}
	if h := u.res.Hostname; h != "" {
		if err := renameio.WriteFile(filepath.Join(root, initrdDir, "hostname"), []byte(h+"\n"), 0o600); err != nil {
			return err
		}
	}
	for _, s := range u.res.Snippets() {
		if err := renameio.WriteFile(filepath.Join(root, confDir, s.Name), []byte(s.Text()), 0o600); err != nil {
			return err
		}
	}
	for _, p := range ps {
		data := append([]byte("# Created by earlynet up\n\n"), keyfile.Encode(p)...)
		if err := renameio.WriteFile(filepath.Join(root, connDir, initrd.FileName(p.Name)), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// collect fills the report and returns one line per failure.
func (u *upRun) collect(p *upPlan, results []*devResult) []string {
	var failed []string
	rep := u.report
	upByProfile := map[*profiles.Profile]bool{}
	for _, r := range results {
		upByProfile[r.act.prof] = upByProfile[r.act.prof] || r.err == nil
	}
	for _, r := range results {
		d := deviceReportOf(r)
		rep.Devices = append(rep.Devices, d)
		if r.err != nil {
			line := fmt.Sprintf("%s: %v", r.act.dev.Name, oneLine(r.err))
			// A multi-connect profile (ip=dhcp) needs one of its devices,
			// not all: the others' failures are warnings.
			if r.act.prof.MultiConnect == 3 && upByProfile[r.act.prof] {
				fmt.Fprintf(u.stderr, "earlynet: warning: %s\n", line)
				rep.Warnings = append(rep.Warnings, line)
				continue
			}
			failed = append(failed, line)
			continue
		}
		for _, f := range r.fams {
			rep.DNS = appendNew(rep.DNS, addrStrings(f.dns)...)
			rep.Search = appendNew(rep.Search, f.search...)
		}
	}
	for _, pr := range u.missing(p) {
		failed = append(failed, fmt.Sprintf("%s: no device matches profile %q", describe(pr), pr.ID))
	}
	if u.res.NeedNet && len(p.acts) == 0 && len(failed) == 0 {
		failed = append(failed, "rd.neednet: no device matches any profile")
	}
	rep.Hostname = u.hostname(results)
	return failed
}

func describe(p *profiles.Profile) string {
	if p.InterfaceName != "" {
		return p.InterfaceName
	}
	return p.Name
}

// mustComeUp: a profile with a required family names a device the
// command line insists on.
func mustComeUp(p *profiles.Profile) bool {
	return (p.IPv4 != nil && p.IPv4.Required) || (p.IPv6 != nil && p.IPv6.Required)
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

func deviceReportOf(r *devResult) deviceReport {
	a := r.act
	d := deviceReport{
		Name: a.dev.Name, Ifindex: a.dev.Index, Profile: a.prof.ID, UUID: a.prof.UUID,
		State: "activated", Created: a.created, Metric: a.metric, Phases: r.phases,
	}
	for _, pa := range a.ports {
		d.Ports = append(d.Ports, pa.dev.Name)
	}
	if r.err != nil {
		d.State, d.Error = "failed", oneLine(r.err)
	}
	for _, f := range r.fams {
		if f.err != nil {
			continue
		}
		for _, p := range f.addrs {
			d.Addresses = append(d.Addresses, p.String())
		}
		for _, rt := range f.routes {
			d.Routes = append(d.Routes, routeString(rt.Dest, rt.Gateway, rt.Metric, rt.Protocol))
		}
		d.DNS = appendNew(d.DNS, addrStrings(f.dns)...)
		if l := f.lease; l != nil {
			d.Lease = leaseReportOf(l)
		}
	}
	return d
}

func leaseReportOf(l *dhcp4.Lease) *leaseReport {
	lr := &leaseReport{
		Address: l.Address.String(), Server: l.ServerID.String(),
		LeaseTime: int64(l.LeaseTime.Seconds()), Expiry: leaseExpiry(l), MTU: l.MTU,
		Hostname: l.Hostname, DNS: addrStrings(l.DNS),
	}
	if l.Gateway.IsValid() {
		lr.Gateway = l.Gateway.String()
	}
	return lr
}

func routeString(dest netip.Prefix, gw netip.Addr, metric, proto int) string {
	s := dest.String()
	if gw.IsValid() && !gw.IsUnspecified() {
		s += " via " + gw.String()
	}
	return fmt.Sprintf("%s proto %s metric %d", s, protoName(proto), metric)
}

func protoName(p int) string {
	switch p {
	case unix.RTPROT_KERNEL:
		return "kernel"
	case unix.RTPROT_STATIC:
		return "static"
	case unix.RTPROT_DHCP:
		return "dhcp"
	case unix.RTPROT_RA:
		return "ra"
	}
	return strconv.Itoa(p)
}

func addrStrings(as []netip.Addr) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.String())
	}
	return out
}

func appendNew(list []string, vs ...string) []string {
	for _, v := range vs {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

// hostname is the command line's host name, else the first DHCP one
// that is a valid host name.
func (u *upRun) hostname(results []*devResult) string {
	if u.res.Hostname != "" {
		return u.res.Hostname
	}
	for _, r := range results {
		if r.err != nil {
			continue
		}
		if f := r.family(false); f != nil && f.lease != nil && f.lease.Hostname != "" {
			if validHostname(f.lease.Hostname) {
				return f.lease.Hostname
			}
			fmt.Fprintf(u.stderr, "earlynet: warning: %s: DHCP host name %q refused\n", r.act.dev.Name, f.lease.Hostname)
		}
	}
	return ""
}

// validHostname accepts what may become a file's content and the kernel
// host name: 1-64 characters of letters, digits, '-', '.' and '_'.
func validHostname(h string) bool {
	if h == "" || len(h) > 64 || strings.Contains(h, "..") {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// writeState records what was done, for NetworkManager's takeover
// (nmhandover): a device state file for every activated device and its
// ports, the DHCPv4 lease file, the DNS copies; then etc/resolv.conf
// and the host name. Failed devices get nothing.
func (u *upRun) writeState(results []*devResult) error {
	st := nmhandover.State{DNS: u.dns()}
	for _, r := range results {
		if r.err == nil {
			st.Devices = append(st.Devices, handoverDevices(r)...)
		}
	}
	warns, err := (&nmhandover.Writer{Root: u.f.root}).Write(st)
	for _, w := range warns {
		fmt.Fprintln(u.stderr, "earlynet: warning:", w)
	}
	if err != nil {
		return err
	}
	if err := u.writeEtcResolv(st.DNS); err != nil {
		return err
	}
	return u.writeHostname()
}

func (u *upRun) writeHostname() error {
	h := u.report.Hostname
	if h != "" && h != u.res.Hostname {
		if err := renameio.WriteFile(filepath.Join(u.f.root, initrdDir, "hostname"), []byte(h+"\n"), 0o600); err != nil {
			return err
		}
	}
	if h != "" && u.f.setHostname {
		if err := unix.Sethostname([]byte(h)); err != nil {
			return fmt.Errorf("set host name %q: %w", h, err)
		}
	}
	return nil
}

// handoverDevices describes an activated device and its ports as
// NetworkManager will find them.
func handoverDevices(r *devResult) []nmhandover.Device {
	a := r.act
	var out []nmhandover.Device
	for _, pa := range a.ports {
		out = append(out, handoverDevice(pa))
	}
	d := handoverDevice(a)
	for _, f := range r.fams {
		if f.err != nil {
			continue
		}
		if !f.v6 && f.gateway.IsValid() {
			d.RouteMetric, d.RouteMetricAspired = uint32(a.metric), uint32(a.base)
		}
		if f.lease != nil {
			d.DHCP4 = lease4Of(f.lease)
		}
		if l := f.lease6; l != nil {
			d.DHCP6 = &nmhandover.Lease6{Addresses: []netip.Addr{l.Address}, DNS: l.DNS, Search: l.Search, DUID: l.DUID, IAID: l.IAID}
		}
	}
	return append(out, d)
}

func handoverDevice(a *activation) nmhandover.Device {
	d := nmhandover.Device{Ifindex: a.dev.Index, Name: a.dev.Name, UUID: a.prof.UUID,
		Software: a.created, Created: a.created}
	d.MAC, _ = net.ParseMAC(a.dev.MAC)
	return d
}

func lease4Of(l *dhcp4.Lease) *nmhandover.Lease4 {
	return &nmhandover.Lease4{Address: l.Address, Router: l.Gateway, DNS: l.DNS, Domain: l.Domain,
		Hostname: validOr(l.Hostname), NextServer: l.NextServer, RootPath: l.RootPath, BootFile: l.BootFile,
		MTU: l.MTU, ServerID: l.ServerID, ClientID: l.ClientID, LeaseTime: l.LeaseTime,
		Obtained: l.Acquired.Truncate(time.Second)}
}

// validOr passes a DHCP host name on only if it is a valid host name.
func validOr(h string) string {
	if validHostname(h) {
		return h
	}
	return ""
}

func (u *upRun) dns() *nmhandover.DNS {
	d := &nmhandover.DNS{Search: u.report.Search}
	for _, s := range u.report.DNS {
		if a, err := netip.ParseAddr(s); err == nil {
			d.Servers = append(d.Servers, a)
		}
	}
	return d
}

// writeEtcResolv puts NetworkManager's resolv.conf text in
// etc/resolv.conf, as its initrd run does (rc-manager=file), unless that
// is a symbolic link: then it belongs to a resolver (systemd-resolved,
// or NetworkManager's own run/ copy) and is left alone. On a running
// system's own root (--root / outside an initramfs) the file belongs to
// NetworkManager or the administrator, and earlynet leaves it too.
func (u *upRun) writeEtcResolv(d *nmhandover.DNS) error {
	if len(d.Servers) == 0 && len(d.Search) == 0 {
		return nil
	}
	if !u.inInitramfs() {
		u.log.Debug("etc/resolv.conf left alone: not an initramfs (no etc/initrd-release) and --root is /")
		return nil
	}
	path := filepath.Join(u.f.root, etcResolv)
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	// World-readable: every process that resolves a name reads it.
	return renameio.WriteFile(path, nmhandover.ResolvConf(*d), 0o644)
}

// runCloud hands over to earlynet-cloud (a sibling binary, so this one
// links no HTTP client) when --cloud asks for it and, for auto, DMI says
// the machine runs on a cloud.
func (u *upRun) runCloud(ctx context.Context) {
	p, ok, err := dmi.Provider(u.f.cloud, u.f.sysfs)
	switch {
	case err != nil:
		u.report.Cloud = "skipped: " + err.Error()
		fmt.Fprintf(u.stderr, "earlynet: warning: --cloud: %v\n", err)
		return
	case !ok:
		u.report.Cloud = "skipped: no cloud detected from DMI"
		return
	}
	bin, err := cloudBinary()
	if err != nil {
		u.report.Cloud = "skipped: " + err.Error()
		fmt.Fprintf(u.stderr, "earlynet: warning: --cloud %s: %v; cloud step skipped\n", u.f.cloud, err)
		return
	}
	cmd := exec.CommandContext(ctx, bin, "--provider", p.Name, "--apply", "--root", u.f.root, "--sysfs", u.f.sysfs)
	cmd.Stdout, cmd.Stderr = u.stderr, u.stderr
	if err := cmd.Run(); err != nil {
		u.report.Cloud = "failed: " + err.Error()
		fmt.Fprintf(u.stderr, "earlynet: warning: %s: %v\n", bin, err)
		return
	}
	u.report.Cloud = "applied (" + p.Name + ")"
}

// inInitramfs reports whether --root is an initramfs (systemd and dracut
// both mark one with etc/initrd-release) or a directory other than the
// running system's root, which earlynet may fill as it likes.
func (u *upRun) inInitramfs() bool {
	if filepath.Clean(u.f.root) != "/" {
		return true
	}
	_, err := os.Stat("/etc/initrd-release")
	return err == nil
}
