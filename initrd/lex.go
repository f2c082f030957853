package initrd

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/earlynet/earlynet/profiles"
)

// fields is the rest of an option value being split into fields, as
// NetworkManager's get_word does it.
type fields struct {
	s    string
	done bool // the input is used up: every further field is absent
}

func newFields(s string) *fields { return &fields{s: s} }

// next returns the next field up to sep at bracket depth 0. An empty field
// is absent (ok == false). A field wholly enclosed in one pair of brackets
// ("[fc08::1]") loses them; "[2001:db8::2]/56" keeps them.
func (f *fields) next(sep byte) (field string, ok bool) {
	if f.done {
		return "", false
	}
	depth, firstClose, i := 0, -1, 0
	for ; i < len(f.s); i++ {
		c := f.s[i]
		if c == '[' {
			depth++
		} else if c == ']' && depth > 0 {
			depth--
			if depth == 0 && firstClose < 0 {
				firstClose = i
			}
		} else if c == sep && depth == 0 {
			break
		}
	}
	field = f.s[:i]
	if i < len(f.s) {
		f.s = f.s[i+1:]
	} else {
		f.s, f.done = "", true
	}
	if len(field) >= 2 && field[0] == '[' && firstClose == len(field)-1 {
		field = field[1 : len(field)-1]
	}
	return field, field != ""
}

// rest returns what is left, verbatim.
func (f *fields) rest() string { return f.s }

// empty reports whether nothing is left.
func (f *fields) empty() bool { return f.s == "" }

// parseBool reads a boolean option value; def is returned for an empty or
// unrecognised value.
func parseBool(s string, def bool) bool {
	if v, ok := profiles.ParseBool(s); ok {
		return v
	}
	return def
}

// parseInt reads a decimal integer in [min, max], allowing surrounding
// whitespace and a sign.
func parseInt(s string, min, max int64) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < min || n > max {
		return 0, false
	}
	return n, true
}

// parseAddr accepts strict inet_pton syntax: dotted-quad IPv4 without
// leading zeros, or IPv6 without a zone.
func parseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// parseAddrPrefix reads "addr[/len]" where addr may be bracketed IPv6
// ("[2001:db8::2]/56", "[2001:db8::2/64]"). prefix is -1 when there is no
// valid length: an out of range length is ignored, as NetworkManager does.
func parseAddrPrefix(s string) (a netip.Addr, prefix int, ok bool) {
	s = unbracket(s)
	addr, plen, has := strings.Cut(s, "/")
	addr = unbracket(addr)
	a, ok = parseAddr(addr)
	if !ok {
		return a, -1, false
	}
	prefix = -1
	if has {
		// An unusable length is ignored: the default prefix applies.
		if n, good := parseInt(plen, 0, int64(a.BitLen())); good {
			prefix = int(n)
		}
	}
	return a, prefix, true
}

func unbracket(s string) string {
	if len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' {
		return s[1 : len(s)-1]
	}
	if len(s) >= 1 && s[0] == '[' {
		if i := strings.IndexByte(s, ']'); i > 0 {
			return s[1:i] + s[i+1:]
		}
	}
	return s
}

// validIfname is NetworkManager's interface name rule (1 to 15 bytes, not
// "." or "..", no '/', ':' or white space), tightened by earlynet's own:
// no control characters and valid UTF-8, since names become file names.
func validIfname(s string) bool {
	if s == "" || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '/' || c == ':' || c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// nmValidIfname is NetworkManager's own rule, without earlynet's
// tightening; it tells which names NetworkManager accepts but earlynet
// rejects, so the warning can say so.
func nmValidIfname(s string) bool {
	if s == "" || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	return !strings.ContainsAny(s, "/: \t\n\v\f\r")
}

// parseMAC reads hex octets separated by ':' or '-' (of any length) and
// returns the canonical upper-case, ':'-joined form.
func parseMAC(s string) (string, int, bool) {
	if s == "" {
		return "", 0, false
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == '-' })
	n := strings.Count(s, ":") + strings.Count(s, "-") + 1
	if len(parts) != n || n < 1 || n > 32 {
		return "", 0, false
	}
	var b strings.Builder
	for i, p := range parts {
		if len(p) < 1 || len(p) > 2 {
			return "", 0, false
		}
		v, err := strconv.ParseUint(p, 16, 8)
		if err != nil {
			return "", 0, false
		}
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strings.ToUpper(strconv.FormatUint(v|0x100, 16)[1:]))
	}
	return b.String(), n, true
}

// validHostname is systemd's hostname_is_valid without a trailing dot, as
// NetworkManager uses it for ip='s hostname field.
func validHostname(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// defaultPrefix is the classful prefix NetworkManager gives an IPv4
// address without one, and /64 for IPv6.
func defaultPrefix(a netip.Addr) int {
	if a.Is6() {
		return 64
	}
	switch b := a.As4()[0]; {
	case b < 128:
		return 8
	case b < 192:
		return 16
	}
	return 24
}

// netmaskPrefix counts a dotted-quad mask's bits the way NetworkManager
// does: 32 minus the trailing zero bits, without checking contiguity.
func netmaskPrefix(a netip.Addr) int {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 32
	for v&1 == 0 && n > 0 {
		v >>= 1
		n--
	}
	return n
}
