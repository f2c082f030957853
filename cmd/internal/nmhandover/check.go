package nmhandover

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/earlynet/earlynet/keyfile"
	"github.com/earlynet/earlynet/profiles"
)

// ProfileDirs are the keyfile directories NetworkManager loads, in
// precedence order (a profile in run/ shadows one with the same UUID in
// etc/).
func ProfileDirs() []string {
	return []string{
		RunDir + "/system-connections",
		"etc/NetworkManager/system-connections",
		"usr/lib/NetworkManager/system-connections",
	}
}

// Checker reads what is on disk under Root and predicts, per device,
// whether NetworkManager 1.42 will adopt it without a flap.
type Checker struct {
	Root string
	// Sysfs is the sysfs mount used to map ifindexes to interface
	// names ("" skips the checks that need live interfaces).
	Sysfs string
	// Proc is a procfs whose net/ipv6_route shows the devices' network
	// namespace ("" skips the routing checks).
	Proc string
	Now  time.Time
}

// Finding is the verdict for one device.
type Finding struct {
	Ifindex  int
	Name     string
	UUID     string
	Profile  string // the profile's id, when found
	Problems []string
	Notes    []string
}

// OK reports whether NetworkManager will adopt the device cleanly.
func (f Finding) OK() bool { return len(f.Problems) == 0 }

func (f *Finding) problem(format string, args ...any) {
	f.Problems = append(f.Problems, fmt.Sprintf(format, args...))
}

// String is the one-line report: "ok" or "FAIL", the device, and why.
func (f Finding) String() string {
	dev := f.Name
	if dev == "" {
		dev = "?"
	}
	if f.Ifindex > 0 {
		dev += " (ifindex " + strconv.Itoa(f.Ifindex) + ")"
	}
	switch {
	case f.Profile != "":
		dev += " profile " + strconv.Quote(f.Profile) + " " + f.UUID
	case f.UUID != "":
		dev += " profile " + f.UUID
	}
	if f.OK() {
		return "ok    " + dev + ": " + strings.Join(f.Notes, "; ")
	}
	return "FAIL  " + dev + ": " + strings.Join(f.Problems, "; ")
}

type profileFile struct {
	path string
	prof *profiles.Profile
	err  error
}

type leaseFile struct {
	path, uuid, ifname string
}

// Check inspects the hand-over state. Devices come from the state files
// in run/NetworkManager/devices and from the DHCP lease files (a lease
// without a state file is a device NetworkManager will not adopt).
func (c Checker) Check() ([]Finding, error) {
	byIndex, names, err := c.links()
	if err != nil {
		return nil, err
	}
	profs, err := c.loadProfiles()
	if err != nil {
		return nil, err
	}
	leases, err := c.leaseFiles()
	if err != nil {
		return nil, err
	}
	devDir := filepath.Join(c.Root, DevicesDir)
	entries, err := os.ReadDir(devDir)
	if errors.Is(err, fs.ErrNotExist) {
		return c.noDevicesDir(leases, names), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", devDir, err)
	}
	var out []Finding
	covered := map[string]bool{}
	for _, e := range entries {
		idx, err := strconv.Atoi(e.Name())
		if err != nil || idx <= 0 || e.IsDir() {
			continue // NetworkManager ignores other names too
		}
		f := c.checkDevice(idx, byIndex, profs, leases)
		if c.Sysfs == "" || byIndex[idx] != "" {
			covered[f.Name] = true
		}
		out = append(out, f)
	}
	for _, l := range leases {
		if covered[l.ifname] {
			continue
		}
		covered[l.ifname] = true
		f := Finding{Name: l.ifname, UUID: l.uuid, Ifindex: names[l.ifname]}
		f.problem("lease file %s but no state file in %s for this interface: NM treats it as externally configured and runs no DHCP", l.path, DevicesDir)
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Finding) int { return a.Ifindex - b.Ifindex })
	return out, nil
}

func (c Checker) noDevicesDir(leases []leaseFile, names map[string]int) []Finding {
	why := DevicesDir + " is missing: NM starts in first-start mode and can at best guess a profile"
	if len(leases) == 0 {
		return []Finding{{Problems: []string{why + "; no lease file either: nothing was handed over"}}}
	}
	var out []Finding
	for _, l := range leases {
		f := Finding{Name: l.ifname, UUID: l.uuid, Ifindex: names[l.ifname]}
		f.problem("%s", why)
		out = append(out, f)
	}
	return out
}

