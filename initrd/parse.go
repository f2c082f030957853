package initrd

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/earlynet/earlynet/profiles"
)

// reader is the state of one Parse run.
type reader struct {
	env Env
	reg registry
	tok string // the token being read, for warnings

	dflt      *entry
	bootdev   *entry
	explicit  map[*entry]bool // profiles named by an ip= token
	vlanParts []string        // VLAN parents, in order of first appearance
	hostname  string

	// Phase A values, given to every cmdline profile.
	ignoreAutoDNS     bool
	dhcpTimeout       int
	vendorClass       string
	dscp              string
	ipRequiredTimeout int
	carrierTimeout    int
	ifnamesOff        bool

	// Phase B values used in phase C.
	routes      []tokenValue
	nameservers []tokenValue
	znets       []tokenValue
	znetIfnames []znetIfname
	bootif      string
	bootifSet   bool
	bootifTok   string
	bootifOn    bool
	bootdevSpec *string
	bootdevTok  string
	neednet     bool
	globalDNS   []string
	dnsMode     string
	dnsBackend  string

	ibftRead bool
	ibft     []ibftNIC

	warnings []Warning
}

type tokenValue struct{ tok, val string }

// Parse reads kernel command line tokens (one argv element each, used as
// given) and returns the profiles and settings nm-initrd-generator derives
// from them. Nothing makes it fail: bad tokens are warned about and
// skipped, and profiles NetworkManager would refuse are dropped.
func Parse(tokens []string, env Env) *Result {
	r := &reader{env: env, explicit: map[*entry]bool{}, bootifOn: true}
	tokens = r.printable(tokens)
	r.phaseA(tokens)
	for _, t := range tokens {
		r.tok = t
		key, val, _ := strings.Cut(t, "=")
		r.option(key, val)
	}
	r.tok = ""
	r.phaseC()
	return r.result()
}

// printable drops tokens with control characters or invalid UTF-8, which
// no kernel command line option means and which must not reach a file
// name or a keyfile.
func (r *reader) printable(tokens []string) []string {
	out := tokens[:0:0]
	for _, t := range tokens {
		if !utf8.ValidString(t) || strings.ContainsFunc(t, unicode.IsControl) {
			r.tok = ""
			r.warn("Ignoring token with control characters or invalid UTF-8: %q", t)
			continue
		}
		out = append(out, t)
	}
	return out
}

func (r *reader) warn(format string, args ...any) {
	r.warnings = append(r.warnings, Warning{Token: r.tok, Msg: fmt.Sprintf(format, args...)})
}

// phaseA reads the options that apply to every profile, wherever they
// stand on the command line.
func (r *reader) phaseA(tokens []string) {
	timeout, retries := int64(defaultDHCPTimeout), int64(1)
	r.ipRequiredTimeout = defaultRequiredTimeout
	for _, t := range tokens {
		r.tok = t
		key, val, _ := strings.Cut(t, "=")
		switch key {
		case "rd.peerdns":
			r.ignoreAutoDNS = !parseBool(val, true)
		case "rd.net.timeout.dhcp":
			if val == "infinity" {
				timeout = maxInt32
			} else if n, ok := parseInt(val, 1, maxInt32); ok {
				timeout = n
			}
		case "rd.net.dhcp.retry":
			if n, ok := parseInt(val, 1, maxInt32); ok {
				retries = n
			}
		case "rd.net.timeout.ip-required":
			if val == "infinity" {
				r.ipRequiredTimeout = maxInt32
			} else if n, ok := parseInt(val, 0, maxInt32/1000); ok {
				r.ipRequiredTimeout = int(n * 1000)
			}
		case "rd.net.timeout.carrier":
			n, _ := parseInt(val, 0, maxInt32)
			r.carrierTimeout = int(n)
		case "rd.net.dhcp.vendor-class":
			if v, ok := vendorClass(val); ok {
				r.vendorClass = v
			}
		case "rd.net.dhcp.dscp":
			switch val {
			case "CS0", "CS4", "CS6":
				r.dscp = val
			default:
				r.warn("Ignoring 'rd.net.dhcp.dscp=%s': invalid DSCP value (must be CS0, CS4 or CS6)", val)
			}
		case "net.ifnames":
			r.ifnamesOff = val == "0"
		}
	}
	r.dhcpTimeout = int(min(max(timeout*retries, 1), maxInt32))
}

const maxInt32 = 1<<31 - 1

