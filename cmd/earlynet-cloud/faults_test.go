package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/earlynet/earlynet/metadata"
)

// ec2Two is a two-interface EC2 fixture for the fault cases.
func ec2Two() fixture {
	return fixture{
		Primary: "0e:00:00:00:00:01",
		Listing: "0e:00:00:00:00:01/\n0e:00:00:00:00:02/\n",
		Leaves: map[string]map[string]string{
			"0e:00:00:00:00:01": {"device-number": "0", "local-ipv4s": "192.0.2.10\n192.0.2.11", "subnet-ipv4-cidr-block": "192.0.2.0/24"},
			"0e:00:00:00:00:02": {"device-number": "1", "local-ipv4s": "198.51.100.10", "subnet-ipv4-cidr-block": "198.51.100.0/24"},
		},
	}
}

// TestFetchFaults: each broken service gives an error naming the URL, in
// bounded time.
func TestFetchFaults(t *testing.T) {
	huge := strings.Repeat("0e:00:00:00:00:01/\n", maxBody/18+10)
	cases := []struct {
		name, provider string
		hook           func(w http.ResponseWriter, r *http.Request) bool
		want           string
		limit          time.Duration
	}{
		{"listing 404", "ec2", pathHook("/latest/meta-data/network/interfaces/macs/", 404, ""), "macs/", 3 * time.Second},
		{"token refused 403", "ec2", pathHook("/latest/api/token", 403, ""), "token", 3 * time.Second},
		{"always 500", "ec2", statusHook(500), "500", 8 * time.Second},
		{"401 on every GET", "ec2", getStatusHook(401), "401", 3 * time.Second},
		{"huge listing", "ec2", pathHook("/latest/meta-data/network/interfaces/macs/", 200, huge), "larger than", 3 * time.Second},
		{"token hangs (hop limit)", "ec2", hangHook("/latest/api/token"), "token", 9 * time.Second},
		{"azure 500", "azure", statusHook(500), "500", 5 * time.Second},
		{"azure slow", "azure", hangHook(metadata.AzurePath[:len("/metadata/instance/network")]), "/metadata/instance/network", 9 * time.Second},
		{"azure truncated", "azure", truncatedHook(), "/metadata/instance/network", 3 * time.Second},
		{"azure redirect off-host", "azure", redirectHook("http://192.0.2.1/elsewhere"), "leaves the metadata host", 3 * time.Second},
		{"oci 401", "oci", statusHook(401), "401", 3 * time.Second},
		{"gce 500", "gce", statusHook(500), "network-interfaces", 20 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := fakeFor(tc.provider, ec2Two())
			if tc.provider == "azure" || tc.provider == "oci" || tc.provider == "gce" {
				f = fakeFor(tc.provider, fixture{raw: []byte(`{"interface":[]}`), NICs: []metadata.GCENIC{{MAC: "0e:00:00:00:00:01"}}})
			}
			f.hook = tc.hook
			base := serve(t, f)
			got, took := fetch(t, tc.provider, base, 6*time.Second)
			if got.err == nil {
				t.Fatalf("no error; got %+v", got.md)
			}
			msg := got.err.Error()
			if !strings.Contains(msg, base) || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not name the URL %s and %q", msg, base, tc.want)
			}
			if took > tc.limit {
				t.Errorf("took %v, want at most %v", took, tc.limit)
			}
		})
	}
}

// TestFetchAbsent: nothing listens at the endpoint.
func TestFetchAbsent(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	l.Close()
	for _, p := range []string{"ec2", "gce", "azure", "aliyun", "oci"} {
		got, took := fetch(t, p, base, 5*time.Second)
		if got.err == nil || !strings.Contains(got.err.Error(), base) {
			t.Errorf("%s: got error %v, want one naming %s", p, got.err, base)
		}
		if took > 5*time.Second {
			t.Errorf("%s: took %v", p, took)
		}
	}
}

// TestFetchBadLeafDropsOnlyThatInterface: a leaf of one MAC that fails
// (500) leaves that interface out whole, with an error naming the URL,
// and the other interface is configured.
func TestFetchBadLeafDropsOnlyThatInterface(t *testing.T) {
	bad := "/latest/meta-data/network/interfaces/macs/0e:00:00:00:00:02/local-ipv4s"
	f := fakeFor("ec2", ec2Two())
	f.hook = pathHook(bad, 500, "")
	got, _ := fetch(t, "ec2", serve(t, f), 6*time.Second)
	if got.err != nil {
		t.Fatal(got.err)
	}
	md := got.md.(*metadata.Metadata)
	if len(md.Interfaces) != 1 || md.Interfaces[0].MAC != "0e:00:00:00:00:01" {
		t.Fatalf("got interfaces %+v, want only 0e:00:00:00:00:01", md.Interfaces)
	}
	if len(got.errs) == 0 || !strings.Contains(fmt.Sprint(got.errs), "0e:00:00:00:00:02/local-ipv4s") {
		t.Errorf("got errors %v, want one naming the failed leaf", got.errs)
	}
}

func pathHook(path string, status int, body string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != path {
			return false
		}
		if status == 200 && r.Method == http.MethodGet && r.Header.Get("X-aws-ec2-metadata-token") == "" {
			return false
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
		return true
	}
}

func statusHook(status int) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, http.StatusText(status), status)
		return true
	}
}

func getStatusHook(status int) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet {
			return false
		}
		http.Error(w, http.StatusText(status), status)
		return true
	}
}

// hangHook never answers requests under prefix (until the client leaves).
func hangHook(prefix string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, prefix) {
			return false
		}
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
		return true
	}
}

// truncatedHook promises more body than it sends.
func truncatedHook() func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(200)
		fmt.Fprint(w, `{"interface":[{"macAddress":"0E00`)
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		hj, ok := w.(http.Hijacker)
		if ok {
			c, _, err := hj.Hijack()
			if err == nil {
				c.Close()
			}
		}
		return true
	}
}

func redirectHook(to string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		http.Redirect(w, r, to, http.StatusFound)
		return true
	}
}
