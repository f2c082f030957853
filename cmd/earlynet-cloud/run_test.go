package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/earlynet/earlynet/keyfile"
	"github.com/earlynet/earlynet/profiles"
)

// machine is a fake sysfs (DMI and network devices) and an empty root.
type machine struct {
	t           *testing.T
	sysfs, root string
	conns       string
}

type nicSpec struct {
	name, mac string
	index     int
}

func newMachine(t *testing.T, vendor string, nics ...nicSpec) *machine {
	t.Helper()
	m := &machine{t: t, sysfs: t.TempDir(), root: t.TempDir()}
	m.conns = filepath.Join(m.root, "run/NetworkManager/system-connections")
	m.write(filepath.Join(m.sysfs, "class/dmi/id/sys_vendor"), vendor+"\n")
	for _, n := range nics {
		d := filepath.Join(m.sysfs, "class/net", n.name)
		m.write(filepath.Join(d, "type"), "1\n")
		m.write(filepath.Join(d, "address"), n.mac+"\n")
		m.write(filepath.Join(d, "ifindex"), strings.TrimSpace(itoa(n.index))+"\n")
	}
	return m
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func (m *machine) write(path, text string) {
	m.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		m.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		m.t.Fatal(err)
	}
}

// run runs earlynet-cloud with --json against base and returns the
// report, stderr and the error.
func (m *machine) run(base string, extra ...string) (report, string, error) {
	m.t.Helper()
	args := append([]string{"--endpoint", base, "--sysfs", m.sysfs, "--root", m.root, "--json", "--timeout", "5s"}, extra...)
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb, func(string) string { return "" })
	var rep report
	if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil {
		m.t.Fatalf("report is not JSON: %v\n%s\nstderr: %s", jerr, out.String(), errb.String())
	}
	return rep, errb.String(), err
}

func (m *machine) profile(name string) (*profiles.Profile, []byte) {
	m.t.Helper()
	path := filepath.Join(m.conns, name+".nmconnection")
	raw, err := os.ReadFile(path)
	if err != nil {
		m.t.Fatalf("read profile: %v", err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		m.t.Errorf("%s has mode %v, want 0600", path, st.Mode().Perm())
	}
	p, err := keyfile.Decode(raw)
	if err != nil {
		m.t.Fatalf("decode %s: %v", path, err)
	}
	nmcliLoads(m.t, path, raw)
	return p, raw
}

// nmcliLoads proves NetworkManager reads the file (where nmcli exists).
func nmcliLoads(t *testing.T, path string, raw []byte) {
	t.Helper()
	if _, err := exec.LookPath("nmcli"); err != nil {
		return
	}
	cmd := exec.Command("nmcli", "--offline", "connection", "modify")
	cmd.Stdin = bytes.NewReader(raw)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("nmcli --offline rejects %s: %v\n%s", path, err, out)
	}
}

func addrStrings(ip *profiles.IPConfig) []string {
	var out []string
	for _, a := range ip.Addresses {
		out = append(out, a.String())
	}
	return out
}

func deviceStatus(rep report, name string) string {
	for _, d := range rep.Devices {
		if d.Name == name {
			return d.Status
		}
	}
	return "(no such device in the report)"
}

func TestRunWritesUpdatesAndIsIdempotent(t *testing.T) {
	fx := ec2Two()
	f := fakeFor("ec2", fx)
	base := serve(t, f)
	m := newMachine(t, "Amazon EC2",
		nicSpec{"eth0", "0e:00:00:00:00:01", 2}, nicSpec{"eth1", "0e:00:00:00:00:02", 3}, nicSpec{"eth2", "0e:00:00:00:00:03", 4})
	rep, stderr, err := m.run(base)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	if rep.Provider != "ec2" {
		t.Errorf("provider %q, want ec2 (from DMI)", rep.Provider)
	}
	if !strings.Contains(stderr, "device eth2 (0e:00:00:00:00:03) is not in the ec2 metadata") {
		t.Errorf("stderr %q does not name eth2, which the metadata lacks", stderr)
	}
	p0, raw0 := m.profile("cloud-eth0")
	if got, want := addrStrings(p0.IPv4), []string{"192.0.2.10/24", "192.0.2.11/24"}; !slices.Equal(got, want) {
		t.Errorf("cloud-eth0 addresses %v, want %v", got, want)
	}
	if !strings.Contains(string(raw0), "table=30200") || !strings.Contains(string(raw0), "suppress_prefixlength 0") {
		t.Errorf("cloud-eth0 lacks the policy routing:\n%s", raw0)
	}
	p1, _ := m.profile("cloud-eth1")
	if p1.Ethernet == nil || !strings.EqualFold(p1.Ethernet.MACAddress, "0e:00:00:00:00:02") {
		t.Errorf("cloud-eth1 is not bound to eth1's MAC: %+v", p1.Ethernet)
	}

	// Again: nothing changes.
	st0, _ := os.Stat(filepath.Join(m.conns, "cloud-eth0.nmconnection"))
	rep, _, err = m.run(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"eth0", "eth1"} {
		if s := deviceStatus(rep, d); s != "unchanged" {
			t.Errorf("second run: %s %q, want unchanged", d, s)
		}
	}
	if st, _ := os.Stat(filepath.Join(m.conns, "cloud-eth0.nmconnection")); !st.ModTime().Equal(st0.ModTime()) {
		t.Error("second run rewrote cloud-eth0")
	}

	// The metadata loses a secondary address: only that goes.
	f.files["/latest/meta-data/network/interfaces/macs/0e:00:00:00:00:01/local-ipv4s"] = "192.0.2.10"
	if _, stderr, err := m.run(base); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	p0, _ = m.profile("cloud-eth0")
	if got, want := addrStrings(p0.IPv4), []string{"192.0.2.10/24"}; !slices.Equal(got, want) {
		t.Errorf("after the metadata change cloud-eth0 has %v, want %v", got, want)
	}
}

