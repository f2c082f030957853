package linkup

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestIsPCIAddr(t *testing.T) {
	for s, want := range map[string]bool{
		"0000:00:03.0": true, "0000:3b:00.1": true, "virtio0": false,
		"0000:00:03": false, "0000:0g:03.0": false, "pci0000:00": false,
	} {
		if got := isPCIAddr(s); got != want {
			t.Errorf("isPCIAddr(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestIDPathAndDriver: a fake sysfs tree shaped like a virtio NIC behind
// a PCI function, and a virtual device without a device link.
func TestIDPathAndDriver(t *testing.T) {
	root := t.TempDir()
	dev := filepath.Join(root, "devices/pci0000:00/0000:00:03.0/virtio0")
	drv := filepath.Join(root, "bus/virtio/drivers/virtio_net")
	for _, d := range []string{dev, drv, filepath.Join(root, "class/net/enfake3"), filepath.Join(root, "class/net/veth0")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(dev, filepath.Join(root, "class/net/enfake3/device")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(drv, filepath.Join(dev, "driver")); err != nil {
		t.Fatal(err)
	}
	l := New(nil, root, "/proc", nil)
	if got := l.idPath("enfake3"); got != "pci-0000:00:03.0" {
		t.Errorf("idPath(enfake3) = %q, want pci-0000:00:03.0", got)
	}
	if got := l.idPath("veth0"); got != "" {
		t.Errorf("idPath(veth0) = %q, want empty", got)
	}
	// No such interface in this process's namespace, so the ethtool
	// query fails and the sysfs link answers.
	if got := l.driver("enfake3"); got != "virtio_net" {
		t.Errorf("driver(enfake3) = %q, want virtio_net", got)
	}
}

func TestSysctlSkipsEqualValue(t *testing.T) {
	proc := t.TempDir()
	dir := filepath.Join(proc, "sys/net/ipv6/conf/eth0")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "disable_ipv6")
	if err := os.WriteFile(path, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Unix(1_000_000_000, 0)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	l := New(nil, "/sys", proc, nil)
	if err := l.Sysctl("ipv6", "eth0", "disable_ipv6", "1"); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); !st.ModTime().Equal(old) {
		t.Errorf("equal value was written (mtime %v)", st.ModTime())
	}
	if err := l.Sysctl("ipv6", "../x", "disable_ipv6", "1"); err == nil {
		t.Error("interface name with '/' accepted")
	}
	if err := l.Sysctl("ipv6", "eth0", "disable_ipv6", "0"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "0" {
		t.Errorf("after write: got %q, want 0", b)
	}
}
