package report

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	serial := "[    1.234] virtio_net virtio0 eth0: renamed\r\n" +
		`E2E {"kind":"modules","loaded":["virtio_net"]}` + "\r\n" +
		"[    2.000] random: crng init done\r\n" +
		`E2E {"kind":"cmd","cmd":{"name":"up","argv":["earlynet","up"],"exit":0,"stdout":"{}","stderr":"","start_ms":10,"end_ms":20}}` + "\n" +
		`E2E {"kind":"cmd","cmd":{"name":"up"` + "\n" + // cut by a kernel message
		`E2E {"kind":"state","state":{"hostname":"h","links":null,"addrs":[{"dev":"eth0","cidr":"192.0.2.5/24","scope":"global","dynamic":true,"valid_lft":3600}],"routes":null,"rules":null,"files":{}}}` + "\n" +
		"E2E-DONE\r\n"
	c := Parse([]byte(serial))
	if !c.Done {
		t.Error("got Done false, want true")
	}
	if len(c.Bad) != 1 {
		t.Errorf("got bad lines %q, want the one cut record", c.Bad)
	}
	if diff := cmp.Diff([]string{"virtio_net"}, c.Kind("modules").Loaded); diff != "" {
		t.Errorf("modules (-want +got):\n%s", diff)
	}
	want := &CmdResult{Name: "up", Argv: []string{"earlynet", "up"}, Stdout: "{}", StartMS: 10, EndMS: 20}
	if diff := cmp.Diff(want, c.Cmd("up")); diff != "" {
		t.Errorf("cmd up (-want +got):\n%s", diff)
	}
	wantAddrs := []Addr{{Dev: "eth0", CIDR: "192.0.2.5/24", Scope: "global", Dynamic: true, ValidLft: 3600}}
	if diff := cmp.Diff(wantAddrs, c.State().Addrs); diff != "" {
		t.Errorf("state addrs (-want +got):\n%s", diff)
	}
	if c.Cmd("absent") != nil {
		t.Error("got a result for a command that never ran")
	}
}