func TestRunMergesIntoUserProfileAndKeepsItsOwn(t *testing.T) {
	f := fakeFor("ec2", ec2Two())
	base := serve(t, f)
	m := newMachine(t, "Amazon EC2", nicSpec{"eth0", "0e:00:00:00:00:01", 2}, nicSpec{"eth1", "0e:00:00:00:00:02", 3})
	user := "[connection]\nid=mine\nuuid=5b3c1a0e-8f2d-4c6e-9a1b-2c3d4e5f6a7b\ntype=ethernet\ninterface-name=eth0\n\n" +
		"[ipv4]\naddress1=203.0.113.5/24\ndns=192.0.2.53;\nmethod=manual\n\n[ipv6]\nmethod=ignore\n"
	m.write(filepath.Join(m.conns, "mine.nmconnection"), user)
	if _, stderr, err := m.run(base); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	p, raw := m.profile("mine")
	if got, want := addrStrings(p.IPv4), []string{"203.0.113.5/24", "192.0.2.10/24", "192.0.2.11/24"}; !slices.Equal(got, want) {
		t.Errorf("mine has addresses %v, want %v", got, want)
	}
	if p.IPv4.Method != "manual" || !strings.Contains(string(raw), "dns=192.0.2.53;") {
		t.Errorf("the user's own settings were lost:\n%s", raw)
	}
	if _, err := os.Stat(filepath.Join(m.conns, "cloud-eth0.nmconnection")); err == nil {
		t.Error("a cloud-eth0 profile was created although mine is bound to eth0")
	}
	// The metadata drops both secondaries of eth0: the user's address stays.
	f.files["/latest/meta-data/network/interfaces/macs/0e:00:00:00:00:01/local-ipv4s"] = ""
	if _, stderr, err := m.run(base); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	p, _ = m.profile("mine")
	if got, want := addrStrings(p.IPv4), []string{"203.0.113.5/24"}; !slices.Equal(got, want) {
		t.Errorf("mine has addresses %v after the change, want %v", got, want)
	}
}

func TestRunLeavesSkippedProfileAlone(t *testing.T) {
	base := serve(t, fakeFor("ec2", ec2Two()))
	m := newMachine(t, "Amazon EC2", nicSpec{"eth0", "0e:00:00:00:00:01", 2}, nicSpec{"eth1", "0e:00:00:00:00:02", 3})
	user := "[connection]\nid=hands-off\nuuid=5b3c1a0e-8f2d-4c6e-9a1b-2c3d4e5f6a7c\ntype=ethernet\ninterface-name=eth0\n\n" +
		"[ipv4]\nmethod=auto\n\n[user]\norg.freedesktop.nm-cloud-setup.skip=yes\n"
	path := filepath.Join(m.conns, "hands-off.nmconnection")
	m.write(path, user)
	rep, _, err := m.run(base)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != user {
		t.Errorf("the skipped profile changed:\n%s", got)
	}
	if s := deviceStatus(rep, "eth0"); !strings.Contains(s, "skipped") || !strings.Contains(s, "nm-cloud-setup.skip") {
		t.Errorf("eth0 status %q, want skipped naming the key", s)
	}
	m.profile("cloud-eth1") // the other device is configured
}

