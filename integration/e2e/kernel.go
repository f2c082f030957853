package e2e

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// kernel is the guest kernel: the image QEMU boots and its module tree.
type kernel struct {
	Release string // 6.1.0-56-amd64
	BzImage string // /boot/vmlinuz-...
	Boot    string // what -kernel gets: an extracted vmlinux (PVH) or BzImage
	Modules string // /lib/modules/<release>
}

// findKernel picks the newest /boot/vmlinuz-* that has a module tree, or
// the one EARLYNET_E2E_KERNEL names.
func findKernel(bootDir, modDir string) (kernel, error) {
	images := []string{os.Getenv("EARLYNET_E2E_KERNEL")}
	if images[0] == "" {
		images, _ = filepath.Glob(filepath.Join(bootDir, "vmlinuz-*"))
		sort.Sort(sort.Reverse(sort.StringSlice(images)))
	}
	for _, img := range images {
		rel := strings.TrimPrefix(filepath.Base(img), "vmlinuz-")
		mods := filepath.Join(modDir, rel)
		if _, err := os.Stat(filepath.Join(mods, "modules.dep")); err == nil {
			return kernel{Release: rel, BzImage: img, Boot: img, Modules: mods}, nil
		}
	}
	return kernel{}, fmt.Errorf("no kernel with modules in %s/vmlinuz-* and %s (apt-get install linux-image-amd64)", bootDir, modDir)
}

// extractVmlinux unpacks the xz payload of a Debian bzImage into cacheDir
// once. QEMU boots the ELF through its PVH entry, skipping the firmware and
// decompressor: about 3 s less per boot under TCG (docs/qemu.md). If that
// fails the bzImage is booted as is.
func extractVmlinux(k kernel, cacheDir string) (string, error) {
	out := filepath.Join(cacheDir, "vmlinux-"+k.Release)
	if hasPVHNote(out) {
		return out, nil
	}
	img, err := os.ReadFile(k.BzImage)
	if err != nil {
		return "", fmt.Errorf("read kernel %s: %w", k.BzImage, err)
	}
	off := bytes.Index(img, []byte("\xfd7zXZ\x00"))
	if off < 0 {
		return "", fmt.Errorf("kernel %s: no xz payload", k.BzImage)
	}
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", tmp, err)
	}
	cmd := exec.Command("xz", "-dc", "--single-stream")
	cmd.Stdin, cmd.Stdout = bytes.NewReader(img[off:]), f
	err = cmd.Run()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil || !hasPVHNote(tmp) {
		os.Remove(tmp)
		return "", fmt.Errorf("extract vmlinux from %s: %v (or no PVH entry note)", k.BzImage, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("rename %s: %w", tmp, err)
	}
	return out, nil
}

// hasPVHNote reports whether the ELF file has a Xen note of type 18
// (XEN_ELFNOTE_PHYS32_ENTRY), which QEMU needs to boot it directly.
func hasPVHNote(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		b, err := io.ReadAll(p.Open())
		if err != nil {
			continue
		}
		for len(b) >= 12 {
			le := f.ByteOrder
			nsz, dsz, typ := le.Uint32(b), le.Uint32(b[4:]), le.Uint32(b[8:])
			name := b[12:min(len(b), 12+int(nsz))]
			if typ == 18 && bytes.HasPrefix(name, []byte("Xen")) {
				return true
			}
			adv := 12 + align4(int(nsz)) + align4(int(dsz))
			if adv > len(b) {
				break
			}
			b = b[adv:]
		}
	}
	return false
}

func align4(n int) int { return (n + 3) &^ 3 }
