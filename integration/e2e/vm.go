package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/earlynet/earlynet/integration/e2e/report"
)

// The three segments a VM can be wired to, from the documentation ranges.
// Segment s has bridge e2ebr<s> with .1 / ::1 on it; dnsmasq serves
// .100-.199 and a fixed lease per NIC (leaseAddr).
var (
	segNet4 = []string{"192.0.2", "198.51.100", "203.0.113"}
	segNet6 = []string{"2001:db8:1", "2001:db8:2", "2001:db8:3"}
)

// nic is one virtio-net NIC of the guest.
type nic struct {
	Seg  int // segment 0, 1 or 2
	Slot int // PCI slot; the MAC ends in it. Default 5, 6, 7, ... by position
	VID  int // > 0: the NIC sits on a trunk carrying the segment tagged VID
}

func (n nic) mac() string { return fmt.Sprintf("52:54:00:12:34:%02x", n.Slot) }

// pciPath is the guest's udev-style ID_PATH for the NIC.
func (n nic) pciPath() string { return fmt.Sprintf("pci-0000:00:%02x.0", n.Slot) }

// leaseAddr is the IPv4 address dnsmasq hands to a MAC on a segment.
func leaseAddr(seg, slot int) string { return fmt.Sprintf("%s.%d", segNet4[seg], 100+slot) }

// vmSpec describes one boot.
type vmSpec struct {
	NICs     []nic
	NoDHCP   map[int]bool   // segments whose DHCP server never answers
	V6       map[int]string // per segment: "" (RA off), "dhcp6" (stateful), "slaac" (RA only)
	Dnsmasq  []string       // extra dnsmasq arguments
	Cmdline  string         // appended to the kernel command line
	Modules  []string       // besides virtio_pci and virtio_net, e.g. "bonding:max_bonds=0"
	Commands []report.Command
	Dump     []string          // guest paths to print after the commands
	Files    map[string]string // extra initramfs files (path -> content)
	Copy     map[string]string // extra initramfs files (guest path -> host path)
	UdevDB   bool              // guest writes udev's database records for the NICs
	Meta     http.Handler      // metadata fake at 169.254.169.254:80 on segment 0
	SMBIOS   []string          // QEMU -smbios values (DMI for cloud detection)
	Timeout  time.Duration     // whole boot; default 150 s
	Initrd   string            // a prebuilt initramfs (dracut's) instead of packing one
}

// harness holds what every boot shares: the kernel and the built binaries.
type harness struct {
	kernel kernel
	boot   string            // kernel image for -kernel
	bins   map[string]string // guest /usr/bin name -> host path
	init   string            // guestinit binary
	accel  string
}

// bootResult is what one boot produced.
type bootResult struct {
	Console report.Console
	Serial  []byte
	Dnsmasq []byte
	Wall    time.Duration
}

