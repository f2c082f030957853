package e2e

import (
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestModuleOrder(t *testing.T) {
	// A cut of Debian 12's modules.dep (6.1.0-56-amd64).
	tree := fstest.MapFS{
		"modules.dep": {Data: []byte(`kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/net/core/failover.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/net/8021q/8021q.ko: kernel/net/802/garp.ko kernel/net/802/mrp.ko kernel/net/802/stp.ko kernel/net/llc/llc.ko
kernel/net/802/garp.ko: kernel/net/802/stp.ko kernel/net/llc/llc.ko
kernel/net/802/mrp.ko:
kernel/net/802/stp.ko: kernel/net/llc/llc.ko
kernel/net/llc/llc.ko:
kernel/net/bridge/bridge.ko: kernel/net/802/stp.ko kernel/net/llc/llc.ko
kernel/drivers/net/bonding/bonding.ko: kernel/net/tls/tls.ko
kernel/net/tls/tls.ko:
`)},
		"modules.builtin": {Data: []byte("kernel/drivers/virtio/virtio.ko\nkernel/net/packet/af_packet.ko\n")},
	}
	tests := []struct {
		name  string
		names []string
		want  []module
		err   bool
	}{
		{
			name:  "virtio before its users",
			names: []string{"virtio_pci", "virtio-net"},
			want: []module{
				{Path: "kernel/drivers/virtio/virtio_pci_modern_dev.ko"},
				{Path: "kernel/drivers/virtio/virtio_pci_legacy_dev.ko"},
				{Path: "kernel/drivers/virtio/virtio_pci.ko"},
				{Path: "kernel/net/core/failover.ko"},
				{Path: "kernel/drivers/net/net_failover.ko"},
				{Path: "kernel/drivers/net/virtio_net.ko"},
			},
		},
		{
			name:  "shared deps once, params kept",
			names: []string{"8021q", "bridge", "bonding:max_bonds=0", "virtio", "af_packet"},
			want: []module{
				{Path: "kernel/net/llc/llc.ko"},
				{Path: "kernel/net/802/stp.ko"},
				{Path: "kernel/net/802/mrp.ko"},
				{Path: "kernel/net/802/garp.ko"},
				{Path: "kernel/net/8021q/8021q.ko"},
				{Path: "kernel/net/bridge/bridge.ko"},
				{Path: "kernel/net/tls/tls.ko"},
				{Path: "kernel/drivers/net/bonding/bonding.ko", Params: "max_bonds=0"},
			},
		},
		{name: "unknown", names: []string{"no_such_mod"}, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := moduleOrder(tree, tt.names)
			if (err != nil) != tt.err {
				t.Fatalf("got error %v, want error: %v", err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("got order (-want +got):\n%s", diff)
			}
		})
	}
}
