package keyfile

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode checks that no input makes Decode panic, and that whatever
// it accepts encodes to text that decodes to the same encoding.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/nm142/*.nmconnection")
	for _, fn := range files {
		if data, err := os.ReadFile(fn); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("[connection]\nid=\\sx\\n\ntype=ethernet\n[ipv4]\ndns=192.0.2.1;;\nroute1=198.51.100.0/24,192.0.2.1,5\nroute1_options=table=7\n"))
	f.Add([]byte("k=v\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data)
		if err != nil {
			return
		}
		once := Encode(p)
		q, err := Decode(once)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(x))) failed: %v\ninput:\n%q\nencoded:\n%s", err, data, once)
		}
		if twice := Encode(q); string(twice) != string(once) {
			t.Fatalf("encoding is not stable:\n%s\nvs\n%s", once, twice)
		}
	})
}