func (c Checker) checkDevice(idx int, byIndex map[int]string, profs map[string]profileFile, leases []leaseFile) Finding {
	f := Finding{Ifindex: idx, Name: byIndex[idx]}
	path := filepath.Join(DevicesDir, strconv.Itoa(idx))
	st, err := readState(filepath.Join(c.Root, path))
	if err != nil {
		f.problem("%v", err)
		return f
	}
	if c.Sysfs != "" && f.Name == "" {
		f.problem("no interface has ifindex %d (state file from another boot?)", idx)
	}
	managed := st.get("device", "managed")
	switch b, ok := profiles.ParseBool(managed); {
	case !ok && managed == "":
		f.problem("%s has no managed=true: NM ignores its connection-uuid", path)
	case !ok:
		f.problem("%s: managed=%q is not a boolean", path, managed)
	case !b:
		f.problem("%s: managed=false: NM leaves the device unmanaged", path)
	}
	f.UUID = st.get("device", "connection-uuid")
	if f.UUID == "" {
		f.problem("%s has no connection-uuid: NM generates an external profile and runs no DHCP", path)
		return f
	}
	pf, ok := profs[strings.ToLower(f.UUID)]
	if !ok {
		f.problem("no loadable profile with UUID %s in %s", f.UUID, strings.Join(ProfileDirs(), ", "))
		return f
	}
	if pf.err != nil {
		f.problem("%v", pf.err)
		return f
	}
	p := pf.prof
	f.Profile = p.ID
	if f.Name == "" {
		f.Name = p.InterfaceName
	}
	if p.InterfaceName != "" && f.Name != "" && p.InterfaceName != f.Name {
		f.problem("profile %s is for interface %q, not %q", pf.path, p.InterfaceName, f.Name)
	}
	if p.IPv6 != nil && p.IPv6.Method == profiles.MethodIgnore {
		f.problem("profile %s has ipv6.method=ignore: NM bounces disable_ipv6 and deletes every IPv6 address and route (use auto or disabled)", pf.path)
	}
	if p.IPv6 == nil || p.IPv6.Method == "" || p.IPv6.Method == profiles.MethodAuto {
		c.checkRADefault(&f)
	}
	if p.IPv4 == nil || p.IPv4.Method == "" || p.IPv4.Method == profiles.MethodAuto {
		c.checkLease(&f, st, leases)
	}
	c.checkDHCP6Identity(&f, st, p)
	if f.OK() {
		f.Notes = append([]string{"NM will assume it (indicated by the state file)"}, f.Notes...)
	}
	return f
}

// checkLease: an IPv4 DHCP profile needs the internal client's lease
// file for the same UUID and interface, or NM starts over with DISCOVER.
func (c Checker) checkLease(f *Finding, st stateFile, leases []leaseFile) {
	if f.Name == "" {
		f.problem("interface name unknown (no sysfs entry, no interface-name in the profile): cannot find its DHCP lease file")
		return
	}
	var mine *leaseFile
	var others []string
	for i, l := range leases {
		switch {
		case l.uuid == f.UUID && l.ifname == f.Name:
			if mine == nil {
				mine = &leases[i]
			}
		case l.uuid == f.UUID || l.ifname == f.Name:
			others = append(others, l.path)
		}
	}
	if mine == nil {
		msg := fmt.Sprintf("no lease file %s in %s or %s: NM's DHCP client starts over with DISCOVER",
			LeaseFileName(f.UUID, f.Name), RunDir, LibDir)
		if len(others) > 0 {
			msg += " (found lease files for another profile or interface: " + strings.Join(others, ", ") + ")"
		}
		f.problem("%s", msg)
		return
	}
	addr, err := readLeaseAddress(filepath.Join(c.Root, mine.path))
	if err != nil {
		f.problem("%v", err)
		return
	}
	if ip := st.get("dhcp4", "dhcp4.ip_address"); ip != "" && ip != addr.String() {
		f.problem("lease file %s has %s but the state file's lease has %s", mine.path, addr, ip)
	}
	if exp := st.get("dhcp4", "dhcp4.expiry"); exp != "" {
		sec, err := strconv.ParseInt(exp, 10, 64)
		switch {
		case err != nil:
			f.problem("dhcp4.expiry=%q is not a number", exp)
		case !c.Now.Before(time.Unix(sec, 0)):
			f.problem("the DHCP lease for %s expired at %s: the server may refuse the INIT-REBOOT request", addr, time.Unix(sec, 0).UTC().Format(time.RFC3339))
		}
	}
	if f.OK() {
		f.Notes = append(f.Notes, "its DHCP client renews "+addr.String()+" with INIT-REBOOT (no DISCOVER)")
	}
}

