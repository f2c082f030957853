package initrd

import (
	"strconv"
	"strings"

	"github.com/earlynet/earlynet/profiles"
)

type znetIfname struct {
	name, key string
	used      bool
}

// parseZnetIfname handles rd.znet_ifname=<ifname>:<subchannels>.
func (r *reader) parseZnetIfname(val string) {
	f := newFields(val)
	name, ok := f.next(':')
	if !ok {
		r.warn("rd.znet_ifname= without argument")
		return
	}
	key := f.rest()
	for i := range r.znetIfnames {
		if r.znetIfnames[i].key == key {
			r.warn("duplicate rd.znet_ifname for ifname=%s", name)
			r.znetIfnames[i].name = name
			return
		}
	}
	r.znetIfnames = append(r.znetIfnames, znetIfname{name: name, key: key})
}

// s390Options are the keys NetworkManager accepts in
// ethernet.s390-options.
var s390Options = map[string]bool{
	"bridge_role": true, "broadcast_mode": true, "buffer_count": true,
	"canonical_macaddr": true, "checksumming": true, "ctcprot": true,
	"fake_broadcast": true, "inter": true, "inter_jumbo": true,
	"ipato_add4": true, "ipato_add6": true, "ipato_enable": true,
	"ipato_invert4": true, "ipato_invert6": true, "isolation": true,
	"lancmd_timeout": true, "large_send": true, "layer2": true,
	"portname": true, "portno": true, "priority_queueing": true,
	"protocol": true, "route4": true, "route6": true, "rxip_add4": true,
	"rxip_add6": true, "sniffer": true, "total": true, "vipa_add4": true,
	"vipa_add6": true,
}

// applyZnets handles the collected rd.znet= tokens: s390 subchannels and
// options on the profile of the device they name.
func (r *reader) applyZnets() {
	counts := map[bool]int{}
	for _, z := range r.znets {
		r.tok = z.tok
		r.applyZnet(z.val, counts)
	}
	r.tok = ""
	for _, zi := range r.znetIfnames {
		if !zi.used {
			r.warn("Mismatch between rd.znet_ifname and rd.znet")
			break
		}
	}
}

func (r *reader) applyZnet(val string, counts map[bool]int) {
	items := strings.Split(val, ",")
	if len(items) < 3 || items[1] == "" || items[2] == "" {
		return
	}
	nettype := items[0]
	subch, opts := items[1:3], items[3:]
	// Only qeth devices have a third subchannel; nm-initrd-generator takes
	// one for lcs too and so swallows an option.
	if nettype == "qeth" && len(opts) > 0 {
		subch, opts = items[1:4], items[4:]
	}
	ctc := nettype == "ctc"
	name := r.znetName(subch, ctc, counts)
	e := r.reg.get(name)
	if e == nil {
		return
	}
	eth := ensureEthernet(e.p)
	eth.S390NetType = nettype
	eth.S390Subchannels = append([]string(nil), subch...)
	for _, o := range opts {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			continue
		}
		setS390Option(eth, k, v)
	}
}

func setS390Option(eth *profiles.Ethernet, k, v string) {
	valid := s390Options[k] && len(v) >= 1 && len(v) <= 200
	if k == "bridge_role" {
		valid = v == "primary" || v == "secondary" || v == "none"
	}
	out := eth.S390Options[:0]
	for _, kv := range eth.S390Options {
		if kv.Key != k {
			out = append(out, kv)
		}
	}
	eth.S390Options = out
	if valid {
		eth.S390Options = append(eth.S390Options, profiles.KV{Key: k, Value: v})
	}
}

// znetName finds the interface name of a z device: from rd.znet_ifname,
// or the predictable name (enc<id>, slc<id>), or ethN/ctcN with
// net.ifnames=0.
func (r *reader) znetName(subch []string, ctc bool, counts map[bool]int) string {
	n := counts[ctc]
	counts[ctc]++
	key := strings.Join(subch, ",")
	for i := range r.znetIfnames {
		if zi := &r.znetIfnames[i]; zi.key == key && !zi.used {
			zi.used = true
			return zi.name
		}
	}
	if r.ifnamesOff {
		if ctc {
			return "ctc" + strconv.Itoa(n)
		}
		return "eth" + strconv.Itoa(n)
	}
	prefix := "enc"
	if ctc {
		prefix = "slc"
	}
	id := strings.TrimLeft(subch[0], ".0")
	if id == "" {
		id = subch[0][len(subch[0])-1:]
	}
	return prefix + id
}

// parseGlobalDNS handles rd.net.dns=<server>.
func (r *reader) parseGlobalDNS(val string) {
	if err := validDNSURI(val); err != nil {
		r.warn("rd.net.dns: invalid server '%s': %v", val, err)
		return
	}
	r.globalDNS = append(r.globalDNS, val)
}

func (r *reader) parseDNSBackend(val string) {
	switch val {
	case "none", "default", "systemd-resolved", "dnsmasq", "dnsconfd":
		r.dnsBackend = val
	default:
		r.warn("rd.net.dns-backend: invalid value '%s'", val)
	}
}

func (r *reader) parseDNSResolveMode(val string) {
	switch val {
	case "backup", "prefer", "exclusive":
		r.dnsMode = val
	default:
		r.warn("rd.net.dns-resolve-mode: invalid value '%s'", val)
	}
}
