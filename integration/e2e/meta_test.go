package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The metadata fakes must answer as cloud.md describes the real services,
// or the cloud scenarios would test earlynet against the wrong shapes.
func TestMetadataFakes(t *testing.T) {
	ec2 := httptest.NewServer(ec2Fake([]ec2NIC{
		{MAC: "52:54:00:12:34:05", Subnet: "192.0.2.0/24", IPv4s: []string{"192.0.2.105", "192.0.2.21"}, IPv6s: []string{"2001:db8:1::aa"}, Subnet6: "2001:db8:1::/64"},
		{MAC: "52:54:00:12:34:09", Subnet: "198.51.100.0/24", IPv4s: []string{"198.51.100.109"}, Device: 1},
	}, &reqLog{}))
	defer ec2.Close()
	gce := httptest.NewServer(gceFake([]gceNIC{{MAC: "52:54:00:12:34:05", IP: "192.0.2.105", Gateway: "192.0.2.1",
		Mask: "255.255.255.0", ForwardedIPs: []string{"203.0.113.7"}}}, &reqLog{}))
	defer gce.Close()

	token := do(t, "PUT", ec2.URL+"/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"}, 200, "")
	tok := map[string]string{"X-aws-ec2-metadata-token": token}
	google := map[string]string{"Metadata-Flavor": "Google"}
	macs := "/latest/meta-data/network/interfaces/macs/"
	tests := []struct {
		name, method, url string
		hdr               map[string]string
		code              int
		body              string
	}{
		{"ec2 without token", "GET", ec2.URL + "/latest/meta-data/instance-id", nil, 401, ""},
		{"ec2 mac list", "GET", ec2.URL + macs, tok, 200, "52:54:00:12:34:05/\n52:54:00:12:34:09/"},
		{"ec2 dated tree", "GET", ec2.URL + "/2018-09-24/meta-data/network/interfaces/macs/52:54:00:12:34:05/local-ipv4s", tok, 200, "192.0.2.105\n192.0.2.21"},
		{"ec2 subnet", "GET", ec2.URL + macs + "52:54:00:12:34:09/subnet-ipv4-cidr-block", tok, 200, "198.51.100.0/24"},
		{"ec2 ipv6s", "GET", ec2.URL + macs + "52:54:00:12:34:05/ipv6s", tok, 200, "2001:db8:1::aa"},
		{"ec2 ipv6 subnet", "GET", ec2.URL + macs + "52:54:00:12:34:05/subnet-ipv6-cidr-blocks", tok, 200, "2001:db8:1::/64"},
		{"ec2 no ipv6s on eth1", "GET", ec2.URL + macs + "52:54:00:12:34:09/ipv6s", tok, 404, ""},
		{"ec2 primary mac", "GET", ec2.URL + "/latest/meta-data/mac", tok, 200, "52:54:00:12:34:05"},
		{"gce without flavor", "GET", gce.URL + "/computeMetadata/v1/instance/id", nil, 403, ""},
		{"gce nics", "GET", gce.URL + "/computeMetadata/v1/instance/network-interfaces/", google, 200, "0/"},
		{"gce forwarded list", "GET", gce.URL + "/computeMetadata/v1/instance/network-interfaces/0/forwarded-ips/", google, 200, "0"},
		{"gce forwarded ip", "GET", gce.URL + "/computeMetadata/v1/instance/network-interfaces/0/forwarded-ips/0", google, 200, "203.0.113.7"},
		{"gce mac", "GET", gce.URL + "/computeMetadata/v1/instance/network-interfaces/0/mac", google, 200, "52:54:00:12:34:05"},
		{"gce missing", "GET", gce.URL + "/computeMetadata/v1/instance/network-interfaces/1/mac", google, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { do(t, tt.method, tt.url, tt.hdr, tt.code, tt.body) })
	}
}

// do sends a request and checks status and (when want is set) the body.
func do(t *testing.T, method, url string, hdr map[string]string, code int, want string) string {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != code {
		t.Errorf("%s %s: got status %d, want %d (%s)", method, url, resp.StatusCode, code, b)
	}
	if want != "" && strings.TrimSpace(string(b)) != want {
		t.Errorf("%s %s: got body %q, want %q", method, url, b, want)
	}
	return string(b)
}
