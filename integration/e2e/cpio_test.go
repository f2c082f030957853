package e2e

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// TestArchiveReadByCpio checks the newc writer against GNU cpio: every
// member, its type and mode, implied parent directories and file contents.
// It needs no root and runs in plain `go test`.
func TestArchiveReadByCpio(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("cpio(1) not installed (apt-get install cpio); cannot cross-check the newc writer")
	}
	a := newArchive()
	a.charDev("dev/console", 0o600, 5, 1)
	a.file("init", 0o755, []byte("#!guest init\n"))
	a.file("/lib/modules/6.1.0/kernel/x.ko", 0o644, []byte("odd length"))
	a.dir("tmp", 0o1777)
	var buf bytes.Buffer
	if _, err := a.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%4 != 0 {
		t.Errorf("archive length %d is not 4-byte aligned", buf.Len())
	}
	cmd := exec.Command("cpio", "-itv", "--quiet")
	cmd.Stdin = bytes.NewReader(buf.Bytes())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cpio -itv: %v", err)
	}
	want := map[string]string{
		"dev":                           "drwxr-xr-x",
		"dev/console":                   "crw-------",
		"init":                          "-rwxr-xr-x",
		"lib":                           "drwxr-xr-x",
		"lib/modules":                   "drwxr-xr-x",
		"lib/modules/6.1.0":             "drwxr-xr-x",
		"lib/modules/6.1.0/kernel":      "drwxr-xr-x",
		"lib/modules/6.1.0/kernel/x.ko": "-rw-r--r--",
		"tmp":                           "drwxrwxrwt",
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		got[f[len(f)-1]] = f[0]
	}
	for name, mode := range want {
		if got[name] != mode {
			t.Errorf("member %s: got mode %q, want %q (cpio listing:\n%s)", name, got[name], mode, out)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d members, want %d:\n%s", len(got), len(want), out)
	}
	cmd = exec.Command("cpio", "-i", "--quiet", "--to-stdout", "lib/modules/6.1.0/kernel/x.ko")
	cmd.Stdin = bytes.NewReader(buf.Bytes())
	content, err := cmd.Output()
	if err != nil {
		t.Fatalf("cpio --to-stdout: %v", err)
	}
	if string(content) != "odd length" {
		t.Errorf("got content %q, want %q", content, "odd length")
	}
}
