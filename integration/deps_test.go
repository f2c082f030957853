package integration

import (
	"os/exec"
	"strings"
	"testing"
)

// goListDeps returns every package pkg links, standard library included.
func goListDeps(t *testing.T, pkg string) map[string]bool {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	deps := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		deps[p] = true
	}
	return deps
}

// forbidden reports the packages of deps that match a pattern: an import
// path, or a path ending in "/..." for the whole tree below it.
func forbidden(deps map[string]bool, patterns []string) []string {
	var bad []string
	for p := range deps {
		for _, f := range patterns {
			tree, ok := strings.CutSuffix(f, "/...")
			if p == f || ok && (p == tree || strings.HasPrefix(p, tree+"/")) {
				bad = append(bad, p)
			}
		}
	}
	return bad
}

var cloudSDKs = []string{"github.com/aws/...", "cloud.google.com/...", "google.golang.org/..."}

// TestEarlynetBinaryStaysSmall guards the start-up budget: the binary
// behind `earlynet initrd` and `earlynet up` must not link the HTTP or TLS
// stacks or a cloud SDK, whose package init costs milliseconds.
func TestEarlynetBinaryStaysSmall(t *testing.T) {
	deps := goListDeps(t, "github.com/earlynet/earlynet/cmd/earlynet")
	if !deps["github.com/earlynet/earlynet/initrd"] {
		t.Fatal("go list found no initrd package in cmd/earlynet; the check would prove nothing")
	}
	no := append([]string{"net/http/...", "crypto/tls/..."}, cloudSDKs...)
	if bad := forbidden(deps, no); len(bad) > 0 {
		t.Errorf("cmd/earlynet links %v; move that code to cmd/earlynet-cloud", bad)
	}
}

// TestPurePackages keeps the model, parser and keyfile code free of
// effects: no sockets, netlink, processes or cloud clients.
func TestPurePackages(t *testing.T) {
	no := append([]string{"net", "net/http/...", "os/exec", "github.com/vishvananda/netlink/...",
		"github.com/insomniacslk/dhcp/..."}, cloudSDKs...)
	for _, pkg := range []string{"initrd", "profiles", "keyfile", "metadata"} {
		path := "github.com/earlynet/earlynet/" + pkg
		deps := goListDeps(t, path)
		if !deps[path] {
			t.Fatalf("go list -deps %s does not list the package itself", path)
		}
		if bad := forbidden(deps, no); len(bad) > 0 {
			t.Errorf("%s imports %v; effects belong in cmd/ adapters", pkg, bad)
		}
	}
}

// TestCloudBinaryUsesTheSDKs: the metadata clients are the providers'
// own libraries, in the sibling binary.
func TestCloudBinaryUsesTheSDKs(t *testing.T) {
	deps := goListDeps(t, "github.com/earlynet/earlynet/cmd/earlynet-cloud")
	for _, want := range []string{"github.com/aws/aws-sdk-go-v2/feature/ec2/imds", "cloud.google.com/go/compute/metadata", "github.com/earlynet/earlynet/metadata"} {
		if !deps[want] {
			t.Errorf("cmd/earlynet-cloud does not link %s", want)
		}
	}
}
