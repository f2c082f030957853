package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/vishvananda/netns"
)

// imdsFake is a minimal EC2 IMDSv2: token PUT, then GETs carrying it.
type imdsFake struct {
	mu    sync.Mutex
	files map[string]string
}

func (f *imdsFake) set(path, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[path] = body
}

func (f *imdsFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" {
		w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
		fmt.Fprint(w, "tok")
		return
	}
	if r.Header.Get("X-aws-ec2-metadata-token") != "tok" {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	body, ok := f.files[strings.TrimPrefix(r.URL.Path, "/latest/meta-data/")]
	f.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	fmt.Fprint(w, body)
}

// listenIn opens a TCP listener inside the named namespace (the socket
// stays there; this process's own namespace is restored at once).
func listenIn(t *testing.T, ns, addr string) net.Listener {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	h, err := netns.GetFromName(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := netns.Set(h); err != nil {
		t.Fatal(err)
	}
	l, lerr := net.Listen("tcp", addr)
	if err := netns.Set(orig); err != nil {
		panic("cannot return to the test's network namespace: " + err.Error())
	}
	if lerr != nil {
		t.Fatal(lerr)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func buildCloud(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(filepath.Dir(earlynetBin), "earlynet-cloud")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/earlynet-cloud")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build earlynet-cloud: %v\n%s", err, out)
	}
	return bin
}

// kernelState is what the namespace holds: addresses (with lifetimes),
// routes of every table, rules.
func kernelState(t *testing.T, ns string) string {
	t.Helper()
	addrs := mustRun(t, "ip", "-n", ns, "-o", "addr", "show")
	routes := mustRun(t, "ip", "-n", ns, "route", "show", "table", "all")
	routes6 := mustRun(t, "ip", "-n", ns, "-6", "route", "show", "table", "all")
	rules := mustRun(t, "ip", "-n", ns, "rule", "show")
	// Lifetimes count down between two dumps.
	lft := regexp.MustCompile(`(valid|preferred)_lft \d+sec`)
	return lft.ReplaceAllString(addrs, "${1}_lft N") + routes + routes6 + rules
}

// TestCloudApplyEC2: earlynet-cloud --apply against a metadata service at
// 169.254.169.254 in a namespace whose veth devices carry the metadata's
// MACs. The kernel gets nm-cloud-setup's layout, a second run changes
// nothing, and a run after the metadata changed removes only what went.
func TestCloudApplyEC2(t *testing.T) {
	requireNetns(t)
	bin := buildCloud(t)
	ns, peer := newNS(t), newNS(t)
	veth(t, peer, "p0", ns, "eth0", "0e:00:00:00:00:01")
	veth(t, peer, "p1", ns, "eth1", "0e:00:00:00:00:02")
	for _, dev := range []string{"eth0", "eth1"} {
		mustRun(t, "ip", "-n", ns, "link", "set", dev, "up")
	}
	// The DHCP lease of the primary address: earlynet must leave it as is.
	mustRun(t, "ip", "-n", ns, "addr", "add", "192.0.2.10/24", "dev", "eth0", "valid_lft", "3600", "preferred_lft", "3600")
	mustRun(t, "ip", "-n", ns, "addr", "add", "169.254.169.254/32", "dev", "lo")
	fake := &imdsFake{files: map[string]string{
		"mac":                      "0e:00:00:00:00:01",
		"network/interfaces/macs/": "0e:00:00:00:00:01/\n0e:00:00:00:00:02/\n",
		"network/interfaces/macs/0e:00:00:00:00:01/device-number":           "0",
		"network/interfaces/macs/0e:00:00:00:00:01/local-ipv4s":             "192.0.2.10\n192.0.2.11\n192.0.2.12",
		"network/interfaces/macs/0e:00:00:00:00:01/subnet-ipv4-cidr-block":  "192.0.2.0/24",
		"network/interfaces/macs/0e:00:00:00:00:01/ipv6s":                   "2001:db8:1::10",
		"network/interfaces/macs/0e:00:00:00:00:01/subnet-ipv6-cidr-blocks": "2001:db8:1::/64",
		"network/interfaces/macs/0e:00:00:00:00:02/device-number":           "1",
		"network/interfaces/macs/0e:00:00:00:00:02/local-ipv4s":             "198.51.100.10",
		"network/interfaces/macs/0e:00:00:00:00:02/subnet-ipv4-cidr-block":  "198.51.100.0/24",
	}}
	go http.Serve(listenIn(t, ns, "169.254.169.254:80"), fake)
	root := t.TempDir()
	apply := func() {
		t.Helper()
		out, err := exec.Command("ip", "netns", "exec", ns, bin, "--provider", "ec2", "--apply", "--root", root, "--json").CombinedOutput()
		if err != nil {
			t.Fatalf("earlynet-cloud --apply: %v\n%s", err, out)
		}
		var rep struct {
			Devices []struct{ Name, Status string }
		}
		if i := strings.Index(string(out), "{"); i < 0 || json.Unmarshal(out[i:], &rep) != nil || len(rep.Devices) != 2 {
			t.Fatalf("no report of two devices:\n%s", out)
		}
	}
	apply()
	st := kernelState(t, ns)
	for _, want := range []string{
		"eth0    inet 192.0.2.10/24 scope global dynamic eth0", // the lease, untouched
		"inet 192.0.2.11/24 brd 192.0.2.255 scope global secondary noprefixroute eth0",
		"inet 192.0.2.12/24 brd 192.0.2.255 scope global secondary noprefixroute eth0",
		"inet 198.51.100.10/24 brd 198.51.100.255 scope global noprefixroute eth1",
		"inet6 2001:db8:1::10/64 scope global nodad noprefixroute",
		"192.0.2.0/24 dev eth0 table 30200 proto static scope link metric 10",
		"default via 192.0.2.1 dev eth0 table 30400 proto static metric 10 onlink",
		"198.51.100.0/24 dev eth1 table 30201 proto static scope link metric 10",
		"default via 198.51.100.1 dev eth1 table 30401 proto static metric 10 onlink",
		"30200:\tfrom 192.0.2.11 lookup 30200",
		"30350:\tfrom all lookup main suppress_prefixlength 0",
		"30400:\tfrom 192.0.2.12 lookup 30400",
		"30401:\tfrom 198.51.100.10 lookup 30401",
	} {
		if !strings.Contains(st, want) {
			t.Errorf("after --apply the kernel lacks %q:\n%s", want, st)
		}
	}
	apply()
	if again := kernelState(t, ns); again != st {
		t.Errorf("a second run changed the kernel:\nbefore:\n%s\nafter:\n%s", st, again)
	}
	fake.set("network/interfaces/macs/0e:00:00:00:00:01/local-ipv4s", "192.0.2.10\n192.0.2.11")
	apply()
	after := kernelState(t, ns)
	for _, gone := range []string{"192.0.2.12/24", "from 192.0.2.12 "} {
		if strings.Contains(after, gone) {
			t.Errorf("%q is still there after the metadata dropped 192.0.2.12:\n%s", gone, after)
		}
	}
	for _, kept := range []string{"192.0.2.10/24 scope global dynamic", "192.0.2.11/24", "from 192.0.2.11 lookup 30400", "30350:"} {
		if !strings.Contains(after, kept) {
			t.Errorf("%q went although only 192.0.2.12 left the metadata:\n%s", kept, after)
		}
	}
}
