package dmi

import (
	"os"
	"path/filepath"
	"testing"
)

func writeDMI(t *testing.T, files map[string]string) string {
	t.Helper()
	sysfs := t.TempDir()
	dir := filepath.Join(sysfs, "class/dmi/id")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for k, v := range files {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return sysfs
}

func TestProvider(t *testing.T) {
	ec2 := writeDMI(t, map[string]string{"sys_vendor": "Amazon EC2", "product_name": "m5.large"})
	gce := writeDMI(t, map[string]string{"product_name": "Google Compute Engine"})
	azure := writeDMI(t, map[string]string{"chassis_asset_tag": "7783-7084-3265-9085-8269-3286-77"})
	qemu := writeDMI(t, map[string]string{"sys_vendor": "QEMU", "product_name": "Standard PC (i440FX + PIIX, 1996)"})
	none := t.TempDir()
	for _, tc := range []struct {
		name, sysfs, want string
		ok                bool
	}{
		{"auto", ec2, "ec2", true},
		{"auto", gce, "gce", true},
		{"auto", azure, "azure", true},
		{"auto", qemu, "", false},
		{"auto", none, "", false},
		{"none", ec2, "", false},
		{"oci", qemu, "oci", true},
	} {
		p, ok, err := Provider(tc.name, tc.sysfs)
		if err != nil || ok != tc.ok || p.Name != tc.want {
			t.Errorf("Provider(%q) on %s = %q, %v, %v; want %q, %v", tc.name, tc.sysfs, p.Name, ok, err, tc.want, tc.ok)
		}
	}
	if _, _, err := Provider("ec3", ec2); err == nil {
		t.Error("Provider(\"ec3\") gave no error")
	}
}
