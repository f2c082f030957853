// Package dmi reads the firmware's description of the machine (SMBIOS, in
// sysfs) and says which cloud it runs on, without a network request: both
// earlynet (to decide whether to start earlynet-cloud at all) and
// earlynet-cloud use it.
package dmi

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/earlynet/earlynet/metadata"
)

// Read returns the DMI strings under sysfs (normally /sys); a missing
// file is an empty string (no DMI on this machine or architecture).
func Read(sysfs string) metadata.DMI {
	get := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(sysfs, "class/dmi/id", name))
		return strings.TrimSpace(string(b))
	}
	return metadata.DMI{
		SysVendor:       get("sys_vendor"),
		ProductName:     get("product_name"),
		BoardVendor:     get("board_vendor"),
		BIOSVendor:      get("bios_vendor"),
		ChassisAssetTag: get("chassis_asset_tag"),
	}
}

// Provider resolves a --provider/--cloud value: "auto" detects from DMI,
// "none" (and auto off-cloud) is no provider, any other value must name
// one.
func Provider(name, sysfs string) (metadata.Provider, bool, error) {
	switch name {
	case "none", "":
		return metadata.Provider{}, false, nil
	case "auto":
		p, ok := metadata.Detect(Read(sysfs))
		return p, ok, nil
	}
	p, ok := metadata.Lookup(name)
	if !ok {
		var names []string
		for _, q := range metadata.Providers() {
			names = append(names, q.Name)
		}
		return p, false, fmt.Errorf("unknown provider %q (want auto, none, %s)", name, strings.Join(names, ", "))
	}
	return p, true, nil
}