// run boots the VM described by spec and returns the parsed console. It
// fails the test on harness errors; assertions are the caller's.
func (h *harness) run(t testing.TB, spec vmSpec) bootResult {
	t.Helper()
	dir := t.TempDir()
	for i := range spec.NICs {
		if spec.NICs[i].Slot == 0 {
			spec.NICs[i].Slot = 5 + i
		}
	}
	initrd := spec.Initrd
	if initrd == "" {
		initrd = filepath.Join(dir, "initramfs.cpio")
		if err := h.pack(initrd, spec); err != nil {
			t.Fatal(err)
		}
	}
	ns, err := newNetns(t)
	if errors.Is(err, errNoNetns) {
		t.Skipf("needs root and iproute2 to create a network namespace: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	netArgs, err := wire(t, ns, dir, spec)
	if err != nil {
		t.Fatal(err)
	}
	serial := filepath.Join(dir, "serial.log")
	args := []string{"qemu-system-x86_64", "-accel", h.accel, "-cpu", "max", "-m", "384", "-smp", "1",
		"-nodefaults", "-no-reboot", "-display", "none", "-serial", "file:" + serial,
		"-kernel", h.boot, "-initrd", initrd,
		// EARLYNET_E2E_APPEND adds kernel arguments for debugging, e.g.
		// "loglevel=7 systemd.show_status=1".
		"-append", strings.TrimSpace("console=ttyS0 panic=-1 quiet " + spec.Cmdline + " " + os.Getenv("EARLYNET_E2E_APPEND"))}
	args = append(args, netArgs...)
	for _, s := range spec.SMBIOS {
		args = append(args, "-smbios", s)
	}
	timeout := spec.Timeout
	if timeout == 0 {
		timeout = 150 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	out, err := ns.command(ctx, args...).CombinedOutput()
	res := bootResult{Wall: time.Since(start)}
	res.Serial, _ = os.ReadFile(serial)
	res.Dnsmasq, _ = os.ReadFile(filepath.Join(dir, "dnsmasq.log"))
	res.Console = report.Parse(res.Serial)
	t.Logf("boot: %v wall (host clock), %d serial bytes", res.Wall.Round(time.Millisecond), len(res.Serial))
	if err != nil || !res.Console.Done || len(res.Console.Bad) > 0 {
		t.Logf("serial console:\n%s", tail(res.Serial, 6000))
		t.Logf("dnsmasq:\n%s", tail(res.Dnsmasq, 3000))
		t.Fatalf("boot did not finish cleanly: qemu: %v %s; done marker: %v; unparsable records: %q",
			err, bytes.TrimSpace(out), res.Console.Done, res.Console.Bad)
	}
	return res
}

// pack writes the initramfs: guestinit as /init, the earlynet binaries,
// the modules in load order and the guest's configuration.
func (h *harness) pack(out string, spec vmSpec) error {
	mods, err := moduleOrder(os.DirFS(h.kernel.Modules), append([]string{"virtio_pci", "virtio_net", "af_packet"}, spec.Modules...))
	if err != nil {
		return fmt.Errorf("kernel %s: %w", h.kernel.Release, err)
	}
	a := newArchive()
	a.charDev("dev/console", 0o600, 5, 1)
	for _, d := range []string{"proc", "sys", "run", "tmp", "etc", "var"} {
		a.dir(d, 0o755)
	}
	a.file("etc/machine-id", 0o444, []byte("4e1e2e5e0000400080000000000000e2\n"))
	// What marks an initramfs for systemd, dracut and earlynet up.
	a.file("etc/initrd-release", 0o444, []byte("NAME=earlynet-e2e\n"))
	if err := addFile(a, "init", h.init, 0o755); err != nil {
		return err
	}
	for name, p := range h.bins {
		if err := addFile(a, "usr/bin/"+name, p, 0o755); err != nil {
			return err
		}
	}
	cfg := report.Config{NICs: len(spec.NICs), Commands: spec.Commands, Dump: spec.Dump, UdevDB: spec.UdevDB}
	for _, m := range mods {
		dst := path.Join("lib/modules", h.kernel.Release, m.Path)
		if err := addFile(a, dst, filepath.Join(h.kernel.Modules, m.Path), 0o644); err != nil {
			return err
		}
		cfg.Modules = append(cfg.Modules, report.Module{Path: "/" + dst, Params: m.Params})
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode guest config: %w", err)
	}
	a.file(report.ConfigPath, 0o644, b)
	for dst, src := range spec.Copy {
		if err := addFile(a, dst, src, 0o755); err != nil {
			return err
		}
	}
	for p, content := range spec.Files {
		a.file(p, 0o600, []byte(content))
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("create initramfs: %w", err)
	}
	if _, err := a.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func addFile(a *archive, dst, src string, perm uint32) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("initramfs %s: %w", dst, err)
	}
	if strings.HasSuffix(src, ".xz") || strings.HasSuffix(src, ".zst") {
		return fmt.Errorf("initramfs %s: compressed modules are not supported (Debian 12 ships plain .ko)", src)
	}
	a.file(dst, perm, b)
	return nil
}

// wire builds the namespace's bridges, taps, VLAN shims, dnsmasq and
// metadata fake, and returns QEMU's -netdev/-device arguments.
func wire(t testing.TB, ns *netns, dir string, spec vmSpec) ([]string, error) {
	used := map[int]bool{}
	for _, n := range spec.NICs {
		used[n.Seg] = true
	}
	if spec.Meta != nil {
		used[0] = true
	}
	for s := range 3 {
		if !used[s] {
			continue
		}
		br := fmt.Sprintf("e2ebr%d", s)
		for _, args := range [][]string{
			{"link", "add", br, "type", "bridge", "forward_delay", "0", "stp_state", "0"},
			{"addr", "add", segNet4[s] + ".1/24", "dev", br},
			{"addr", "add", segNet6[s] + "::1/64", "dev", br, "nodad"},
			{"link", "set", br, "up"},
		} {
			if err := ns.ip(args...); err != nil {
				return nil, err
			}
		}
	}
	var qargs []string
	for i, n := range spec.NICs {
		br := fmt.Sprintf("e2ebr%d", n.Seg)
		if n.VID == 0 {
			tap := fmt.Sprintf("e2etap%d", i)
			if err := ns.ip("tuntap", "add", "dev", tap, "mode", "tap"); err != nil {
				return nil, err
			}
			if err := ns.ip("link", "set", tap, "master", br, "up"); err != nil {
				return nil, err
			}
			qargs = append(qargs, "-netdev", fmt.Sprintf("tap,id=n%d,ifname=%s,script=no,downscript=no", i, tap))
		} else {
			tap := fmt.Sprintf("e2evt%d", i)
			f, err := ns.openTap(tap)
			if err != nil {
				return nil, err
			}
			if err := ns.ip("link", "set", tap, "master", br, "up"); err != nil {
				f.Close()
				return nil, err
			}
			shim, q := filepath.Join(dir, fmt.Sprintf("shim%d.sock", i)), filepath.Join(dir, fmt.Sprintf("qemu%d.sock", i))
			if err := startVlanShim(t, f, shim, q, uint16(n.VID)); err != nil {
				return nil, err
			}
			qargs = append(qargs, "-netdev", fmt.Sprintf("dgram,id=n%d,local.type=unix,local.path=%s,remote.type=unix,remote.path=%s", i, q, shim))
		}
		qargs = append(qargs, "-device", fmt.Sprintf("virtio-net-pci,netdev=n%d,addr=0x%x,mac=%s", i, n.Slot, n.mac()))
	}
	if spec.Meta != nil {
		if err := ns.ip("addr", "add", "169.254.169.254/32", "dev", "e2ebr0"); err != nil {
			return nil, err
		}
		if err := serveMeta(t, ns, spec.Meta); err != nil {
			return nil, err
		}
	}
	if len(spec.NICs) > 0 {
		if err := startDnsmasq(t, ns, dir, spec, used); err != nil {
			return nil, err
		}
	}
	return qargs, nil
}

// startDnsmasq runs a real, independent DHCP/RA server on the used bridges.
func startDnsmasq(t testing.TB, ns *netns, dir string, spec vmSpec, used map[int]bool) error {
	pid := filepath.Join(dir, "dnsmasq.pid")
	args := []string{"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0", "--no-resolv", "--no-hosts",
		"--user=root", "--group=root", "--bind-interfaces", "--no-ping", "--dhcp-authoritative", "--dhcp-rapid-commit",
		"--dhcp-option=option:dns-server,192.0.2.53", "--dhcp-option=option6:dns-server,[2001:db8:1::53]",
		"--dhcp-option=option:domain-name,example.net",
		"--dhcp-leasefile=" + filepath.Join(dir, "leases"), "--pid-file=" + pid, "--log-dhcp", "--log-facility=-"}
	for s := range 3 {
		if !used[s] {
			continue
		}
		args = append(args, fmt.Sprintf("--interface=e2ebr%d", s))
		if !spec.NoDHCP[s] {
			args = append(args, fmt.Sprintf("--dhcp-range=%s.150,%s.199,255.255.255.0,1h", segNet4[s], segNet4[s]))
		}
		switch spec.V6[s] {
		case "dhcp6":
			args = append(args, "--enable-ra", fmt.Sprintf("--dhcp-range=%s::100,%s::1ff,64,1h", segNet6[s], segNet6[s]))
		case "slaac":
			args = append(args, "--enable-ra", fmt.Sprintf("--dhcp-range=%s::,ra-only,64,1h", segNet6[s]))
		}
	}
	for _, n := range spec.NICs {
		if !spec.NoDHCP[n.Seg] {
			args = append(args, fmt.Sprintf("--dhcp-host=%s,%s", n.mac(), leaseAddr(n.Seg, n.Slot)))
		}
	}
	args = append(args, spec.Dnsmasq...)
	if err := ns.start(t, filepath.Join(dir, "dnsmasq.log"), args...); err != nil {
		return err
	}
	for range 200 {
		if _, err := os.Stat(pid); err == nil {
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "dnsmasq.log"))
	return fmt.Errorf("dnsmasq did not start: %s", log)
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// buildBinaries builds guestinit and every main package under cmd/ for
// the guest (static). EARLYNET_E2E_BIN names a directory of prebuilt
// earlynet binaries to use instead of cmd/.
func buildBinaries(root, out string) (initPath string, bins map[string]string, err error) {
	build := func(pkg, dst string) error {
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", dst, pkg)
		cmd.Dir, cmd.Env = root, append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v: %s", pkg, err, b)
		}
		return nil
	}
	initPath = filepath.Join(out, "guestinit")
	if err := build("./integration/e2e/guestinit", initPath); err != nil {
		return "", nil, err
	}
	bins = map[string]string{}
	if d := os.Getenv("EARLYNET_E2E_BIN"); d != "" {
		ents, err := os.ReadDir(d)
		if err != nil {
			return "", nil, fmt.Errorf("EARLYNET_E2E_BIN: %w", err)
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "earlynet") && e.Type().IsRegular() {
				bins[e.Name()] = filepath.Join(d, e.Name())
			}
		}
		return initPath, bins, nil
	}
	cmd := exec.Command("go", "list", "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`, "./cmd/...")
	cmd.Dir = root
	list, err := cmd.Output()
	if err != nil {
		return "", nil, fmt.Errorf("go list ./cmd/...: %w", err)
	}
	for _, pkg := range strings.Fields(string(list)) {
		name := path.Base(pkg)
		dst := filepath.Join(out, name)
		if err := build(pkg, dst); err != nil {
			return "", nil, err
		}
		bins[name] = dst
	}
	if bins["earlynet"] == "" {
		return "", nil, fmt.Errorf("no cmd/earlynet main package under %s", root)
	}
	return initPath, bins, nil
}
