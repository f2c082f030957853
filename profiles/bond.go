package profiles

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// bondKind says how a bond option's value is checked.
type bondKind int

const (
	bondInt    bondKind = iota // decimal integer in [min, max]
	bondEnum                   // one of names, or its index in [min, max]
	bondIfname                 // an interface name
	bondMAC                    // an Ethernet address
	bondIPv4                   // comma-separated IPv4 addresses
)

type bondOption struct {
	kind     bondKind
	min, max int64
	names    []string
}

// bondOptions is NetworkManager 1.42's bond option table (nm-setting-bond.c).
// Options added later (ns_ip6_target, arp_missed_max, balance_slb) are
// absent on purpose: a 1.42 daemon would refuse a profile that has them.
var bondOptions = map[string]bondOption{
	"active_slave":      {kind: bondIfname},
	"ad_actor_sys_prio": {kind: bondInt, min: 1, max: 65535},
	"ad_actor_system":   {kind: bondMAC},
	"ad_select":         {kind: bondEnum, max: 2, names: []string{"stable", "bandwidth", "count"}},
	"ad_user_port_key":  {kind: bondInt, max: 1023},
	"all_slaves_active": {kind: bondInt, max: 1},
	"arp_all_targets":   {kind: bondEnum, max: 1, names: []string{"any", "all"}},
	"arp_interval":      {kind: bondInt, max: math.MaxInt32},
	"arp_ip_target":     {kind: bondIPv4},
	"arp_validate": {kind: bondEnum, max: 6, names: []string{"none", "active", "backup", "all",
		"filter", "filter_active", "filter_backup"}},
	"downdelay":     {kind: bondInt, max: math.MaxInt32},
	"fail_over_mac": {kind: bondEnum, max: 2, names: []string{"none", "active", "follow"}},
	"lacp_rate":     {kind: bondEnum, max: 1, names: []string{"slow", "fast"}},
	"lp_interval":   {kind: bondInt, min: 1, max: math.MaxInt32},
	"miimon":        {kind: bondInt, max: math.MaxInt32},
	"min_links":     {kind: bondInt, max: math.MaxInt32},
	"mode": {kind: bondEnum, max: 6, names: []string{"balance-rr", "active-backup", "balance-xor",
		"broadcast", "802.3ad", "balance-tlb", "balance-alb"}},
	"num_grat_arp":      {kind: bondInt, max: 255},
	"num_unsol_na":      {kind: bondInt, max: 255},
	"packets_per_slave": {kind: bondInt, max: 65535},
	"peer_notif_delay":  {kind: bondInt, max: math.MaxInt32},
	"primary":           {kind: bondIfname},
	"primary_reselect":  {kind: bondEnum, max: 2, names: []string{"always", "better", "failure"}},
	"resend_igmp":       {kind: bondInt, max: 255},
	"tlb_dynamic_lb":    {kind: bondInt, max: 1},
	"updelay":           {kind: bondInt, max: math.MaxInt32},
	"use_carrier":       {kind: bondInt, max: 1},
	"xmit_hash_policy": {kind: bondEnum, max: 5, names: []string{"layer2", "layer3+4", "layer2+3",
		"encap2+3", "encap3+4", "vlan+srcmac"}},
}

// CheckBondOption validates one bond option as NetworkManager does and
// returns the value to store: the mode is stored by name even when given by
// number, other values unchanged. Errors use NetworkManager's wording.
func CheckBondOption(k, v string) (string, error) {
	o, ok := bondOptions[k]
	if !ok {
		return "", fmt.Errorf("invalid option '%s'", k)
	}
	if o.kind == bondIPv4 {
		if err := checkIPv4List(k, v); err != nil {
			return "", err
		}
		return v, nil
	}
	bad := fmt.Errorf("invalid value '%s' for option '%s'", v, k)
	switch o.kind {
	case bondInt:
		if _, ok := decimalIn(v, o.min, o.max); !ok {
			return "", bad
		}
	case bondEnum:
		if n, ok := decimalIn(v, o.min, o.max); ok {
			if k == "mode" {
				return o.names[n], nil
			}
			return v, nil
		}
		for _, name := range o.names {
			if v == name {
				return v, nil
			}
		}
		return "", bad
	case bondIfname:
		if !ValidIfname(v) {
			return "", bad
		}
	case bondMAC:
		if !validMAC(v, 6) {
			return "", bad
		}
	}
	return v, nil
}

// decimalIn parses v as plain decimal digits (no sign, no base prefix)
// within [min, max].
func decimalIn(v string, min, max int64) (int64, bool) {
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n >= min && n <= max
}

func checkIPv4List(k, v string) error {
	if v == "" {
		return fmt.Errorf("'%s' option is empty", k)
	}
	for _, s := range strings.Split(v, ",") {
		if a, err := netip.ParseAddr(s); err != nil || !a.Is4() {
			return fmt.Errorf("'%s' is not a valid IPv4 address for '%s' option", s, k)
		}
	}
	return nil
}
