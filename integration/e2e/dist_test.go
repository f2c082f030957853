package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const distDir = "../../cmd/earlynet/dist"

// TestDistUnits checks the systemd units with systemd-analyze verify
// (syntax, known keys, ordering targets, executables). The units name
// /usr/bin/earlynet; the check points them at an executable that exists
// here, since nothing is installed on the host.
func TestDistUnits(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed: cannot verify the units")
	}
	units := []string{
		"systemd/earlynet-cloud.service",
		"systemd/earlynet-cloud.timer",
		"dracut/95earlynet/earlynet-initrd.service",
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var paths []string
	for _, u := range units {
		b, err := os.ReadFile(filepath.Join(distDir, u))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(u, ".service") && !strings.Contains(string(b), "/usr/bin/earlynet ") {
			t.Errorf("%s does not run /usr/bin/earlynet", u)
		}
		p := filepath.Join(dir, filepath.Base(u))
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(b), "/usr/bin/earlynet ", self+" ")), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	out, err := exec.Command("systemd-analyze", append([]string{"verify", "--man=no"}, paths...)...).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	cloud, _ := os.ReadFile(filepath.Join(distDir, "systemd/earlynet-cloud.service"))
	for _, want := range []string{"Before=NetworkManager.service", "WantedBy=NetworkManager.service", "earlynet cloud --apply"} {
		if !strings.Contains(string(cloud), want) {
			t.Errorf("earlynet-cloud.service: no %q", want)
		}
	}
}

// TestDistScripts parses every shell script of the dracut module and the
// dispatcher hook with the shell that runs it.
func TestDistScripts(t *testing.T) {
	scripts := map[string]string{
		"dracut/95earlynet/module-setup.sh":                         "bash",
		"dracut/95earlynet/earlynet-cmdline.sh":                     "sh",
		"dracut/95earlynet/earlynet-run.sh":                         "sh",
		"NetworkManager/dispatcher.d/pre-up.d/90-earlynet-cloud.sh": "sh",
	}
	for s, shell := range scripts {
		p := filepath.Join(distDir, s)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable (mode %v)", s, fi.Mode())
		}
		if out, err := exec.Command(shell, "-n", p).CombinedOutput(); err != nil {
			t.Errorf("%s -n %s: %v\n%s", shell, s, err, out)
		}
	}
}
