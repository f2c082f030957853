package keyfile

// EscapeValue escapes a single string value as g_key_file_set_string
// does, for callers that build Groups for Format by hand (device state
// files, whose values can come from a DHCP server).
func EscapeValue(s string) string { return escapeValue(s) }

// UnescapeValue undoes EscapeValue (and GKeyFile's other escapes) for a
// value returned by Parse.
func UnescapeValue(s string) string { return unescapeValue(s) }
