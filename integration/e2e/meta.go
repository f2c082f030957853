package e2e

import (
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
)

// metaAddr is where the metadata fakes listen, inside the namespace only.
const metaAddr = "169.254.169.254:80"

// ec2NIC is one ENI as the EC2 fake serves it.
type ec2NIC struct {
	MAC     string
	Subnet  string   // subnet-ipv4-cidr-block
	IPv4s   []string // local-ipv4s, primary first
	IPv6s   []string
	Subnet6 string // subnet-ipv6-cidr-blocks, with IPv6s
	Device  int
}

// ec2Fake serves the IMDSv2 token route and the network keys of
// /latest/meta-data (and the dated 2018-09-24 tree nm-cloud-setup uses).
// Without a token GETs get 401, as with HttpTokens=required.
func ec2Fake(nics []ec2NIC, log *reqLog) http.Handler {
	files := map[string]string{"instance-id": "i-0123456789abcdef0", "mac": nics[0].MAC}
	var macs []string
	for _, n := range nics {
		macs = append(macs, n.MAC+"/")
		p := "network/interfaces/macs/" + n.MAC + "/"
		files[p+"device-number"] = fmt.Sprint(n.Device)
		files[p+"interface-id"] = fmt.Sprintf("eni-%012d", n.Device)
		files[p+"mac"] = n.MAC
		files[p+"subnet-ipv4-cidr-block"] = n.Subnet
		files[p+"vpc-ipv4-cidr-block"] = n.Subnet
		files[p+"local-ipv4s"] = strings.Join(n.IPv4s, "\n")
		if len(n.IPv6s) > 0 {
			files[p+"ipv6s"] = strings.Join(n.IPv6s, "\n")
			files[p+"subnet-ipv6-cidr-blocks"] = n.Subnet6
			files[p+"vpc-ipv6-cidr-blocks"] = n.Subnet6
		}
	}
	files["network/interfaces/macs/"] = strings.Join(macs, "\n")
	const token = "e2e-token-AQAEAFake=="
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		if r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" {
			w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
			fmt.Fprint(w, token)
			return
		}
		if r.Header.Get("X-aws-ec2-metadata-token") != token {
			http.Error(w, "401 - Unauthorized", http.StatusUnauthorized)
			return
		}
		for _, prefix := range []string{"/latest/meta-data/", "/2018-09-24/meta-data/", "/2021-01-03/meta-data/"} {
			if rest, ok := strings.CutPrefix(r.URL.Path, prefix); ok {
				serveTree(w, files, rest)
				return
			}
		}
		http.NotFound(w, r)
	})
}

// gceNIC is one network interface as the GCE fake serves it.
type gceNIC struct {
	MAC, IP, Gateway, Mask string
	ForwardedIPs           []string
	IPAliases              []string
}

// gceFake serves /computeMetadata/v1 with the Metadata-Flavor checks, text
// leaves and directory listings.
func gceFake(nics []gceNIC, log *reqLog) http.Handler {
	files := map[string]string{"instance/id": "1234567890123456789", "instance/hostname": "e2e.c.project.internal"}
	for i, n := range nics {
		p := fmt.Sprintf("instance/network-interfaces/%d/", i)
		files[p+"mac"], files[p+"ip"], files[p+"gateway"], files[p+"subnetmask"] = n.MAC, n.IP, n.Gateway, n.Mask
		files[p+"mtu"] = "1460"
		for k, ip := range n.ForwardedIPs {
			files[fmt.Sprintf("%sforwarded-ips/%d", p, k)] = ip
		}
		for k, r := range n.IPAliases {
			files[fmt.Sprintf("%sip-aliases/%d", p, k)] = r
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		if r.Header.Get("Metadata-Flavor") != "Google" || r.Header.Get("X-Forwarded-For") != "" {
			http.Error(w, "Missing Metadata-Flavor:Google header.", http.StatusForbidden)
			return
		}
		w.Header().Set("Metadata-Flavor", "Google")
		if r.URL.Path == "/" {
			return // the Go library's probe
		}
		rest, ok := strings.CutPrefix(r.URL.Path, "/computeMetadata/v1/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		serveTree(w, files, rest)
	})
}

// serveTree answers a leaf with its value and a directory ("x/") with the
// sorted names below it, sub-directories with a trailing slash.
func serveTree(w http.ResponseWriter, files map[string]string, p string) {
	if v, ok := files[p]; ok && !strings.HasSuffix(p, "/") {
		fmt.Fprint(w, v)
		return
	}
	if v, ok := files[p]; ok { // explicit listing
		fmt.Fprint(w, v)
		return
	}
	dir := strings.TrimSuffix(p, "/") + "/"
	if dir == "/" {
		dir = ""
	}
	seen := map[string]bool{}
	for k := range files {
		rest, ok := strings.CutPrefix(k, dir)
		if !ok || rest == "" {
			continue
		}
		if i := strings.Index(rest, "/"); i >= 0 {
			rest = rest[:i+1]
		}
		seen[rest] = true
	}
	if len(seen) == 0 {
		http.Error(w, "404 - Not Found", http.StatusNotFound)
		return
	}
	names := make([]string, 0, len(seen))
	for k := range seen {
		names = append(names, k)
	}
	sort.Strings(names)
	fmt.Fprint(w, strings.Join(names, "\n"))
}

// reqLog records the requests a fake saw, for assertions and failure logs.
type reqLog struct {
	mu   sync.Mutex
	reqs []string
}

func (l *reqLog) add(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r.Method+" "+r.URL.Path)
}

func (l *reqLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.reqs...)
}

// serveMeta listens on 169.254.169.254:80 inside the namespace (the
// address must already be on a link there) and serves h until cleanup.
func serveMeta(t testing.TB, ns *netns, h http.Handler) error {
	var ln net.Listener
	err := ns.do(func() error {
		var err error
		ln, err = net.Listen("tcp4", metaAddr)
		return err
	})
	if err != nil {
		return fmt.Errorf("metadata fake listen %s in %s: %w", metaAddr, ns.name, err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return nil
}
