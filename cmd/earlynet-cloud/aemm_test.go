package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/earlynet/earlynet/metadata"
)

// startAEMM runs amazon-ec2-metadata-mock (IMDSv2 only) on loopback.
func startAEMM(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("ec2-metadata-mock")
	if err != nil {
		t.Skip("skipping: ec2-metadata-mock not installed (.ci/install.sh installs v1.13.0)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--hostname", "127.0.0.1", "--port", fmt.Sprint(port), "--imdsv2")
	cmd.Dir = t.TempDir()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr
		}
	}
	t.Fatalf("ec2-metadata-mock did not listen on %s", addr)
	return ""
}

// imdsRead is an independent IMDSv2 reader: token, then plain GETs.
func imdsRead(t *testing.T, base string) func(path string) (string, int) {
	req, _ := http.NewRequest(http.MethodPut, base+"/latest/api/token", nil)
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return func(path string) (string, int) {
		req, _ := http.NewRequest(http.MethodGet, base+"/latest/meta-data/"+path, nil)
		req.Header.Set("X-aws-ec2-metadata-token", string(tok))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), resp.StatusCode
	}
}

// TestAEMM: against the real amazon-ec2-metadata-mock in IMDSv2-only
// mode, the SDK path reads what an independent reader reads, and the
// interface the mock describes comes out.
func TestAEMM(t *testing.T) {
	base := startAEMM(t)
	got, _ := fetch(t, "ec2", base, 10*time.Second)
	if got.err != nil {
		t.Fatalf("fetch from ec2-metadata-mock: %v", got.err)
	}
	get := imdsRead(t, base)
	listing, _ := get("network/interfaces/macs/")
	primary, _ := get("mac")
	leaves := map[string]map[string]string{}
	for _, mac := range trimLines(listing) {
		leaves[mac] = map[string]string{}
		for _, k := range metadata.EC2Keys {
			if v, code := get("network/interfaces/macs/" + mac + "/" + k); code == 200 {
				leaves[mac][k] = v
			}
		}
	}
	want, werrs := metadata.EC2(listing, primary, leaves)
	if d := cmp.Diff(want, got.md, cmpNetip); d != "" {
		t.Errorf("SDK fetch differs from a plain read of the mock (-want +got):\n%s", d)
	}
	if fmt.Sprint(werrs) != fmt.Sprint(got.errs) {
		t.Errorf("errors %v, want %v", got.errs, werrs)
	}
	md := got.md.(*metadata.Metadata)
	if len(md.Interfaces) == 0 || md.Interfaces[0].MAC != strings.TrimSpace(primary) || len(md.Interfaces[0].IPv4s) == 0 {
		t.Errorf("got %+v, want the mock's interface %s with its address", md.Interfaces, primary)
	}
}
