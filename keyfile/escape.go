package keyfile

import (
	"strings"
)

// escapeValue escapes a string value as GKeyFile's g_key_file_set_string
// does: backslash, newline, tab and carriage return, and leading spaces
// (all of them, as "\s") so that they survive the reader's trimming.
func escapeValue(s string) string {
	return escape(s, false)
}

// escapeListItem escapes one element of a string list
// (g_key_file_set_string_list): like escapeValue, and the list separator ;
// as "\;".
func escapeListItem(s string) string {
	return escape(s, true)
}

func escape(s string, list bool) string {
	var b strings.Builder
	leading := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' && leading:
			b.WriteString(`\s`)
			continue
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == ';' && list:
			b.WriteString(`\;`)
		default:
			b.WriteByte(c)
		}
		leading = false
	}
	return b.String()
}

// unescapeValue reverses escapeValue. Unknown escapes are kept verbatim, as
// GKeyFile does for the reader's benefit.
func unescapeValue(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 's':
			b.WriteByte(' ')
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\\':
			b.WriteByte('\\')
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// splitList splits a GKeyFile list value at unescaped ';' and unescapes
// each element. A trailing separator does not make an empty element.
func splitList(s string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && s[i+1] == ';':
			cur.WriteByte(';')
			i++
		case c == '\\' && i+1 < len(s):
			cur.WriteByte(c)
			cur.WriteByte(s[i+1])
			i++
		case c == ';':
			out = append(out, unescapeValue(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() > 0 {
		out = append(out, unescapeValue(cur.String()))
	}
	return out
}

// joinList writes a GKeyFile list: every element followed by ';'.
func joinList(items []string) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString(escapeListItem(it))
		b.WriteByte(';')
	}
	return b.String()
}
