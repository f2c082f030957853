package keyfile

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/ini.v1"

	"github.com/earlynet/earlynet/profiles"
)

// loadOptions is keyfile's one ini.v1 configuration. GKeyFile has no
// inline comments, quoting, continuation lines or ':' delimiters, so each
// of ini.v1's conveniences for those is switched off: "dns=a;b;" must keep
// everything after the first ';'.
var loadOptions = ini.LoadOptions{
	IgnoreInlineComment:     true,
	PreserveSurroundedQuote: true,
	IgnoreContinuation:      true,
	KeyValueDelimiters:      "=",
	AllowNonUniqueSections:  false,
	SkipUnrecognizableLines: false,
}

// Parse reads key file text into groups, in file order. Values are
// returned as written (still GKeyFile-escaped).
func Parse(data []byte) ([]Group, error) {
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, errors.New("keyfile contains a NUL byte")
	}
	data, err := guardQuotes(data)
	if err != nil {
		return nil, err
	}
	f, err := ini.LoadSources(loadOptions, data)
	if err != nil {
		return nil, err
	}
	var gs []Group
	for _, s := range f.Sections() {
		if s.Name() == ini.DefaultSection {
			if len(s.Keys()) > 0 {
				return nil, fmt.Errorf("key %q outside of any group", s.Keys()[0].Name())
			}
			continue
		}
		g := Group{Name: s.Name()}
		for _, k := range s.Keys() {
			v := strings.TrimPrefix(k.Value(), quoteGuard)
			g.add(k.Name(), strings.TrimSuffix(v, quoteGuard))
		}
		gs = append(gs, g)
	}
	return gs, nil
}

// Decode reads a keyfile into a profile. Keys the typed model does not know
// are kept in Profile.Other, so Encode(Decode(b)) keeps them.
func Decode(data []byte) (*profiles.Profile, error) {
	gs, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("parse keyfile: %w", err)
	}
	p := &profiles.Profile{}
	d := decoder{p: p}
	for _, g := range gs {
		for _, kv := range g.Keys {
			if err := d.set(g.Name, kv.Key, kv.Value); err != nil {
				return nil, fmt.Errorf("[%s] %s=%s: %w", g.Name, kv.Key, kv.Value, err)
			}
		}
		d.group(g.Name)
	}
	if p.Type == "" {
		return nil, fmt.Errorf("keyfile has no connection.type")
	}
	return p, nil
}

type decoder struct {
	p *profiles.Profile
}

// group makes sure an empty group still shows up in the profile.
func (d *decoder) group(name string) {
	p := d.p
	switch name {
	case "ethernet":
		if p.Ethernet == nil {
			p.Ethernet = &profiles.Ethernet{}
		}
	case "infiniband":
		if p.Infiniband == nil {
			p.Infiniband = &profiles.Infiniband{}
		}
	case "vlan":
		if p.VLAN == nil {
			p.VLAN = &profiles.VLAN{}
		}
	case "bond":
		if p.Bond == nil {
			p.Bond = &profiles.Bond{}
		}
	case "bridge":
		if p.Bridge == nil {
			p.Bridge = &profiles.Bridge{}
		}
	case "team":
		p.Team = true
	case "bridge-port":
		p.BridgePort = true
	case "team-port":
		p.TeamPort = true
	case "ipv4":
		if p.IPv4 == nil {
			p.IPv4 = &profiles.IPConfig{}
		}
	case "ipv6":
		if p.IPv6 == nil {
			p.IPv6 = &profiles.IPConfig{}
		}
	}
}

func (d *decoder) set(group, key, raw string) error {
	p := d.p
	switch group {
	case "connection":
		return d.connection(key, raw)
	case "match":
		return d.match(key, raw)
	case "ethernet", "ethernet-s390-options":
		d.group("ethernet")
		return d.ethernet(group, key, raw)
	case "infiniband":
		d.group(group)
		return d.infiniband(key, raw)
	case "vlan":
		d.group(group)
		return d.vlan(key, raw)
	case "bond":
		d.group(group)
		p.Bond.Options = append(p.Bond.Options, profiles.KV{Key: key, Value: unescapeValue(raw)})
		return nil
	case "bridge":
		d.group(group)
		if key == "stp" {
			b, err := parseBool(raw)
			p.Bridge.STP = profiles.Bool(b)
			return err
		}
	case "ipv4", "ipv6":
		d.group(group)
		err := decodeIP(p.IP(group == "ipv6"), key, raw)
		if err != errUnknownKey {
			return err
		}
	case "user":
		p.User = append(p.User, profiles.KV{Key: key, Value: unescapeValue(raw)})
		return nil
	case "proxy":
		if key == "" {
			return nil
		}
	}
	p.Other = append(p.Other, profiles.Setting{Section: group, Key: key, Value: raw})
	return nil
}

