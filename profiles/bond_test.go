package profiles

import "testing"

// The cases were checked against nm-initrd-generator 1.42.4's warnings.
func TestCheckBondOption(t *testing.T) {
	tests := []struct {
		k, v, want, err string
	}{
		{"mode", "6", "balance-alb", ""},
		{"mode", "active-backup", "active-backup", ""},
		{"mode", "7", "", "invalid value '7' for option 'mode'"},
		{"mode", "", "", "invalid value '' for option 'mode'"},
		{"miimon", "05", "05", ""},
		{"miimon", "-1", "", "invalid value '-1' for option 'miimon'"},
		{"miimon", "+5", "", "invalid value '+5' for option 'miimon'"},
		{"miimon", "0x10", "", "invalid value '0x10' for option 'miimon'"},
		{"miimon", "2147483648", "", "invalid value '2147483648' for option 'miimon'"},
		{"lp_interval", "0", "", "invalid value '0' for option 'lp_interval'"},
		{"num_grat_arp", "256", "", "invalid value '256' for option 'num_grat_arp'"},
		{"arp_validate", "6", "6", ""},
		{"arp_validate", "7", "", "invalid value '7' for option 'arp_validate'"},
		{"xmit_hash_policy", "vlan+srcmac", "vlan+srcmac", ""},
		{"xmit_hash_policy", "6", "", "invalid value '6' for option 'xmit_hash_policy'"},
		{"use_carrier", "2", "", "invalid value '2' for option 'use_carrier'"},
		{"primary", "a/b", "", "invalid value 'a/b' for option 'primary'"},
		{"primary", "eth0", "eth0", ""},
		{"ad_actor_system", "00:11:22:33:44:55", "00:11:22:33:44:55", ""},
		{"arp_ip_target", "", "", "'arp_ip_target' option is empty"},
		{"arp_ip_target", "10.0.0.1,10.0.0.2", "10.0.0.1,10.0.0.2", ""},
		{"arp_ip_target", "[10.0.0.1]", "", "'[10.0.0.1]' is not a valid IPv4 address for 'arp_ip_target' option"},
		{"ns_ip6_target", "fc08::1", "", "invalid option 'ns_ip6_target'"},
		{"arp_missed_max", "3", "", "invalid option 'arp_missed_max'"},
		{"MODE", "1", "", "invalid option 'MODE'"},
	}
	for _, tt := range tests {
		got, err := CheckBondOption(tt.k, tt.v)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tt.want || gotErr != tt.err {
			t.Errorf("CheckBondOption(%q, %q) = %q, %q; want %q, %q", tt.k, tt.v, got, gotErr, tt.want, tt.err)
		}
	}
}

func TestValidIfname(t *testing.T) {
	for _, s := range []string{"eth0", "enp0s31f6", "bond0.100", "a", "123456789012345", "ib0.8004"} {
		if !ValidIfname(s) {
			t.Errorf("ValidIfname(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"", ".", "..", "a/b", "a:b", "a b", "1234567890123456", "tab\there", "nl\n", "del\x7f"} {
		if ValidIfname(s) {
			t.Errorf("ValidIfname(%q) = true, want false", s)
		}
	}
}
