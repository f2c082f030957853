package metadata

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/earlynet/earlynet/keyfile"
)

var update = flag.Bool("update", false, "rewrite the .golden files")

// parseFixture maps one testdata/<provider>/<case>.json with the
// provider's parse function.
func parseFixture(t *testing.T, provider string, data []byte) (*Metadata, []error) {
	t.Helper()
	switch provider {
	case "ec2", "aliyun":
		var f struct {
			Primary, Listing string
			Leaves           map[string]map[string]string
		}
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		if provider == "ec2" {
			return EC2(f.Listing, f.Primary, f.Leaves)
		}
		return Aliyun(f.Listing, f.Leaves)
	case "gce":
		var f struct{ NICs []GCENIC }
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		return GCE(f.NICs)
	case "azure":
		return Azure(data)
	case "oci":
		return OCI(data)
	}
	t.Fatalf("no parser for %s", provider)
	return nil, nil
}

// render is the golden text of a fixture: the parse errors, then each
// interface's keyfile as NewProfile writes it.
func render(md *Metadata, errs []error) (string, map[string][]byte) {
	var b strings.Builder
	for _, err := range errs {
		fmt.Fprintf(&b, "# error: %v\n", err)
	}
	files := map[string][]byte{}
	for _, c := range Plan(md) {
		id := "cloud-" + strings.ReplaceAll(c.MAC, ":", "")
		kf := keyfile.Encode(NewProfile(c, id, fmt.Sprintf("00000000-0000-4000-8000-%012d", c.Index)))
		files[id] = kf
		fmt.Fprintf(&b, "# interface %d %s\n%s\n", c.Index, c.MAC, kf)
	}
	return b.String(), files
}

func TestGolden(t *testing.T) {
	fixtures, _ := filepath.Glob("testdata/*/*.json")
	if len(fixtures) < 8 {
		t.Fatalf("found %d fixtures, want every provider's", len(fixtures))
	}
	for _, fx := range fixtures {
		provider := filepath.Base(filepath.Dir(fx))
		t.Run(provider+"/"+strings.TrimSuffix(filepath.Base(fx), ".json"), func(t *testing.T) {
			data, err := os.ReadFile(fx)
			if err != nil {
				t.Fatal(err)
			}
			got, files := render(parseFixture(t, provider, data))
			golden := strings.TrimSuffix(fx, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./metadata -update)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", golden, diff)
			}
			loadInNmcli(t, files)
		})
	}
}

// loadInNmcli proves NetworkManager 1.42 reads every keyfile: nmcli
// --offline loads and normalises it, and must keep what we configured.
func loadInNmcli(t *testing.T, files map[string][]byte) {
	t.Helper()
	if _, err := exec.LookPath("nmcli"); err != nil {
		return
	}
	for id, kf := range files {
		cmd := exec.Command("nmcli", "--offline", "connection", "modify")
		cmd.Stdin = bytes.NewReader(kf)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("nmcli --offline rejects %s: %v\n%s\n%s", id, err, out, kf)
			continue
		}
		// NM rewrites rules in its own spelling ("from 10.0.1.231"), so
		// compare how many there are; addresses and routes keep their text.
		if got, want := strings.Count(string(out), "\nrouting-rule"), strings.Count(string(kf), "\nrouting-rule"); got != want {
			t.Errorf("nmcli --offline kept %d routing rules of %s, want %d:\n%s", got, id, want, out)
		}
		for _, line := range strings.Split(string(kf), "\n") {
			if strings.HasPrefix(line, "address") || strings.HasPrefix(line, "route") && !strings.HasPrefix(line, "routing-rule") {
				if !strings.Contains(string(out), "\n"+line+"\n") {
					t.Errorf("nmcli --offline normalised away %q of %s:\n%s", line, id, out)
				}
			}
		}
	}
}
