package initrd

import (
	"fmt"
	"strings"
)

// Snippet is a NetworkManager configuration file for the run-config
// directory (nm-initrd-generator's -r).
type Snippet struct {
	Name    string // base name, e.g. "15-carrier-timeout.conf"
	Origin  string // the text of the "# Created by ..." comment
	Content string // the file body, without the comment
}

// Text is the snippet as written to disk: origin comment, blank line, body.
func (s Snippet) Text() string {
	return "# Created by " + s.Origin + "\n\n" + s.Content
}

// Snippets returns the configuration files the command line calls for, in
// the order nm-initrd-generator writes them. The carrier timeout snippet is
// always there.
func (r *Result) Snippets() []Snippet {
	out := []Snippet{r.carrierSnippet()}
	if len(r.GlobalDNS) > 0 || r.DNSResolveMode != "" {
		out = append(out, r.globalDNSSnippet())
	}
	if r.DNSBackend != "" {
		out = append(out, Snippet{
			Name:    "16-dns-backend.conf",
			Origin:  `nm-initrd-generator (from "rd.net.dns-backend")`,
			Content: "[main]\ndns=" + r.DNSBackend + "\n",
		})
	}
	return out
}

// carrierSnippet limits the default to the initrd ([.config]
// enable=env:initrd); an explicit rd.net.timeout.carrier also applies on
// the real root, as in nm-initrd-generator.
func (r *Result) carrierSnippet() Snippet {
	s := Snippet{Name: "15-carrier-timeout.conf"}
	body := "[device-15-carrier-timeout]\nmatch-device=*\ncarrier-wait-timeout=%d\n"
	if r.CarrierTimeout > 0 {
		s.Origin = `nm-initrd-generator (from "rd.net.timeout.carrier")`
		s.Content = fmt.Sprintf(body, r.CarrierTimeout*1000)
		return s
	}
	s.Origin = "nm-initrd-generator (default initrd carrier timeout)"
	s.Content = fmt.Sprintf(body, 10000) + "\n[.config]\nenable=env:initrd\n"
	return s
}

func (r *Result) globalDNSSnippet() Snippet {
	var b strings.Builder
	b.WriteString("[global-dns]\n")
	if r.DNSResolveMode != "" {
		b.WriteString("resolve-mode=" + r.DNSResolveMode + "\n")
	}
	if len(r.GlobalDNS) > 0 {
		b.WriteString("\n[global-dns-domain-*]\nservers=" + strings.Join(r.GlobalDNS, ",") + "\n")
	}
	return Snippet{
		Name:    "16-global-dns.conf",
		Origin:  `nm-initrd-generator (from "rd.net.dns" and "rd.net.dns-resolv-mode")`,
		Content: b.String(),
	}
}

// FileName is the file name nm-initrd-generator gives the profile with
// registry key name: '/' becomes '_', a leading '.' and a trailing '~'
// become '_', names that NetworkManager would take for temporary or
// certificate files get a '_' appended, then ".nmconnection".
func FileName(name string) string {
	b := []byte(strings.ReplaceAll(name, "/", "_"))
	if len(b) > 0 && b[0] == '.' {
		b[0] = '_'
	}
	if n := len(b); n > 0 && b[n-1] == '~' {
		b[n-1] = '_'
	}
	s := string(b)
	if looksIgnored(s) {
		s += "_"
	}
	return s + ".nmconnection"
}

// looksIgnored reports names NetworkManager's keyfile plugin skips: ending in
// '.' plus 6 ASCII alphanumerics (a g_file_set_contents temporary), or in
// .pem or .der.
func looksIgnored(s string) bool {
	lower := strings.ToLower(s)
	if strings.HasSuffix(lower, ".pem") || strings.HasSuffix(lower, ".der") {
		return true
	}
	n := len(s)
	if n < 7 || s[n-7] != '.' {
		return false
	}
	for i := n - 6; i < n; i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