// TestRunMovesHandoverToTheCloudProfile: a device that earlynet up brought
// up with ip=dhcp's generic profile gets its own copy with the cloud
// configuration, and the hand-over state follows it.
func TestRunMovesHandoverToTheCloudProfile(t *testing.T) {
	base := serve(t, fakeFor("ec2", ec2Two()))
	m := newMachine(t, "Amazon EC2", nicSpec{"eth0", "0e:00:00:00:00:01", 2}, nicSpec{"eth1", "0e:00:00:00:00:02", 3})
	generic := "[connection]\nid=Wired Connection\nuuid=11111111-2222-4333-8444-555555555555\ntype=ethernet\nmulti-connect=3\n\n" +
		"[ipv4]\ndhcp-timeout=90\nmethod=auto\nrequired-timeout=20000\n\n[ipv6]\nmethod=auto\n"
	m.write(filepath.Join(m.conns, "default_connection.nmconnection"), generic)
	m.write(filepath.Join(m.root, "run/NetworkManager/devices/2"), "[device]\nmanaged=true\nconnection-uuid=11111111-2222-4333-8444-555555555555\n")
	m.write(filepath.Join(m.root, "run/NetworkManager/internal-11111111-2222-4333-8444-555555555555-eth0.lease"), "ADDRESS=192.0.2.10\n")
	if _, stderr, err := m.run(base); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	p, _ := m.profile("cloud-eth0")
	if p.InterfaceName != "eth0" || p.MultiConnect != 0 || p.AutoconnectPriority != 1 || p.IPv4.DHCPTimeout != 90 {
		t.Errorf("cloud-eth0 is not a bound copy of the generic profile: %+v", p)
	}
	st, _ := os.ReadFile(filepath.Join(m.root, "run/NetworkManager/devices/2"))
	if !strings.Contains(string(st), "connection-uuid="+p.UUID) {
		t.Errorf("device state does not name cloud-eth0 (%s):\n%s", p.UUID, st)
	}
	lease, err := os.ReadFile(filepath.Join(m.root, "run/NetworkManager/internal-"+p.UUID+"-eth0.lease"))
	if err != nil || !strings.Contains(string(lease), "192.0.2.10") {
		t.Errorf("lease not copied to the new profile's name: %v %q", err, lease)
	}
	if g, _ := os.ReadFile(filepath.Join(m.conns, "default_connection.nmconnection")); string(g) != generic {
		t.Errorf("the generic profile changed:\n%s", g)
	}
}

func TestRunNamesMissingDevicesAndBadNames(t *testing.T) {
	base := serve(t, fakeFor("ec2", ec2Two()))
	m := newMachine(t, "Amazon EC2", nicSpec{"eth0", "0e:00:00:00:00:01", 2}, nicSpec{"averyveryverylongname", "0e:00:00:00:00:02", 3})
	rep, stderr, err := m.run(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"averyveryverylongname" skipped: not a valid interface name`, "interface 0e:00:00:00:00:02 (index 1) in the metadata has no local device"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if len(rep.Devices) != 1 {
		t.Errorf("report has devices %+v, want eth0 only", rep.Devices)
	}
}

func TestRunDryRunChangesNothing(t *testing.T) {
	base := serve(t, fakeFor("ec2", ec2Two()))
	m := newMachine(t, "Amazon EC2", nicSpec{"eth0", "0e:00:00:00:00:01", 2})
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"--endpoint", base, "--sysfs", m.sysfs, "--root", m.root, "--dry-run"}, &out, &errb, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"eth0 0e:00:00:00:00:01: planned", "address 192.0.2.11/24", "table 30400", "rule priority 30350"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, out.String())
		}
	}
	if ents, _ := os.ReadDir(m.root); len(ents) != 0 {
		t.Errorf("--dry-run wrote under the root: %v", ents)
	}
}

func TestRunOffCloudMakesNoRequest(t *testing.T) {
	f := fakeFor("ec2", ec2Two())
	base := serve(t, f)
	m := newMachine(t, "QEMU", nicSpec{"eth0", "0e:00:00:00:00:01", 2})
	rep, _, err := m.run(base)
	if err != nil || rep.Skipped == "" {
		t.Errorf("off-cloud: err %v, report %+v; want a skip", err, rep)
	}
	if r := f.requests(); len(r) != 0 {
		t.Errorf("off-cloud run sent %q", r)
	}
}

// TestRunFailedWriteKeepsPreviousState: when the state cannot be written
// no profile changes either.
func TestRunFailedWriteKeepsPreviousState(t *testing.T) {
	f := fakeFor("ec2", ec2Two())
	base := serve(t, f)
	m := newMachine(t, "Amazon EC2", nicSpec{"eth0", "0e:00:00:00:00:01", 2}, nicSpec{"eth1", "0e:00:00:00:00:02", 3})
	if _, _, err := m.run(base); err != nil {
		t.Fatal(err)
	}
	_, before := m.profile("cloud-eth0")
	f.files["/latest/meta-data/network/interfaces/macs/0e:00:00:00:00:01/local-ipv4s"] = "192.0.2.10\n192.0.2.12"
	// The state directory becomes a file: the state cannot be staged.
	os.RemoveAll(filepath.Join(m.root, "run/earlynet"))
	m.write(filepath.Join(m.root, "run/earlynet"), "not a directory")
	_, _, err := m.run(base)
	if err == nil || !strings.Contains(err.Error(), "run/earlynet") {
		t.Errorf("got error %v, want one naming run/earlynet", err)
	}
	if _, after := m.profile("cloud-eth0"); !bytes.Equal(before, after) {
		t.Errorf("cloud-eth0 changed although the run failed:\n%s", after)
	}
	leftovers, _ := filepath.Glob(filepath.Join(m.conns, ".*tmp*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}
