package integration

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestHoFlaps checks the live test's flap detector on ip monitor lines as
// iproute2 prints them (continuation lines already joined), so that a
// detector that sees nothing cannot pass the live cases by accident.
func TestHoFlaps(t *testing.T) {
	events := []string{
		"2: hoc0    inet 192.0.2.133/24 scope global dynamic noprefixroute hoc0 valid_lft 3600sec preferred_lft 3600sec",
		"default via 192.0.2.1 dev hoc0 proto dhcp src 192.0.2.133 metric 100",
		"2: hoc0@if3: <BROADCAST,MULTICAST> mtu 1500 qdisc noqueue state DOWN group default link/ether 02:00:00:00:00:c1 brd ff:ff:ff:ff:ff:ff",
		"Deleted 2: hoc0    inet6 2001:db8:1::ff:fe00:c1/64 scope global dynamic valid_lft 3600sec preferred_lft 3600sec",
		"Deleted default via fe80::1 dev hoc0 proto ra metric 1024 hoplimit 64 pref medium",
		"Deleted 5: hoc01    inet 198.51.100.9/24 scope global hoc01",
		"4: vethho0@cniho0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff",
	}
	want := []string{
		"link event: " + events[2],
		events[3],
		events[4],
	}
	if diff := cmp.Diff(want, hoFlaps(events, "hoc0")); diff != "" {
		t.Errorf("hoFlaps(hoc0) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"link event: " + events[6]}, hoFlaps(events, "vethho0")); diff != "" {
		t.Errorf("hoFlaps(vethho0) (-want +got):\n%s", diff)
	}
}
