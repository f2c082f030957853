package profiles

import "strings"

// ParseBool reads a boolean as NetworkManager and GLib's command line and
// configuration readers do (_nm_utils_ascii_str_to_bool): true, yes, on
// or 1 and false, no, off or 0, any case, surrounding white space
// ignored. ok is false for anything else.
func ParseBool(s string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "1":
		return true, true
	case "false", "no", "off", "0":
		return false, true
	}
	return false, false
}
