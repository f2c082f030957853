package initrd

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/earlynet/earlynet/keyfile"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// testSysFS is NetworkManager's reader test fixture: two iBFT NICs and the
// addresses of eth0 and eth2 (docs/initrd-cmdline.md §6.1).
func testSysFS() fstest.MapFS {
	fsys := fstest.MapFS{}
	add := func(dir string, attrs map[string]string) {
		for k, v := range attrs {
			fsys[dir+"/"+k] = &fstest.MapFile{Data: []byte(v + "\n")}
		}
	}
	add("firmware/ibft/ethernet0", map[string]string{
		"index": "0", "mac": "00:53:00:ab:00:01", "vlan": "666", "origin": "4",
		"ip-addr": "2001:0db8:0000:0000:0000:0000:0000:0002", "prefix-len": "64",
		"gateway": "2001:db8::1", "primary-dns": "2001:db8::53", "secondary-dns": "2001:db8::5353",
	})
	add("firmware/ibft/ethernet2", map[string]string{
		"index": "2", "mac": "00:53:06:66:AB:01", "vlan": "0", "origin": "3",
		"ip-addr": "192.0.2.2", "prefix-len": "24", "gateway": "192.0.2.1",
		"primary-dns": "192.0.2.53", "secondary-dns": "192.0.2.54",
	})
	add("class/net/eth0", map[string]string{"address": "00:53:00:ab:00:01"})
	add("class/net/eth2", map[string]string{"address": "00:53:06:66:ab:01"})
	return fsys
}

// testEnv gives UUIDs that count up, so that golden output is stable.
func testEnv() Env {
	n := 0
	return Env{
		SysFS: testSysFS(),
		NewUUID: func() string {
			n++
			return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
		},
	}
}

type goldenCase struct{ name, line string }

func readCases(t *testing.T) []goldenCase {
	t.Helper()
	f, err := os.Open("testdata/cases.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []goldenCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		cases = append(cases, goldenCase{name, rest})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// render prints a Result in a stable text form: warnings, hostname,
// snippets, profiles, dropped profiles.
func render(line string, res *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", line)
	for _, w := range res.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	if res.Hostname != "" {
		fmt.Fprintf(&b, "hostname: %s\n", res.Hostname)
	}
	fmt.Fprintf(&b, "neednet: %v\n", res.NeedNet)
	for _, s := range res.Snippets() {
		fmt.Fprintf(&b, "\n=== snippet %s\n%s", s.Name, s.Text())
	}
	for _, p := range res.Profiles {
		fmt.Fprintf(&b, "\n=== profile %s (%s)\n%s", p.Name, FileName(p.Name), keyfile.Encode(p))
	}
	for _, d := range res.Dropped {
		fmt.Fprintf(&b, "\n=== dropped %s: %v\n", d.Name, d.Err)
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	for _, c := range readCases(t) {
		t.Run(c.name, func(t *testing.T) {
			got := render(c.line, Parse(strings.Fields(c.line), testEnv()))
			path := filepath.Join("testdata", "golden", c.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("Parse(%s) mismatch (-want +got):\n%s", c.line, diff)
			}
		})
	}
}
