package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/earlynet/earlynet/integration/e2e/report"
)

// TestDracut builds an initramfs with Debian's dracut and the earlynet
// dracut module (cmd/earlynet/dist/dracut/95earlynet), boots it and checks
// that dracut's own init ran earlynet up from the module's hook. A
// pre-mount hook added for the test prints the guest's state and powers off.
func TestDracut(t *testing.T) {
	h := newHarness(t)
	if _, err := exec.LookPath("dracut"); err != nil {
		t.Skip("dracut not installed (apt-get install dracut-core; the dracut package itself conflicts with initramfs-tools)")
	}
	for _, v := range []struct {
		name    string
		modules string
		systemd bool
	}{
		// dracut's shell init: the module's initqueue/settled hook.
		{"shell-init", "base earlynet", false},
		// systemd in the initramfs: earlynet-initrd.service.
		{"systemd", "systemd systemd-initrd dracut-systemd base earlynet", true},
	} {
		t.Run(v.name, func(t *testing.T) {
			img := buildDracut(t, h, v.modules, v.systemd)
			r := h.run(t, vmSpec{
				NICs: []nic{{Seg: 0}}, V6: map[int]string{0: "slaac"}, Initrd: img,
				Cmdline: "root=e2e ip=dhcp rd.neednet=1 rd.shell=0 rd.retry=30 rd.udev.log_level=err",
			})
			checkDracutBoot(t, h, r, v.systemd)
		})
	}
}

// checkDracutBoot: the module's hooks or unit ran earlynet up, which
// brought eth0 up and left its profile for NetworkManager.
func checkDracutBoot(t *testing.T, h *harness, r bootResult, systemd bool) {
	st := r.Console.State()
	if st == nil {
		t.Fatal("the report step printed no state")
	}
	if _, ok := st.Files["/run/earlynet/neednet"]; !ok {
		t.Errorf("the module's cmdline hook did not see rd.neednet=1 (no /run/earlynet/neednet); files: %v", keys(st.Files))
	}
	why := h.missing(featUp)
	if systemd {
		// The unit logs to the journal and the console, not to a file.
		if why != "" {
			t.Skipf("dracut image with systemd built and booted; %s; the network checks run once that is merged", why)
		}
	} else {
		upLog, ran := st.Files["/run/earlynet/up.log"]
		if !ran {
			t.Fatalf("the module's initqueue hook did not run earlynet up (no /run/earlynet/up.log); files: %v", keys(st.Files))
		}
		if why != "" {
			t.Skipf("dracut image built and booted, its hook ran earlynet (stderr %q); %s; the network checks run once that is merged",
				strings.TrimSpace(upLog), why)
		}
		var rep map[string]any
		if err := json.Unmarshal([]byte(st.Files["/run/earlynet/up.json"]), &rep); err != nil {
			t.Errorf("/run/earlynet/up.json is not a JSON report: %v; stderr: %s", err, upLog)
		}
	}
	wantAddr(t, st, "eth0", leaseAddr(0, 5)+"/24", true)
	wantRoute(t, st, report.Route{Table: 254, Dst: "default", Gw: "192.0.2.1", Dev: "eth0"})
	wantProfiles(t, st, 1)
}