// links maps ifindex to interface name and back from <sysfs>/class/net.
func (c Checker) links() (map[int]string, map[string]int, error) {
	byIndex, byName := map[int]string{}, map[string]int{}
	if c.Sysfs == "" {
		return byIndex, byName, nil
	}
	dir := filepath.Join(c.Sysfs, "class/net")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("list interfaces: %w", err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "ifindex"))
		if err != nil {
			continue // vanished meanwhile
		}
		idx, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err == nil {
			byIndex[idx], byName[e.Name()] = e.Name(), idx
		}
	}
	return byIndex, byName, nil
}

// loadProfiles reads every keyfile NetworkManager would load, keyed by
// lower-case UUID; the first directory wins. A file NetworkManager would
// refuse (group/other permissions, undecodable) is kept with its error.
func (c Checker) loadProfiles() (map[string]profileFile, error) {
	out := map[string]profileFile{}
	for _, dir := range ProfileDirs() {
		entries, err := os.ReadDir(filepath.Join(c.Root, dir))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", dir, err)
		}
		for _, e := range entries {
			if e.IsDir() || ignoreKeyfileName(e.Name(), !strings.HasPrefix(dir, "etc/")) {
				continue
			}
			rel := filepath.Join(dir, e.Name())
			pf := loadProfile(filepath.Join(c.Root, rel), rel)
			if pf.prof == nil {
				continue
			}
			key := strings.ToLower(pf.prof.UUID)
			if _, seen := out[key]; !seen {
				out[key] = pf
			}
		}
	}
	return out, nil
}

// ignoreKeyfileName mirrors nm_keyfile_utils_ignore_filename (NM
// 1.42.4): hidden files never load; outside etc/ only *.nmconnection
// does; in etc/ backups, mkstemp temporaries and certificates are skipped.
func ignoreKeyfileName(base string, requireExt bool) bool {
	const ext = ".nmconnection"
	if base == "" || base[0] == '.' {
		return true
	}
	if requireExt {
		return !(strings.HasSuffix(base, ext) && len(base) > len(ext))
	}
	if strings.HasSuffix(base, "~") {
		return true
	}
	if i := strings.LastIndexByte(base, '.'); i >= 0 && len(base)-i-1 == 6 && isAlnum(base[i+1:]) {
		return true
	}
	lower := strings.ToLower(base)
	for _, suf := range []string{".pem", ".der"} {
		if strings.HasSuffix(lower, suf) && len(lower) > len(suf) {
			return true
		}
	}
	return false
}

func isAlnum(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func loadProfile(path, rel string) profileFile {
	pf := profileFile{path: rel}
	data, err := os.ReadFile(path)
	if err != nil {
		return pf
	}
	p, err := keyfile.Decode(data)
	if err != nil {
		// Still index it by UUID if one is readable, so the report can
		// say why the profile does not load.
		p = &profiles.Profile{UUID: rawUUID(data)}
		pf.err = fmt.Errorf("profile %s does not load: %w", rel, err)
	}
	pf.prof = p
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 && pf.err == nil {
		pf.err = fmt.Errorf("profile %s has mode %04o: NM refuses keyfiles readable by group or others", rel, st.Mode().Perm())
	}
	return pf
}

func rawUUID(data []byte) string {
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "uuid="); ok {
			return v
		}
	}
	return ""
}

// leaseFiles lists internal-<uuid>-<ifname>.lease in run/ then var/lib/
// NetworkManager, NetworkManager's lookup order.
func (c Checker) leaseFiles() ([]leaseFile, error) {
	var out []leaseFile
	for _, dir := range []string{RunDir, LibDir} {
		entries, err := os.ReadDir(filepath.Join(c.Root, dir))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", dir, err)
		}
		for _, e := range entries {
			rest, ok := strings.CutPrefix(e.Name(), "internal-")
			rest, ok2 := strings.CutSuffix(rest, ".lease")
			if !ok || !ok2 || len(rest) < 38 || rest[36] != '-' || !profiles.ValidUUID(rest[:36]) {
				continue
			}
			out = append(out, leaseFile{path: filepath.Join(dir, e.Name()), uuid: rest[:36], ifname: rest[37:]})
		}
	}
	return out, nil
}

