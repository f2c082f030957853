package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const hoUUID = "5b7c1f9e-5a4e-4c1e-9a8e-2f1d3c4b5a60"

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, text := range files {
		path := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestHandoverCheck(t *testing.T) {
	base := map[string]string{
		"run/NetworkManager/system-connections/eth0.nmconnection": "[connection]\nid=eth0\nuuid=" + hoUUID +
			"\ntype=ethernet\ninterface-name=eth0\n\n[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n",
		"run/NetworkManager/devices/2":                          "[device]\nmanaged=true\nconnection-uuid=" + hoUUID + "\n",
		"run/NetworkManager/internal-" + hoUUID + "-eth0.lease": "ADDRESS=192.0.2.133\n",
		"sys/class/net/eth0/ifindex":                            "2\n",
	}
	tests := []struct {
		name     string
		drop     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{name: "adopted", wantCode: 0, wantOut: "ok    eth0 (ifindex 2)"},
		{name: "no lease", drop: "run/NetworkManager/internal-" + hoUUID + "-eth0.lease", wantCode: 1, wantOut: "FAIL  eth0 (ifindex 2)"},
		{name: "no state dir", drop: "run/NetworkManager/devices/2", wantCode: 1, wantOut: "run/NetworkManager/devices is missing"},
		{name: "without --check", args: []string{}, wantCode: 2},
		{name: "stray argument", args: []string{"--check", "x"}, wantCode: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range base {
				if k != tt.drop {
					files[k] = v
				}
			}
			root := writeTree(t, files)
			if tt.drop == "run/NetworkManager/devices/2" {
				os.Remove(filepath.Join(root, "run/NetworkManager/devices"))
			}
			args := tt.args
			if args == nil {
				args = []string{"--check"}
			}
			args = append(args, "--root", root, "--sysfs", filepath.Join(root, "sys"))
			var out, errb bytes.Buffer
			err := handoverCheck(args, &out, &errb, time.Unix(1000, 0))
			if got := exitCode(err, &errb); got != tt.wantCode {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", got, tt.wantCode, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout %q, want it to contain %q", out.String(), tt.wantOut)
			}
		})
	}
}

// TestHandoverDispatch: the subcommand is reachable from the table.
func TestHandoverDispatch(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"earlynet", "handover"}, &out, &errb)
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(ue.msg, "--check") {
		t.Fatalf("run(handover) = %v, want the usage error of the handover command", err)
	}
}
