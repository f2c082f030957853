// Command guestinit is /init of the e2e test initramfs (or, with -report,
// a step called from a dracut hook). It mounts the pseudo file systems,
// loads the kernel modules the host listed, waits for the NICs, runs the
// configured commands (earlynet up ...) while watching netlink for the first
// addresses, then prints the kernel's links, addresses, routes and rules and
// the requested files as report records on the console, and powers off.
//
// It is a static Go binary and needs nothing else in the initramfs.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/earlynet/earlynet/integration/e2e/report"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func main() {
	reportOnly := flag.Bool("report", false, "only run the commands and print the report (called from a dracut hook, not as PID 1)")
	config := flag.String("config", report.ConfigPath, "configuration file")
	probe := flag.String("probe-metadata", "", "as a command run by /init: fetch the network listing of the ec2 or gce metadata fake at 169.254.169.254 and print it")
	flag.Parse()
	if *probe != "" {
		if err := probeMetadata(os.Stdout, *probe); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if !*reportOnly {
		mountAll()
	}
	out := &printer{}
	err := run(out, *config, !*reportOnly)
	if err != nil {
		fmt.Printf("guestinit: %v\n", err)
	}
	fmt.Println(report.Done)
	unix.Sync()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Printf("guestinit: power off: %v\n", err)
	}
	select {}
}

func run(out *printer, configPath string, loadModules bool) error {
	b, err := os.ReadFile(configPath)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var cfg report.Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("parse config %s: %w", configPath, err)
	}
	if loadModules {
		out.record(loadAll(cfg.Modules))
	}
	links := waitNICs(cfg.NICs, 15*time.Second)
	out.record(report.Record{Kind: "links", Links: links})
	if cfg.UdevDB {
		if err := writeUdevDB(links); err != nil {
			return err
		}
	}
	for _, c := range cfg.Commands {
		res := runCommand(c)
		out.record(report.Record{Kind: "cmd", Cmd: &res})
	}
	st := state(cfg.Dump)
	out.record(report.Record{Kind: "state", State: &st})
	return nil
}

// printer writes one record a line, whole lines only.
type printer struct{ mu sync.Mutex }

