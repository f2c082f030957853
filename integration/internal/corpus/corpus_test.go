package corpus

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f.txt")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	got, err := Load(write(t, "# source A\nip=dhcp\n\n  ip=eth0:dhcp   rd.neednet \n# ip=commented\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Line{
		{Text: "ip=dhcp", Tokens: []string{"ip=dhcp"}, LineNo: 2},
		{Text: "ip=eth0:dhcp rd.neednet", Tokens: []string{"ip=eth0:dhcp", "rd.neednet"}, LineNo: 4},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load: got -want +got:\n%s", diff)
	}
}

func TestLoadRejectsDuplicates(t *testing.T) {
	if _, err := Load(write(t, "ip=dhcp\nip=dhcp \n")); err == nil {
		t.Error("Load with a repeated line: got no error, want one")
	}
}

func TestLoadDivergences(t *testing.T) {
	got, err := LoadDivergences(write(t, "# header\nip=foo  bar\tQ1 reason\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"ip=foo bar": "Q1 reason"}, got); diff != "" {
		t.Errorf("LoadDivergences: got -want +got:\n%s", diff)
	}
	for _, bad := range []string{"ip=foo\n", "ip=foo\t\n", "ip=foo\ta\nip=foo\tb\n"} {
		if _, err := LoadDivergences(write(t, bad)); err == nil {
			t.Errorf("LoadDivergences(%q): got no error, want one", bad)
		}
	}
}
