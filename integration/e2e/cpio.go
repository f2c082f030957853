// Package e2e boots earlynet on a real Linux kernel under QEMU: it packs an
// initramfs (no root needed), sets up a network namespace with taps, dnsmasq
// and metadata fakes, boots the VM and parses what the guest prints.
//
// The tests run only with EARLYNET_E2E=1 (make e2e); see README.md.
package e2e

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// cpio file types and the newc magic (see the kernel's
// Documentation/driver-api/early-userspace/buffer-format.rst).
const (
	modeDir  = 0o040000
	modeFile = 0o100000
	modeChar = 0o020000
	newcHdr  = "070701"
)

// entry is one archive member. Data is the file content; Rdev the device
// numbers of a character device.
type entry struct {
	Name         string
	Mode         uint32
	Data         []byte
	Major, Minor uint32
}

// archive collects the members of an initramfs. Parent directories are
// added on demand: the kernel skips files whose directory is missing.
type archive struct {
	entries map[string]entry
}

func newArchive() *archive { return &archive{entries: map[string]entry{}} }

// file adds a regular file.
func (a *archive) file(name string, perm uint32, data []byte) {
	a.add(entry{Name: name, Mode: modeFile | perm, Data: data})
}

// dir adds a directory.
func (a *archive) dir(name string, perm uint32) {
	a.add(entry{Name: name, Mode: modeDir | perm})
}

// charDev adds a character device node such as /dev/console (5, 1).
func (a *archive) charDev(name string, perm, major, minor uint32) {
	a.add(entry{Name: name, Mode: modeChar | perm, Major: major, Minor: minor})
}

func (a *archive) add(e entry) {
	e.Name = strings.TrimPrefix(path.Clean("/"+e.Name), "/")
	for d := path.Dir(e.Name); d != "." && d != "/"; d = path.Dir(d) {
		if _, ok := a.entries[d]; !ok {
			a.entries[d] = entry{Name: d, Mode: modeDir | 0o755}
		}
	}
	a.entries[e.Name] = e
}

// WriteTo writes the archive in newc format: directories before their
// contents (sorted names give that), then the trailer.
func (a *archive) WriteTo(w io.Writer) (int64, error) {
	names := make([]string, 0, len(a.entries))
	for n := range a.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	cw := &countWriter{w: bufio.NewWriterSize(w, 1<<20)}
	for i, n := range names {
		writeEntry(cw, a.entries[n], uint32(i+1))
	}
	writeEntry(cw, entry{Name: "TRAILER!!!"}, 0)
	if cw.err == nil {
		cw.err = cw.w.(*bufio.Writer).Flush()
	}
	if cw.err != nil {
		return cw.n, fmt.Errorf("write cpio archive: %w", cw.err)
	}
	return cw.n, nil
}

func writeEntry(cw *countWriter, e entry, ino uint32) {
	nlink := uint32(1)
	if e.Mode&modeDir != 0 {
		nlink = 2
	}
	fields := []uint32{
		ino, e.Mode, 0, 0, nlink, 0, uint32(len(e.Data)),
		0, 0, // dev major, minor
		e.Major, e.Minor, // rdev
		uint32(len(e.Name) + 1), 0, // name size with NUL, check
	}
	var hdr strings.Builder
	hdr.WriteString(newcHdr)
	for _, f := range fields {
		fmt.Fprintf(&hdr, "%08X", f)
	}
	hdr.WriteString(e.Name)
	hdr.WriteByte(0)
	cw.write([]byte(hdr.String()))
	cw.pad()
	cw.write(e.Data)
	cw.pad()
}

// countWriter keeps the offset for 4-byte alignment and the first error.
type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	m, err := c.w.Write(b)
	c.n += int64(m)
	c.err = err
}

func (c *countWriter) pad() {
	if r := c.n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}
