package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// runArgs runs the command as main would, returning the exit status.
func runArgs(t *testing.T, argv ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), argv, &out, &errb)
	return exitCode(err, &errb), out.String(), errb.String()
}

func dirFlags(dir string) []string {
	return []string{
		"-c", filepath.Join(dir, "conn"), "-i", filepath.Join(dir, "initrd"),
		"-r", filepath.Join(dir, "conf"), "-p", filepath.Join(dir, "persist"),
		"-d", filepath.Join(dir, "sys"),
	}
}

// listFiles returns "relative/path mode" for every file under dir.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, _ := d.Info()
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel+" "+info.Mode().Perm().String())
		return nil
	})
	sort.Strings(out)
	return out
}

func TestInitrdWritesFiles(t *testing.T) {
	dir := t.TempDir()
	args := append([]string{"earlynet", "initrd"}, dirFlags(dir)...)
	args = append(args, "--", "ip=192.0.2.2::192.0.2.1:24:node1:eth0:none", "bond=bond0:eth1,eth2", "ip=foo/bar:dhcp")
	code, stdout, stderr := runArgs(t, args...)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	want := []string{
		"conf/15-carrier-timeout.conf -rw-------",
		"conn/bond0.nmconnection -rw-------",
		"conn/eth0.nmconnection -rw-------",
		"conn/eth1.nmconnection -rw-------",
		"conn/eth2.nmconnection -rw-------",
		"initrd/hostname -rw-------",
	}
	if diff := cmp.Diff(want, listFiles(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if !strings.Contains(stderr, "invalid interface 'foo/bar'") {
		t.Errorf("stderr %q does not name the bad interface", stderr)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	host, _ := os.ReadFile(filepath.Join(dir, "initrd", "hostname"))
	if string(host) != "node1\n" {
		t.Errorf("hostname file = %q, want %q", host, "node1\n")
	}
	kf, _ := os.ReadFile(filepath.Join(dir, "conn", "eth0.nmconnection"))
	if !bytes.HasPrefix(kf, []byte("# Created by nm-initrd-generator\n\n[connection]\nid=eth0\n")) {
		t.Errorf("eth0 keyfile starts %q", kf[:min(len(kf), 80)])
	}
}

// TestDroppedProfileOnStdout: a profile NetworkManager would refuse is not
// written; its error goes to stdout and the exit status stays 0.
func TestDroppedProfileOnStdout(t *testing.T) {
	dir := t.TempDir()
	args := append([]string{"earlynet", "initrd"}, dirFlags(dir)...)
	code, stdout, _ := runArgs(t, append(args, "--", "ip=eth0:dhcp6:192.0.2.53")...)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(stdout, "eth0: ipv4.dns: this property is not allowed for 'method=disabled'") {
		t.Errorf("stdout = %q, want the validation error for eth0", stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "conn", "eth0.nmconnection")); !os.IsNotExist(err) {
		t.Errorf("invalid profile was written (stat: %v)", err)
	}
}

func TestGeneratorNameWithoutTokensWritesNothing(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runArgs(t, append([]string{"/usr/lib/NetworkManager/nm-initrd-generator"}, dirFlags(dir)...)...)
	if code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and silence", code, stdout, stderr)
	}
	if files := listFiles(t, dir); len(files) != 0 {
		t.Errorf("wrote %v, want nothing", files)
	}
}

func TestInitrdReadsCmdlineFile(t *testing.T) {
	dir := t.TempDir()
	cmdline := filepath.Join(dir, "cmdline")
	os.WriteFile(cmdline, []byte(`BOOT_IMAGE=/vmlinuz root=UUID=x ro quiet ip=eth0:dhcp "rd.route=198.51.100.0/24:192.0.2.1:eth0"`+"\n"), 0o644)
	code, stdout, stderr := runArgs(t, "earlynet", "initrd", "-s", "--cmdline-file", cmdline)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "*** Connection 'eth0' ***") || !strings.Contains(stdout, "route1=198.51.100.0/24,192.0.2.1\n") {
		t.Errorf("stdout lacks eth0 with its route:\n%s", stdout)
	}
}

func TestInitrdBadFlagExits1(t *testing.T) {
	code, _, stderr := runArgs(t, "earlynet", "initrd", "--no-such-flag")
	if code != 1 || !strings.Contains(stderr, "no-such-flag") {
		t.Errorf("exit %d, stderr %q; want 1 naming the flag", code, stderr)
	}
}

// TestFailedRunKeepsPreviousState: when an output cannot be written, the
// files of the previous run stay as they were and the exit status is 1.
func TestFailedRunKeepsPreviousState(t *testing.T) {
	dir := t.TempDir()
	args := append([]string{"earlynet", "initrd"}, dirFlags(dir)...)
	if code, _, _ := runArgs(t, append(args, "--", "ip=::::old::dhcp")...); code != 0 {
		t.Fatal("first run failed")
	}
	// The run-config directory becomes a file, so the snippets cannot be
	// written; the hostname comes first in the run but must not change.
	conf := filepath.Join(dir, "conf")
	os.RemoveAll(conf)
	os.WriteFile(conf, []byte("not a directory"), 0o644)
	code, _, stderr := runArgs(t, append(args, "--", "ip=::::new::dhcp")...)
	if code != 1 || !strings.Contains(stderr, "conf") {
		t.Errorf("exit %d, stderr %q; want 1 naming the directory", code, stderr)
	}
	host, _ := os.ReadFile(filepath.Join(dir, "initrd", "hostname"))
	if string(host) != "old\n" {
		t.Errorf("hostname = %q, want the previous %q", host, "old\n")
	}
	if files := listFiles(t, filepath.Join(dir, "initrd")); len(files) != 1 {
		t.Errorf("initrd dir holds %v, want only the hostname (no temporaries)", files)
	}
}

// TestKeyfilesLoadInNmcli feeds every written keyfile to NetworkManager's
// own reader (nmcli --offline), which exits non-zero on a file it refuses.
func TestKeyfilesLoadInNmcli(t *testing.T) {
	nmcli, err := exec.LookPath("nmcli")
	if err != nil {
		t.Skip("nmcli not installed (apt-get install network-manager); cannot check that NetworkManager loads the keyfiles")
	}
	dir := t.TempDir()
	args := append([]string{"earlynet", "initrd"}, dirFlags(dir)...)
	runArgs(t, append(args, "--",
		"ip=192.0.2.2::192.0.2.1:24:node1:bond0:none:9000", "bond=bond0:eth1,eth2:mode=802.3ad,miimon=100",
		"vlan=vlan7:eth3", "ip=vlan7:dhcp6", "bridge=br0:eth4", "ip=br0:dhcp", "team=team0:eth5",
		"ib.pkey=ib0.8004", "ip=ib0.8004:dhcp", "rd.route=198.51.100.0/24:192.0.2.1:bond0",
		"rd.znet=qeth,0.0.0800,0.0.0801,0.0.0802,layer2=1", "ip=enc800:dhcp", "rd.ethtool=eth6:on:100",
		"BOOTIF=01-00-53-AB-cd-02-03", "rd.net.dhcp.vendor-class=vendor one")...)
	files, _ := filepath.Glob(filepath.Join(dir, "conn", "*.nmconnection"))
	if len(files) < 12 {
		t.Fatalf("only %d keyfiles written", len(files))
	}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		cmd := exec.Command(nmcli, "--offline", "connection", "modify")
		cmd.Stdin = bytes.NewReader(data)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("nmcli --offline refuses %s: %v\n%s\n%s", filepath.Base(f), err, out, data)
		}
	}
}

func TestSplitCmdline(t *testing.T) {
	got := splitCmdline("a  b=\"c d\" \"e\"f\tg\n")
	want := []string{"a", "b=c d", "ef", "g"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("splitCmdline (-want +got):\n%s", diff)
	}
}

func TestNewUUID(t *testing.T) {
	a, b := newUUID(), newUUID()
	if a == b || len(a) != 36 || a[14] != '4' || !strings.ContainsAny(a[19:20], "89ab") {
		t.Errorf("newUUID() = %q, %q; want two different v4 UUIDs", a, b)
	}
}

func TestWantsSignals(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want bool
	}{
		{[]string{"/usr/bin/earlynet", "initrd", "--", "ip=dhcp"}, false},
		{[]string{"/usr/lib/NetworkManager/nm-initrd-generator", "--", "ip=dhcp"}, false},
		{[]string{"earlynet", "up"}, true},
		{[]string{"earlynet"}, true},
	} {
		if got := wantsSignals(tc.argv); got != tc.want {
			t.Errorf("wantsSignals(%q) = %v, want %v", tc.argv, got, tc.want)
		}
	}
}
