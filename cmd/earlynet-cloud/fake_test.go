package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earlynet/earlynet/metadata"
)

// fakeMeta is an in-process metadata service: fixed paths and bodies, the
// headers a provider demands, EC2's IMDSv2 token flow, optional latency
// and a hook for faults.
type fakeMeta struct {
	files  map[string]string // URL path (plus "?query") to body
	need   map[string]string // header a GET must carry
	imdsv2 bool
	delay  time.Duration
	hook   func(w http.ResponseWriter, r *http.Request) bool // true: answered

	mu  sync.Mutex
	log []string
}

const fakeToken = "AQAEAFAKE-token=="

func (f *fakeMeta) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Path
	if r.URL.RawQuery != "" {
		key += "?" + r.URL.RawQuery
	}
	f.mu.Lock()
	f.log = append(f.log, r.Method+" "+key)
	f.mu.Unlock()
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	if f.hook != nil && f.hook(w, r) {
		return
	}
	if f.imdsv2 {
		if r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" {
			if r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
				http.Error(w, "no ttl", http.StatusBadRequest)
				return
			}
			// The real service echoes the TTL; the SDK needs it.
			w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
			fmt.Fprint(w, fakeToken)
			return
		}
		if r.Header.Get("X-aws-ec2-metadata-token") != fakeToken {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
	}
	for k, v := range f.need {
		if r.Header.Get(k) != v {
			http.Error(w, "missing header "+k, http.StatusForbidden)
			return
		}
	}
	body, ok := f.files[key]
	if r.Method != http.MethodGet || !ok {
		http.NotFound(w, r)
		return
	}
	if strings.HasPrefix(key, "/computeMetadata/") {
		w.Header().Set("Metadata-Flavor", "Google")
	}
	fmt.Fprint(w, body)
}

func (f *fakeMeta) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

// serve starts f and returns its base URL.
func serve(t *testing.T, f *fakeMeta) string {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL
}

// fixture is one of metadata/testdata's cases.
type fixture struct {
	Primary, Listing string
	Leaves           map[string]map[string]string
	NICs             []metadata.GCENIC
	raw              []byte
}

func readFixture(t *testing.T, path string) fixture {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fx fixture
	fx.raw = raw
	if err := json.Unmarshal(raw, &fx); err != nil && !strings.Contains(path, "/azure/") && !strings.Contains(path, "/oci/") {
		t.Fatal(err)
	}
	return fx
}

// fakeFor serves a fixture the way the provider's service does.
func fakeFor(provider string, fx fixture) *fakeMeta {
	f := &fakeMeta{files: map[string]string{}}
	switch provider {
	case "ec2", "aliyun":
		base := "/latest/meta-data/"
		f.imdsv2 = provider == "ec2"
		f.files[base+"network/interfaces/macs/"] = fx.Listing
		if fx.Primary != "" {
			f.files[base+"mac"] = fx.Primary
		}
		for mac, kv := range fx.Leaves {
			for k, v := range kv {
				f.files[base+"network/interfaces/macs/"+mac+"/"+k] = v
			}
		}
	case "gce":
		f.need = map[string]string{"Metadata-Flavor": "Google"}
		dir := "/computeMetadata/v1/instance/network-interfaces/"
		var idx []string
		for i, n := range fx.NICs {
			d := fmt.Sprintf("%s%d/", dir, i)
			idx = append(idx, fmt.Sprintf("%d/", i))
			f.files[d+"mac"] = n.MAC
			gceDir(f, d+"forwarded-ips/", n.ForwardedIPs)
			gceDir(f, d+"ip-aliases/", n.IPAliases)
			gceDir(f, d+"forwarded-ipv6s/", n.ForwardedIPv6s)
			if len(n.IPv6s) > 0 {
				f.files[d+"ipv6s"] = strings.Join(n.IPv6s, "\n") + "\n"
			}
		}
		f.files[dir] = strings.Join(idx, "\n") + "\n"
	case "azure":
		f.need = map[string]string{"Metadata": "true"}
		f.files[metadata.AzurePath] = string(fx.raw)
	case "oci":
		f.need = map[string]string{"Authorization": "Bearer Oracle"}
		f.files[metadata.OCIPath] = string(fx.raw)
	}
	return f
}

func gceDir(f *fakeMeta, dir string, vals []string) {
	if len(vals) == 0 {
		return
	}
	var keys []string
	for i, v := range vals {
		keys = append(keys, fmt.Sprint(i))
		f.files[fmt.Sprintf("%s%d", dir, i)] = v
	}
	f.files[dir] = strings.Join(keys, "\n") + "\n"
}

// parseFixture is what the pure parser makes of the fixture directly.
func parseFixture(provider string, fx fixture) (*metadata.Metadata, []error) {
	switch provider {
	case "ec2":
		return metadata.EC2(fx.Listing, fx.Primary, fx.Leaves)
	case "aliyun":
		return metadata.Aliyun(fx.Listing, fx.Leaves)
	case "gce":
		return metadata.GCE(fx.NICs)
	case "azure":
		return metadata.Azure(fx.raw)
	case "oci":
		return metadata.OCI(fx.raw)
	}
	return nil, nil
}