// buildDracut runs dracut with a module directory made of the system's
// modules plus the repository's earlynet module, and the test's report
// hook included.
func buildDracut(t *testing.T, h *harness, modules string, systemd bool) string {
	t.Helper()
	dir := t.TempDir()
	base := filepath.Join(dir, "dracut")
	if err := os.MkdirAll(filepath.Join(base, "modules.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	sys := "/usr/lib/dracut"
	ents, err := os.ReadDir(sys)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != "modules.d" {
			symlink(t, filepath.Join(sys, e.Name()), filepath.Join(base, e.Name()))
		}
	}
	mods, _ := os.ReadDir(filepath.Join(sys, "modules.d"))
	for _, m := range mods {
		symlink(t, filepath.Join(sys, "modules.d", m.Name()), filepath.Join(base, "modules.d", m.Name()))
	}
	module, err := filepath.Abs(filepath.Join(distDir, "dracut/95earlynet"))
	if err != nil {
		t.Fatal(err)
	}
	symlink(t, module, filepath.Join(base, "modules.d/95earlynet"))

	inc := filepath.Join(dir, "include")
	cfg, _ := json.Marshal(report.Config{NICs: 1, Dump: []string{"/run/earlynet", "/run/NetworkManager"}})
	files := map[string]string{
		"etc/e2e/config.json": string(cfg),
		// There is no root file system: the report step powers off first.
		// root=e2e only gets dracut's init past its root check.
		"usr/lib/dracut/hooks/cmdline/95-e2e-root.sh": "[ \"$root\" = e2e ] && rootok=1\n",
	}
	if !systemd {
		// The shell init runs pre-mount hooks once the initqueue, which
		// waits for earlynet, is done.
		files["usr/lib/dracut/hooks/pre-mount/99-e2e-report.sh"] = "/usr/bin/e2e-guestinit -report\n"
	} else {
		// With systemd the report runs as a unit after earlynet's, before
		// anything waits for the (absent) root device.
		files["etc/systemd/system/e2e-report.service"] = "[Unit]\nDefaultDependencies=no\n" +
			"After=earlynet-initrd.service dracut-cmdline.service systemd-udev-trigger.service\n" +
			"[Service]\nType=oneshot\nExecStart=/usr/bin/e2e-guestinit -report\n" +
			"StandardOutput=tty\nStandardError=tty\nTTYPath=/dev/console\n"
	}
	for p, content := range files {
		mode := os.FileMode(0o755)
		if strings.HasSuffix(p, ".service") || strings.HasSuffix(p, ".json") {
			mode = 0o644
		}
		writeFile(t, filepath.Join(inc, p), content, mode)
	}
	if systemd {
		wants := filepath.Join(inc, "etc/systemd/system/initrd.target.wants")
		if err := os.MkdirAll(wants, 0o755); err != nil {
			t.Fatal(err)
		}
		symlink(t, "../e2e-report.service", filepath.Join(wants, "e2e-report.service"))
	}
	initBin, err := os.ReadFile(h.init)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(inc, "usr/bin/e2e-guestinit"), string(initBin), 0o755)

	img := filepath.Join(dir, "initramfs-dracut.img")
	cmd := exec.Command("dracut", "--no-hostonly", "--force", "--kver", h.kernel.Release,
		"--modules", modules, "--add-drivers", "virtio_pci virtio_net",
		"--no-compress", "--no-early-microcode", "--include", inc, "/", "--tmpdir", dir, img)
	cmd.Env = append(os.Environ(), "dracutbasedir="+base, "EARLYNET_BINARY="+h.bins["earlynet"])
	if c := h.bins["earlynet-cloud"]; c != "" {
		cmd.Env = append(cmd.Env, "EARLYNET_CLOUD_BINARY="+c)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dracut: %v\n%s", err, tail(out, 4000))
	}
	list, err := exec.Command("lsinitrd", img).Output()
	if err != nil {
		t.Fatalf("lsinitrd %s: %v", img, err)
	}
	want := []string{"usr/bin/earlynet", "hooks/cmdline/99-earlynet-cmdline.sh", "virtio_net.ko", "bonding.ko", "8021q.ko", "bridge.ko"}
	if systemd {
		want = append(want, "initrd.target.wants/earlynet-initrd.service")
	} else {
		want = append(want, "hooks/initqueue/settled/99-earlynet-run.sh")
	}
	for _, want := range want {
		if !strings.Contains(string(list), want) {
			t.Errorf("dracut image has no %s", want)
		}
	}
	if strings.Contains(string(list), "usr/sbin/NetworkManager") {
		t.Errorf("dracut image contains NetworkManager; the earlynet module replaces it")
	}
	return img
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(fmt.Errorf("write %s: %w", p, err))
	}
}