// vendorClass checks rd.net.dhcp.vendor-class: non-empty, at most 255 bytes
// after backslash unescaping, no NUL.
func vendorClass(v string) (string, bool) {
	if v == "" {
		return "", false
	}
	u := unescapeC(v)
	if len(u) > 255 || strings.IndexByte(u, 0) >= 0 {
		return "", false
	}
	return v, true
}

// unescapeC undoes C-style backslash escapes (\n, \t, \\, \xNN, octal).
func unescapeC(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch c := s[i]; c {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v, j := 0, i
			for ; j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7'; j++ {
				v = v*8 + int(s[j]-'0')
			}
			b.WriteByte(byte(v))
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// option handles one phase B token.
func (r *reader) option(key, val string) {
	if strings.EqualFold(key, "BOOTIF") {
		r.bootif, r.bootifSet, r.bootifTok = val, true, r.tok
		return
	}
	switch key {
	case "ip":
		r.parseIP(val)
	case "rd.route":
		r.routes = append(r.routes, tokenValue{r.tok, val})
	case "bridge":
		r.parseController(val, profiles.TypeBridge, "br0")
	case "bond":
		r.parseController(val, profiles.TypeBond, "bond0")
	case "team":
		r.parseController(val, profiles.TypeTeam, "team0")
	case "vlan":
		r.parseVLAN(val)
	case "ib.pkey":
		r.parsePKey(val)
	case "bootdev":
		v := val
		r.bootdevSpec, r.bootdevTok = &v, r.tok
	case "nameserver":
		if val != "" { // an empty value is no field at all, as in NM
			r.nameservers = append(r.nameservers, tokenValue{r.tok, val})
		}
	case "rd.iscsi.ibft":
		if parseBool(val, true) {
			r.readAllFirmware()
		}
	case "rd.bootif":
		r.bootifOn = parseBool(val, true)
	case "rd.neednet":
		r.neednet = parseBool(val, true)
	case "rd.znet":
		r.znets = append(r.znets, tokenValue{r.tok, val})
	case "rd.znet_ifname":
		r.parseZnetIfname(val)
	case "rd.net.dhcp.client-id":
		r.parseClientID(val)
	case "rd.ethtool":
		r.parseEthtool(val)
	case "rd.net.dns":
		r.parseGlobalDNS(val)
	case "rd.net.dns-backend":
		r.parseDNSBackend(val)
	case "rd.net.dns-resolve-mode":
		r.parseDNSResolveMode(val)
	}
}

// phaseC runs the post-processing steps in nm-initrd-generator's order.
func (r *reader) phaseC() {
	r.vlanParents()
	if r.bootifOn && r.bootifSet {
		r.applyBootif()
	}
	r.applyBootdev()
	if r.neednet {
		r.applyNeednet()
	}
	for _, rt := range r.routes {
		r.tok = rt.tok
		r.applyRoute(rt.val)
	}
	for _, ns := range r.nameservers {
		r.tok = ns.tok
		r.applyNameserver(ns.val)
	}
	r.applyZnets()
}

func (r *reader) result() *Result {
	res := &Result{
		Hostname:       r.hostname,
		CarrierTimeout: r.carrierTimeout,
		GlobalDNS:      r.globalDNS,
		DNSResolveMode: r.dnsMode,
		DNSBackend:     r.dnsBackend,
		NeedNet:        r.neednet,
		DHCPTimeout:    r.dhcpTimeout,
	}
	dropped := map[string]bool{}
	for _, e := range r.reg.order {
		normalize(e.p)
		err := e.invalid
		if err == nil {
			err = profiles.Validate(e.p)
		}
		if err != nil {
			res.Dropped = append(res.Dropped, Dropped{Name: e.p.Name, Err: err})
			dropped[e.p.UUID] = true
			continue
		}
		res.Profiles = append(res.Profiles, e.p)
	}
	res.Profiles = dropOrphanPorts(res, dropped)
	res.Warnings = r.warnings
	return res
}

// dropOrphanPorts drops the ports of a controller that was dropped: unlike
// nm-initrd-generator, earlynet does not write ports that can never come
// up.
func dropOrphanPorts(res *Result, dropped map[string]bool) []*profiles.Profile {
	if len(dropped) == 0 {
		return res.Profiles
	}
	var keep []*profiles.Profile
	for _, p := range res.Profiles {
		if p.Controller != "" && dropped[p.Controller] {
			res.Dropped = append(res.Dropped, Dropped{Name: p.Name, Err: fmt.Errorf("connection.master: controller profile was dropped")})
			continue
		}
		keep = append(keep, p)
	}
	return keep
}
