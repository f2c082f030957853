package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/earlynet/earlynet/metadata"
	"github.com/earlynet/earlynet/profiles"
)

// localDevice is an Ethernet interface of this machine.
type localDevice struct {
	Name  string
	MAC   string // lower-case colon form
	Index int    // ifindex; 0 if unknown
}

// localDevices lists the Ethernet interfaces under sysfs (ARPHRD_ETHER,
// type 1), by MAC. Names that could not be interface names are skipped
// with a warning: they would become file names.
func localDevices(sysfs string, warn func(string)) (map[string]localDevice, error) {
	dir := filepath.Join(sysfs, "class/net")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list network devices: %w", err)
	}
	out := map[string]localDevice{}
	for _, e := range ents {
		name := e.Name()
		if !profiles.ValidIfname(name) {
			warn(fmt.Sprintf("device %q skipped: not a valid interface name", name))
			continue
		}
		typ, _ := os.ReadFile(filepath.Join(dir, name, "type"))
		if strings.TrimSpace(string(typ)) != "1" {
			continue
		}
		addr, err := os.ReadFile(filepath.Join(dir, name, "address"))
		if err != nil {
			continue
		}
		mac, err := metadata.NormalizeMAC(string(addr))
		if err != nil || mac == "00:00:00:00:00:00" {
			continue
		}
		idx, _ := os.ReadFile(filepath.Join(dir, name, "ifindex"))
		index, _ := strconv.Atoi(strings.TrimSpace(string(idx)))
		if _, dup := out[mac]; !dup {
			out[mac] = localDevice{Name: name, MAC: mac, Index: index}
		}
	}
	return out, nil
}
