package main

import (
	"bytes"
	"context"
	"errors"
	"io"
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
			args = append(args, "--root", root, "--sysfs", filepath.Join(root, "sys"), "--proc", "")
			var out, errb bytes.Buffer
			err := handover(args, strings.NewReader(""), &out, &errb, time.Unix(1000, 0))
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
	if !errors.As(err, &ue) || !strings.Contains(ue.msg, "--check, --write, --ids") {
		t.Fatalf("run(handover) = %v, want the usage error of the handover command", err)
	}
}

// TestHandoverWrite: JSON in, NetworkManager's files out, and --check
// agrees that NM adopts them.
func TestHandoverWrite(t *testing.T) {
	root := writeTree(t, map[string]string{
		"run/NetworkManager/system-connections/eth0.nmconnection": "[connection]\nid=eth0\nuuid=" + hoUUID +
			"\ntype=ethernet\ninterface-name=eth0\n\n[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n",
		"sys/class/net/eth0/ifindex": "2\n",
	})
	in := `{"devices":[{"ifindex":2,"ifname":"eth0","uuid":"` + hoUUID + `","mac":"02:00:00:00:00:c1","route_metric":100,
	  "dhcp4":{"address":"192.0.2.133/24","router":"192.0.2.1","server_id":"192.0.2.1","lease_time_s":3600,"obtained_unix":1000}}],
	  "dns":{"servers":["192.0.2.53"]}}`
	var out, errb bytes.Buffer
	if err := handover([]string{"--write", "--root", root}, strings.NewReader(in), &out, &errb, time.Unix(1000, 0)); err != nil {
		t.Fatalf("--write: %v; %s", err, errb.String())
	}
	state, err := os.ReadFile(filepath.Join(root, "run/NetworkManager/devices/2"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"managed=true\n", "connection-uuid=" + hoUUID + "\n", "route-metric-default-effective=100\n",
		"dhcp4.dhcp_client_identifier=01:02:00:00:00:00:c1\n", "dhcp4.expiry=4600\n"} {
		if !strings.Contains(string(state), want) {
			t.Errorf("state file lacks %q:\n%s", want, state)
		}
	}
	err = handover([]string{"--check", "--root", root, "--sysfs", filepath.Join(root, "sys"), "--proc", ""}, nil, &out, &errb, time.Unix(2000, 0))
	if err != nil {
		t.Errorf("--check after --write: %v\n%s", err, out.String())
	}
	in6 := `{"devices":[{"ifindex":2,"ifname":"eth0","uuid":"` + hoUUID + `","dhcp6":{"addresses":["2001:db8:1::77"],"duid":"00:04:01","iaid":"2b:50:67:35"}}]}`
	if err := handover([]string{"--write", "--root", root}, strings.NewReader(in6), &out, &errb, time.Unix(1000, 0)); err != nil {
		t.Fatalf("--write dhcp6: %v", err)
	}
	state, _ = os.ReadFile(filepath.Join(root, "run/NetworkManager/devices/2"))
	if want := "[dhcp6]\ndhcp6.dhcp6_client_id=00:04:01\ndhcp6.iaid=2b:50:67:35\ndhcp6.ip6_address=2001:db8:1::77\n"; !strings.HasSuffix(string(state), want) {
		t.Errorf("state file does not end in %q:\n%s", want, state)
	}
	bad6 := `{"devices":[{"ifindex":2,"ifname":"eth0","uuid":"` + hoUUID + `","dhcp6":{"iaid":"01:02"}}]}`
	if err := handover([]string{"--write", "--root", root}, strings.NewReader(bad6), &out, &errb, time.Unix(0, 0)); err == nil ||
		!strings.Contains(err.Error(), `device "eth0": dhcp6 iaid "01:02"`) {
		t.Errorf("short IAID: got %v, want an error naming the device and value", err)
	}
	bad := `{"devices":[{"ifindex":2,"ifname":"eth0","uuid":"` + hoUUID + `","mac":"zz"}]}`
	if err := handover([]string{"--write", "--root", root}, strings.NewReader(bad), &out, &errb, time.Unix(0, 0)); err == nil ||
		!strings.Contains(err.Error(), `device "eth0": mac`) {
		t.Errorf("bad MAC: got %v, want an error naming the device and field", err)
	}
}

// TestHandoverIDs uses NetworkManager 1.42.4's test-core.c vector for
// "eth0" (IAID 2b:50:67:35).
func TestHandoverIDs(t *testing.T) {
	root := writeTree(t, map[string]string{"machine-id": "cbc22e47418e402aa7b30dea928394ef\n"})
	var out bytes.Buffer
	err := handover([]string{"--ids", "--ifname", "eth0", "--mac", "02:00:00:00:00:c1", "--machine-id", filepath.Join(root, "machine-id")},
		nil, &out, io.Discard, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := "iaid=2b:50:67:35\ndhcp4-client-id=01:02:00:00:00:00:c1\ndhcp6-duid=00:04:9f:31:04:51:86:99:72:c4:82:26:47:08:da:5d:5e:c7\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