func readLeaseAddress(path string) (netip.Addr, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("read lease file: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "ADDRESS="); ok {
			a, err := netip.ParseAddr(v)
			if err != nil || !a.Is4() {
				return netip.Addr{}, fmt.Errorf("lease file %s: ADDRESS=%q is not an IPv4 address", path, v)
			}
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("lease file %s has no ADDRESS= line: NM's DHCP client starts over with DISCOVER", path)
}

type stateFile []keyfile.Group

func readState(path string) (stateFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read state file: %w", err)
	}
	gs, err := keyfile.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("state file %s does not parse: %w", path, err)
	}
	return stateFile(gs), nil
}

// get returns the unescaped value, stripped as NetworkManager strips it.
func (s stateFile) get(group, key string) string {
	for _, g := range s {
		if g.Name != group {
			continue
		}
		for _, kv := range g.Keys {
			if kv.Key == key {
				return strings.TrimSpace(keyfile.UnescapeValue(kv.Value))
			}
		}
	}
	return ""
}

// Route flags of /proc/net/ipv6_route (linux/ipv6_route.h).
const (
	rtfDefault  = 0x00010000
	rtfAddrconf = 0x00040000
)

// checkRADefault: with ipv6.method=auto NM installs its own RA default
// route (proto ra, the device's metric) and deletes one the kernel
// installed from a router advertisement (metric 1024, RTF_ADDRCONF).
func (c Checker) checkRADefault(f *Finding) {
	if c.Proc == "" || f.Name == "" {
		return
	}
	path := filepath.Join(c.Proc, "net/ipv6_route")
	b, err := os.ReadFile(path)
	if err != nil {
		return // no IPv6 in this kernel or namespace
	}
	for _, line := range strings.Split(string(b), "\n") {
		fl := strings.Fields(line)
		if len(fl) != 10 || fl[9] != f.Name || fl[1] != "00" || strings.Trim(fl[0], "0") != "" {
			continue
		}
		flags, err := strconv.ParseUint(fl[8], 16, 32)
		if err != nil || flags&(rtfDefault|rtfAddrconf) != rtfDefault|rtfAddrconf {
			continue
		}
		metric, _ := strconv.ParseUint(fl[5], 16, 32)
		f.problem("the kernel's router-advertisement default route (metric %d) is on %s: NM deletes it after taking over; install the default route as NM does (proto ra, the device's metric) and set accept_ra=0", metric, f.Name)
		return
	}
}

// checkDHCP6Identity compares the DHCPv6 identity the lease in the state
// file was obtained with against the one NM will use (its defaults:
// DUID-UUID from etc/machine-id under Root, IAID from the interface
// name). A different identity makes the server hand NM a second address.
func (c Checker) checkDHCP6Identity(f *Finding, st stateFile, p *profiles.Profile) {
	iaid, duid := st.get("dhcp6", "dhcp6.iaid"), st.get("dhcp6", "dhcp6.dhcp6_client_id")
	if iaid == "" && duid == "" {
		return
	}
	set := func(key string) bool {
		for _, o := range p.Other {
			if o.Section == "ipv6" && o.Key == key {
				return true
			}
		}
		return false
	}
	if want := ColonHex(IAIDBytes(IAID(f.Name))); iaid != "" && f.Name != "" && !set("dhcp-iaid") && !strings.EqualFold(iaid, want) {
		f.problem("the DHCPv6 lease was obtained with IAID %s but NM will use %s (from the interface name): the server hands NM a second address", iaid, want)
	}
	if duid == "" || set("dhcp-duid") {
		return
	}
	b, err := os.ReadFile(filepath.Join(c.Root, "etc/machine-id"))
	if err != nil {
		return
	}
	id, err := ParseMachineID(b)
	if err != nil {
		f.problem("etc/machine-id: %v: NM's DHCPv6 DUID is unpredictable", err)
		return
	}
	if want := ColonHex(DUIDFromMachineID(id)); !strings.EqualFold(duid, want) {
		f.problem("the DHCPv6 lease was obtained with DUID %s but NM will use %s (from etc/machine-id): the server sees a new client", duid, want)
	}
}