func (d *decoder) connection(key, raw string) error {
	p := d.p
	v := unescapeValue(raw)
	var err error
	switch key {
	case "id":
		p.ID = v
	case "uuid":
		p.UUID = v
	case "type":
		p.Type = canonicalType(v)
	case "interface-name":
		p.InterfaceName = v
	case "autoconnect-priority":
		p.AutoconnectPriority, err = strconv.Atoi(v)
	case "autoconnect-retries":
		var n int
		n, err = strconv.Atoi(v)
		p.AutoconnectRetries = profiles.Int(n)
	case "multi-connect":
		p.MultiConnect, err = strconv.Atoi(v)
	case "wait-device-timeout":
		var n int
		n, err = strconv.Atoi(v)
		p.WaitDeviceTimeout = profiles.Int(n)
	case "master", "controller":
		p.Controller = v
	case "slave-type", "port-type":
		p.PortType = v
	default:
		p.Other = append(p.Other, profiles.Setting{Section: "connection", Key: key, Value: raw})
	}
	return err
}

// canonicalType maps the long setting names NetworkManager also accepts
// in connection.type to the keyfile aliases it writes.
func canonicalType(t string) string {
	switch t {
	case "802-3-ethernet":
		return profiles.TypeEthernet
	}
	return t
}

func (d *decoder) match(key, raw string) error {
	m := &d.p.Match
	l := splitList(raw)
	switch key {
	case "interface-name":
		m.InterfaceName = l
	case "driver":
		m.Driver = l
	case "path":
		m.Path = l
	case "kernel-command-line":
		m.KernelCommandLine = l
	default:
		d.p.Other = append(d.p.Other, profiles.Setting{Section: "match", Key: key, Value: raw})
	}
	return nil
}

func (d *decoder) ethernet(group, key, raw string) error {
	e := d.p.Ethernet
	v := unescapeValue(raw)
	if group == "ethernet-s390-options" {
		e.S390Options = append(e.S390Options, profiles.KV{Key: key, Value: v})
		return nil
	}
	var err error
	switch key {
	case "mac-address":
		e.MACAddress = v
	case "cloned-mac-address":
		e.ClonedMACAddress = v
	case "mtu":
		e.MTU, err = parseUint32(v)
	case "auto-negotiate":
		e.AutoNegotiate, err = parseBool(v)
	case "speed":
		e.Speed, err = parseUint32(v)
	case "duplex":
		e.Duplex = v
	case "s390-nettype":
		e.S390NetType = v
	case "s390-subchannels":
		e.S390Subchannels = splitList(raw)
	default:
		d.p.Other = append(d.p.Other, profiles.Setting{Section: group, Key: key, Value: raw})
	}
	return err
}

func (d *decoder) infiniband(key, raw string) error {
	ib := d.p.Infiniband
	v := unescapeValue(raw)
	var err error
	switch key {
	case "mac-address":
		ib.MACAddress = v
	case "mtu":
		ib.MTU, err = parseUint32(v)
	case "transport-mode":
		ib.TransportMode = v
	case "p-key":
		var n int
		n, err = strconv.Atoi(v)
		ib.PKey = profiles.Int(n)
	case "parent":
		ib.Parent = v
	default:
		d.p.Other = append(d.p.Other, profiles.Setting{Section: "infiniband", Key: key, Value: raw})
	}
	return err
}

func (d *decoder) vlan(key, raw string) error {
	vl := d.p.VLAN
	v := unescapeValue(raw)
	var err error
	switch key {
	case "id":
		vl.ID, err = parseUint32(v)
	case "parent":
		vl.Parent = v
	case "flags":
		vl.Flags, err = parseUint32(v)
	default:
		d.p.Other = append(d.p.Other, profiles.Setting{Section: "vlan", Key: key, Value: raw})
	}
	return err
}

func parseUint32(s string) (uint32, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	return uint32(n), err
}

// parseBool reads GKeyFile booleans ("true"/"false", and NetworkManager's
// "1"/"0", "yes"/"no").
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", s)
}

// quoteGuard is put before values that start with '`' or '"""', which
// ini.v1 always reads as quoted (multi-line) strings, and after values that
// end in white space, which ini.v1 trims; GKeyFile reads both literally.
// Parse removes it again. Keyfiles cannot contain NUL.
const quoteGuard = "\x00"

// guardQuotes prefixes quoteGuard to such values. It refuses the key "-",
// which ini.v1 would turn into a numbered key.
func guardQuotes(data []byte) ([]byte, error) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	for i, l := range lines {
		eq := bytes.IndexByte(l, '=')
		if eq < 0 || bytes.HasPrefix(bytes.TrimLeft(l, " \t"), []byte("#")) {
			continue
		}
		if string(bytes.TrimSpace(l[:eq])) == "-" {
			return nil, fmt.Errorf("line %d: invalid key name %q", i+1, "-")
		}
		v := bytes.TrimLeft(l[eq+1:], " \t")
		body, nl := bytes.CutSuffix(v, []byte("\n"))
		var out []byte
		out = append(out, l[:len(l)-len(v)]...)
		if bytes.HasPrefix(body, []byte("`")) || bytes.HasPrefix(body, []byte(`"""`)) {
			out = append(out, quoteGuard...)
		}
		out = append(out, body...)
		if r, _ := utf8.DecodeLastRune(body); len(body) > 0 && unicode.IsSpace(r) {
			out = append(out, quoteGuard...) // GKeyFile keeps trailing space
		}
		if nl {
			out = append(out, '\n')
		}
		lines[i] = out
	}
	return bytes.Join(lines, nil), nil
}
