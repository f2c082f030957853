package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/earlynet/earlynet/integration/e2e/report"
)

// impl is the network stage under test: earlynet, or NetworkManager's own
// initrd mode as the reference.
type impl struct {
	name        string
	earlynet    bool
	json        bool                             // prints a JSON report on stdout
	unavailable func() string                    // why it cannot run here, or ""
	prepare     func(s *vmSpec, upArgs []string) // puts its "up" commands (and files) into the spec
}

func earlynetImpl() impl {
	return impl{
		name: "earlynet up", earlynet: true, json: true,
		unavailable: func() string { return "" },
		prepare: func(s *vmSpec, upArgs []string) {
			argv := append([]string{"/usr/bin/earlynet", "up", "--json"}, upArgs...)
			// EARLYNET_E2E_UP_ARGS adds flags for debugging, e.g. -v.
			argv = append(argv, strings.Fields(os.Getenv("EARLYNET_E2E_UP_ARGS"))...)
			up := report.Command{Name: "up", Argv: argv, TimeoutSec: 90}
			s.Commands = append([]report.Command{up}, s.Commands...)
		},
	}
}

// NetworkManager 1.42 as Debian installs it.
const (
	nmDaemon    = "/usr/sbin/NetworkManager"
	nmGenerator = "/usr/lib/NetworkManager/nm-initrd-generator"
)

// nmConf is the configuration of tools/bench's nm-initrd runs: keyfiles
// only, no connectivity check, DNS and hostname left alone.
const nmConf = `[main]
plugins=keyfile
no-auto-default=*
hostname-mode=none
rc-manager=unmanaged
dhcp=internal

[connectivity]
enabled=false
`

func nmImpl() impl {
	return impl{
		name: "NetworkManager initrd",
		unavailable: func() string {
			for _, p := range []string{nmDaemon, nmGenerator} {
				if _, err := os.Stat(p); err != nil {
					return fmt.Sprintf("NetworkManager's initrd mode needs %s (apt-get install network-manager): %v", p, err)
				}
			}
			return ""
		},
		prepare: func(s *vmSpec, _ []string) {
			s.UdevDB = true
			s.Copy = map[string]string{nmDaemon: nmDaemon, nmGenerator: nmGenerator}
			for _, bin := range []string{nmDaemon, nmGenerator} {
				for guest, host := range sharedLibs(bin) {
					s.Copy[guest] = host
				}
			}
			files := map[string]string{
				"etc/e2e/nm.conf": nmConf,
				"etc/NetworkManager/system-connections/.keep": "",
				"var/lib/NetworkManager/.keep":                "",
			}
			for k, v := range s.Files {
				files[k] = v
			}
			s.Files = files
			gen := report.Command{Name: "generator", TimeoutSec: 30,
				Argv: append([]string{nmGenerator, "--"}, strings.Fields(s.Cmdline)...)}
			up := report.Command{Name: "up", TimeoutSec: 90, Env: []string{"NM_CONFIG_ENABLE_TAG=initrd"},
				Argv: []string{nmDaemon, "--configure-and-quit=initrd", "--debug", "--config=/etc/e2e/nm.conf",
					"--config-dir=/run/NetworkManager/conf.d", "--system-config-dir=/etc/e2e/nm-empty",
					"--intern-config=/run/NetworkManager/NetworkManager-intern.conf",
					"--state-file=/run/NetworkManager/NetworkManager.state", "--pid-file=/run/NetworkManager/NetworkManager.pid"}}
			s.Commands = append([]report.Command{gen, up}, s.Commands...)
		},
	}
}

// sharedLibs maps the guest paths of bin's shared libraries (as ldd names
// them, the loader included) to the host files.
func sharedLibs(bin string) map[string]string {
	out, err := exec.Command("ldd", bin).Output()
	libs := map[string]string{}
	if err != nil {
		return libs
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		var p string
		switch {
		case len(f) >= 3 && f[1] == "=>":
			p = f[2]
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			p = f[0]
		}
		if !strings.HasPrefix(p, "/") {
			continue
		}
		host, err := filepath.EvalSymlinks(p)
		if err != nil {
			continue
		}
		libs[p] = host
	}
	return libs
}