func (p *printer) record(r report.Record) {
	b, err := json.Marshal(r)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"kind":"error","module_errors":[%q]}`, err.Error()))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	os.Stdout.Write(append(append([]byte(report.Prefix), b...), '\n'))
}

func mountAll() {
	for _, m := range []struct{ src, dst, typ string }{
		{"devtmpfs", "/dev", "devtmpfs"},
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"tmpfs", "/run", "tmpfs"},
		{"tmpfs", "/tmp", "tmpfs"},
	} {
		_ = os.MkdirAll(m.dst, 0o755)
		if err := unix.Mount(m.src, m.dst, m.typ, 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
			fmt.Printf("guestinit: mount %s: %v\n", m.dst, err)
		}
	}
	// Without /dev/console in the archive PID 1 has no stdio.
	if _, err := unix.FcntlInt(1, unix.F_GETFD, 0); err != nil {
		if fd, err := unix.Open("/dev/console", unix.O_RDWR, 0); err == nil {
			for i := 0; i < 3; i++ {
				_ = unix.Dup2(fd, i)
			}
		}
	}
}

// loadAll loads the modules in the given (dependency) order.
func loadAll(mods []report.Module) report.Record {
	r := report.Record{Kind: "modules"}
	for _, m := range mods {
		name := strings.TrimSuffix(filepath.Base(m.Path), ".ko")
		if err := finit(m.Path, m.Params); err != nil {
			r.ModuleErrors = append(r.ModuleErrors, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		r.Loaded = append(r.Loaded, name)
	}
	return r
}

func finit(path, params string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), params, 0); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("finit_module: %w", err)
	}
	return nil
}

// waitNICs waits until n links backed by a device exist and returns all
// links.
func waitNICs(n int, timeout time.Duration) []report.Link {
	deadline := time.Now().Add(timeout)
	for {
		links := listLinks()
		nics := 0
		for _, l := range links {
			if l.Driver != "" {
				nics++
			}
		}
		if nics >= n || time.Now().After(deadline) {
			return links
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func listLinks() []report.Link {
	all, err := netlink.LinkList()
	if err != nil {
		fmt.Printf("guestinit: list links: %v\n", err)
	}
	byIndex := map[int]string{}
	for _, l := range all {
		byIndex[l.Attrs().Index] = l.Attrs().Name
	}
	var links []report.Link
	for _, l := range all {
		a := l.Attrs()
		if a.Name == "lo" {
			continue
		}
		rl := report.Link{
			Name: a.Name, Index: a.Index, MAC: a.HardwareAddr.String(),
			Driver: driver(a.Name), PCIPath: pciPath(a.Name),
			Master: byIndex[a.MasterIndex], OperState: a.OperState.String(), MTU: a.MTU,
		}
		if rl.Driver == "" {
			rl.Kind = l.Type()
		}
		if v, ok := l.(*netlink.Vlan); ok {
			rl.VlanID, rl.Parent = v.VlanId, byIndex[a.ParentIndex]
		}
		links = append(links, rl)
	}
	return links
}

func driver(ifname string) string {
	d, err := os.Readlink("/sys/class/net/" + ifname + "/device/driver")
	if err != nil {
		return ""
	}
	return filepath.Base(d)
}

var pciRe = regexp.MustCompile(`^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$`)

// pciPath is udev's ID_PATH for a PCI NIC, pci-0000:00:05.0 (path_id skips
// the virtio bus).
func pciPath(ifname string) string {
	dev, err := filepath.EvalSymlinks("/sys/class/net/" + ifname + "/device")
	if err != nil {
		return ""
	}
	last := ""
	for _, c := range strings.Split(dev, "/") {
		if pciRe.MatchString(c) {
			last = "pci-" + c
		}
	}
	return last
}

// writeUdevDB marks lo and the NICs initialized the way udev's database does.
func writeUdevDB(links []report.Link) error {
	if err := os.MkdirAll("/run/udev/data", 0o755); err != nil {
		return fmt.Errorf("udev database: %w", err)
	}
	links = append(links, report.Link{Name: "lo", Index: 1, Driver: "lo"})
	for _, l := range links {
		if l.Driver == "" {
			continue
		}
		rec := fmt.Sprintf("I:%d\nE:ID_NET_DRIVER=%s\nE:ID_PATH=%s\n", int64(boottimeMS()*1e3), l.Driver, l.PCIPath)
		if err := os.WriteFile(fmt.Sprintf("/run/udev/data/n%d", l.Index), []byte(rec), 0o644); err != nil {
			return fmt.Errorf("udev database: %w", err)
		}
	}
	return nil
}

// probeMetadata fetches what a cloud client reads first: EC2's MAC listing
// (behind an IMDSv2 token) or GCE's interface list. It checks the path
// from the guest to the fake, not earlynet.
func probeMetadata(w io.Writer, provider string) error {
	cl := &http.Client{Timeout: 10 * time.Second}
	get := func(method, url string, hdr map[string]string) (string, error) {
		req, err := http.NewRequest(method, url, nil)
		if err != nil {
			return "", err
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := cl.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%s %s: %s", method, url, resp.Status)
		}
		return string(b), err
	}
	const base = "http://169.254.169.254"
	var out string
	var err error
	switch provider {
	case "ec2":
		var token string
		token, err = get(http.MethodPut, base+"/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"})
		if err == nil {
			out, err = get(http.MethodGet, base+"/latest/meta-data/network/interfaces/macs/", map[string]string{"X-aws-ec2-metadata-token": token})
		}
	case "gce":
		out, err = get(http.MethodGet, base+"/computeMetadata/v1/instance/network-interfaces/0/forwarded-ips/0", map[string]string{"Metadata-Flavor": "Google"})
	default:
		err = fmt.Errorf("unknown provider %q", provider)
	}
	if err != nil {
		return fmt.Errorf("probe %s metadata: %w", provider, err)
	}
	_, err = fmt.Fprint(w, out)
	return err
}

// runCommand runs one command with a deadline, watching netlink for the
// first global addresses while it runs.
func runCommand(c report.Command) report.CmdResult {
	res := report.CmdResult{Name: c.Name, Argv: c.Argv, Exit: -1}
	w := watchAddrs()
	defer w.stop()
	timeout := time.Duration(c.TimeoutSec) * time.Second
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	// On timeout SIGQUIT first: a Go program prints every goroutine's stack,
	// which shows where it hung; SIGKILL follows 2 s later.
	cmd.Cancel = func() error { return cmd.Process.Signal(unix.SIGQUIT) }
	cmd.WaitDelay = 2 * time.Second
	cmd.Env = append([]string{"PATH=/usr/bin:/usr/sbin:/bin:/sbin", "HOME=/"}, c.Env...)
	var stdout, stderr capped
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	res.StartMS = boottimeMS()
	err := cmd.Run()
	res.EndMS = boottimeMS()
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		res.Killed = true
	case errors.As(err, &ee):
		res.Exit = ee.ExitCode()
	case err != nil:
		res.StartErr = err.Error()
	default:
		res.Exit = 0
	}
	res.FirstV4MS, res.FirstV6MS = w.first()
	return res
}

// capped keeps the first 1 MiB a command prints.
type capped struct{ bytes.Buffer }

func (c *capped) Write(p []byte) (int, error) {
	if room := 1<<20 - c.Len(); room > 0 {
		c.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func boottimeMS() float64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return float64(ts.Sec)*1e3 + float64(ts.Nsec)/1e6
}

// addrWatch records when the first global IPv4 and IPv6 addresses appear.
type addrWatch struct {
	mu     sync.Mutex
	v4, v6 float64
	done   chan struct{}
}

func watchAddrs() *addrWatch {
	w := &addrWatch{done: make(chan struct{})}
	ch := make(chan netlink.AddrUpdate, 64)
	if err := netlink.AddrSubscribe(ch, w.done); err != nil {
		fmt.Printf("guestinit: subscribe to addresses: %v\n", err)
		return w
	}
	go func() {
		for u := range ch {
			if !u.NewAddr || u.Scope != unix.RT_SCOPE_UNIVERSE {
				continue
			}
			t := boottimeMS()
			w.mu.Lock()
			if u.LinkAddress.IP.To4() != nil && w.v4 == 0 {
				w.v4 = t
			} else if u.LinkAddress.IP.To4() == nil && w.v6 == 0 {
				w.v6 = t
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *addrWatch) first() (float64, float64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.v4, w.v6
}

func (w *addrWatch) stop() { close(w.done) }

// state reads the kernel's network configuration and the dump paths.
func state(dump []string) report.State {
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	st := report.State{
		Hostname: unix.ByteSliceToString(uts.Nodename[:]),
		Links:    listLinks(),
		Files:    map[string]string{},
	}
	names := map[int]string{}
	for _, l := range st.Links {
		names[l.Index] = l.Name
	}
	names[1] = "lo"
	st.Addrs = addrs(names)
	st.Routes = routes(names)
	st.Rules = rules()
	for _, p := range dump {
		readTree(p, st.Files)
	}
	return st
}

func addrs(names map[int]string) []report.Addr {
	list, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		fmt.Printf("guestinit: list addresses: %v\n", err)
	}
	var out []report.Addr
	for _, a := range list {
		out = append(out, report.Addr{
			Dev: names[a.LinkIndex], CIDR: a.IPNet.String(), Scope: scope(a.Scope),
			Dynamic: a.ValidLft > 0 && a.ValidLft < 0xffffffff, ValidLft: a.ValidLft,
		})
	}
	return out
}

func scope(s int) string {
	switch s {
	case unix.RT_SCOPE_UNIVERSE:
		return "global"
	case unix.RT_SCOPE_LINK:
		return "link"
	case unix.RT_SCOPE_HOST:
		return "host"
	}
	return fmt.Sprint(s)
}

func routes(names map[int]string) []report.Route {
	var out []report.Route
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		list, err := netlink.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
		if err != nil {
			fmt.Printf("guestinit: list routes: %v\n", err)
		}
		for _, r := range list {
			rr := report.Route{
				Table: r.Table, Type: routeType(r.Type), Dst: "default", Dev: names[r.LinkIndex],
				Protocol: int(r.Protocol), Metric: r.Priority, Family: fam,
			}
			if r.Dst != nil && !(r.Dst.IP.IsUnspecified() && isZero(r.Dst.Mask)) {
				rr.Dst = r.Dst.String()
			}
			if r.Gw != nil {
				rr.Gw = r.Gw.String()
			}
			if r.Src != nil {
				rr.Src = r.Src.String()
			}
			out = append(out, rr)
		}
	}
	return out
}

func isZero(m []byte) bool {
	for _, b := range m {
		if b != 0 {
			return false
		}
	}
	return true
}

func routeType(t int) string {
	switch t {
	case unix.RTN_UNICAST:
		return "unicast"
	case unix.RTN_LOCAL:
		return "local"
	case unix.RTN_BROADCAST:
		return "broadcast"
	case unix.RTN_MULTICAST:
		return "multicast"
	case unix.RTN_UNREACHABLE:
		return "unreachable"
	case unix.RTN_BLACKHOLE:
		return "blackhole"
	}
	return fmt.Sprint(t)
}

func rules() []report.Rule {
	var out []report.Rule
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		list, err := netlink.RuleList(fam)
		if err != nil {
			fmt.Printf("guestinit: list rules: %v\n", err)
		}
		for _, r := range list {
			rr := report.Rule{Priority: r.Priority, Family: fam, Table: r.Table, SuppressPrefix: r.SuppressPrefixlen}
			if r.Src != nil {
				rr.Src = r.Src.String()
			}
			if r.Dst != nil {
				rr.Dst = r.Dst.String()
			}
			out = append(out, rr)
		}
	}
	return out
}

// readTree adds the regular files at or under p (at most 64 KiB each,
// 256 files) to files.
func readTree(p string, files map[string]string) {
	var paths []string
	_ = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && len(paths) < 256 {
			paths = append(paths, path)
		}
		return nil
	})
	sort.Strings(paths)
	for _, f := range paths {
		b, err := os.ReadFile(f)
		if err != nil {
			files[f] = "error: " + err.Error()
			continue
		}
		files[f] = string(b[:min(len(b), 64<<10)])
	}
}
