// Package integration runs earlynet against real kernels objects in
// network namespaces the tests create and remove: veth pairs, bridges,
// dnsmasq as the DHCP and RA server. Only documentation address ranges are
// used. The tests skip, saying why, without root or `ip netns`.
package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// earlynetBin is the binary under test, built once by TestMain.
var earlynetBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "earlynet-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	earlynetBin = filepath.Join(dir, "earlynet")
	build := exec.Command("go", "build", "-o", earlynetBin, "../cmd/earlynet")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if race := os.Getenv("EARLYNET_RACE"); race != "" { // EARLYNET_RACE=1: a -race binary
		build = exec.Command("go", "build", "-race", "-o", earlynetBin, "../cmd/earlynet")
		build.Env = append(os.Environ(), "CGO_ENABLED=1")
	}
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build earlynet: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var nsCounter atomic.Int32

// requireNetns skips unless this process can create network namespaces.
func requireNetns(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping: iproute2 `ip` not found")
	}
	name := fmt.Sprintf("enprobe%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot create a network namespace (needs root): %v: %s", err, out)
	}
	exec.Command("ip", "netns", "del", name).Run()
}

// newNS creates a network namespace removed at cleanup, with lo up.
func newNS(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("en%d-%d", os.Getpid(), nsCounter.Add(1))
	mustRun(t, "ip", "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	mustRun(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// veth creates a pair with one end in each namespace; the client end
// gets mac (if not "") and stays down.
func veth(t *testing.T, srvNS, srvIf, cliNS, cliIf, mac string) {
	t.Helper()
	tmpA, tmpB := fmt.Sprintf("vt%da", nsCounter.Add(1)), fmt.Sprintf("vt%db", nsCounter.Load())
	mustRun(t, "ip", "link", "add", tmpA, "type", "veth", "peer", "name", tmpB)
	mustRun(t, "ip", "link", "set", tmpA, "netns", srvNS, "name", srvIf)
	mustRun(t, "ip", "link", "set", tmpB, "netns", cliNS, "name", cliIf)
	if mac != "" {
		mustRun(t, "ip", "-n", cliNS, "link", "set", cliIf, "address", mac)
	}
}

// server is a server namespace with one interface at 192.0.2.1/24 and
// 2001:db8:1::1/64.
func server(t *testing.T, ns, ifname string) {
	t.Helper()
	mustRun(t, "ip", "-n", ns, "addr", "add", "192.0.2.1/24", "dev", ifname)
	mustRun(t, "ip", "-n", ns, "addr", "add", "2001:db8:1::1/64", "dev", ifname, "nodad")
	mustRun(t, "ip", "-n", ns, "link", "set", ifname, "up")
}

// dnsmasq runs dnsmasq in ns on ifname (DHCPv4 pool 192.0.2.100-199,
// router 192.0.2.1, DNS 192.0.2.53, --no-ping) plus extra arguments, and
// stops it by PID at cleanup. It returns the log path.
func dnsmasq(t *testing.T, ns, ifname string, extra ...string) string {
	t.Helper()
	if _, err := exec.LookPath("dnsmasq"); err != nil {
		t.Skip("skipping: dnsmasq not installed (apt-get install dnsmasq-base)")
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "dnsmasq.log")
	args := []string{"netns", "exec", ns, "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
		"--port=0", "--no-resolv", "--no-hosts", "--user=root", "--group=root",
		"--bind-interfaces", "--interface=" + ifname, "--no-ping", "--dhcp-authoritative",
		"--dhcp-range=192.0.2.100,192.0.2.199,255.255.255.0,1h",
		"--dhcp-option=option:router,192.0.2.1", "--dhcp-option=option:dns-server,192.0.2.53",
		"--dhcp-leasefile=" + filepath.Join(dir, "leases"), "--pid-file=" + filepath.Join(dir, "pid"),
		"--log-dhcp", "--log-facility=" + log}
	cmd := exec.Command("ip", append(args, extra...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dnsmasq: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := exec.Command("ip", "netns", "exec", ns, "ss", "-H", "-uln", "sport", "=", ":67").Output()
		if len(bytes.TrimSpace(out)) > 0 {
			return log
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("dnsmasq in %s did not start listening: %s", ns, stderr.String())
	return ""
}

// upResult is one earlynet up run.
type upResult struct {
	report struct {
		OK      bool `json:"ok"`
		Devices []struct {
			Name      string   `json:"name"`
			Ifindex   int      `json:"ifindex"`
			UUID      string   `json:"uuid"`
			State     string   `json:"state"`
			Error     string   `json:"error"`
			Ports     []string `json:"ports"`
			Metric    int      `json:"metric"`
			Addresses []string `json:"addresses"`
			Lease     *struct {
				Address string `json:"address"`
			} `json:"lease"`
		} `json:"devices"`
		DNS      []string `json:"dns"`
		Hostname string   `json:"hostname"`
	}
	stderr string
	err    error
	root   string
}

// up runs earlynet up --json in ns with the given command line.
func up(t *testing.T, ns, cmdline string, extra ...string) *upResult {
	t.Helper()
	return upRoot(t, ns, t.TempDir(), cmdline, extra...)
}

// upRoot is up with a given --root.
func upRoot(t *testing.T, ns, root, cmdline string, extra ...string) *upResult {
	t.Helper()
	r := &upResult{root: root}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"netns", "exec", ns, earlynetBin, "up", "--json", "--root", r.root, "--cmdline", cmdline}, extra...)
	cmd := exec.CommandContext(ctx, "ip", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r.err = cmd.Run()
	r.stderr = stderr.String()
	if err := json.Unmarshal(stdout.Bytes(), &r.report); err != nil {
		t.Fatalf("earlynet up report: %v\nstdout: %s\nstderr: %s", err, stdout.String(), r.stderr)
	}
	t.Logf("earlynet up %q: err=%v\nstderr: %s", cmdline, r.err, r.stderr)
	return r
}

// ipAddr is one address of `ip -j addr`.
type ipAddr struct {
	Family    string   `json:"family"`
	Local     string   `json:"local"`
	PrefixLen int      `json:"prefixlen"`
	Scope     string   `json:"scope"`
	Dynamic   bool     `json:"dynamic"`
	NoPrefix  bool     `json:"noprefixroute"`
	Valid     uint64   `json:"valid_life_time"`
	Flags     []string `json:"flags"`
}

func addrs(t *testing.T, ns, dev string) []ipAddr {
	t.Helper()
	var links []struct {
		OperState string   `json:"operstate"`
		AddrInfo  []ipAddr `json:"addr_info"`
	}
	out := mustRun(t, "ip", "-j", "-n", ns, "addr", "show", "dev", dev)
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		t.Fatalf("ip -j addr show dev %s: %v: %s", dev, err, out)
	}
	return links[0].AddrInfo
}

func globalAddrs(t *testing.T, ns, dev, family string) []ipAddr {
	var out []ipAddr
	for _, a := range addrs(t, ns, dev) {
		if a.Family == family && a.Scope == "global" {
			out = append(out, a)
		}
	}
	return out
}

// ipRoute is one route of `ip -j route`.
type ipRoute struct {
	Dst      string   `json:"dst"`
	Gateway  string   `json:"gateway"`
	Dev      string   `json:"dev"`
	Protocol string   `json:"protocol"`
	Metric   int      `json:"metric"`
	PrefSrc  string   `json:"prefsrc"`
	Flags    []string `json:"flags"`
}

func routes(t *testing.T, ns string, family string) []ipRoute {
	t.Helper()
	var rs []ipRoute
	out := mustRun(t, "ip", "-j", family, "-n", ns, "route", "show")
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("ip -j route: %v: %s", err, out)
	}
	return rs
}

func findRoute(rs []ipRoute, dst, dev string) *ipRoute {
	for i := range rs {
		if rs[i].Dst == dst && rs[i].Dev == dev {
			return &rs[i]
		}
	}
	return nil
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

func linkIndex(t *testing.T, ns, dev string) int {
	t.Helper()
	var links []struct {
		Ifindex int `json:"ifindex"`
	}
	out := mustRun(t, "ip", "-j", "-n", ns, "link", "show", "dev", dev)
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		t.Fatalf("ip -j link show %s: %v", dev, err)
	}
	return links[0].Ifindex
}

func linkFlags(t *testing.T, ns, dev string) []string {
	t.Helper()
	var links []struct {
		Flags []string `json:"flags"`
	}
	out := mustRun(t, "ip", "-j", "-n", ns, "link", "show", "dev", dev)
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		t.Fatalf("ip -j link show %s: %v", dev, err)
	}
	return links[0].Flags
}
