// Package report is the protocol between the e2e host test and the guest
// init: the configuration the host packs into the initramfs, and the records
// the guest prints on the serial console, one JSON object a line after the
// Prefix, so kernel messages in between do no harm.
package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// ConfigPath is where the guest init finds its Config in the initramfs.
const ConfigPath = "/etc/e2e/config.json"

// Prefix starts every record line; Done is the last line before power-off.
const (
	Prefix = "E2E "
	Done   = "E2E-DONE"
)

// Config tells the guest init what to do.
type Config struct {
	Modules  []Module  `json:"modules"`
	NICs     int       `json:"nics"`     // device-backed links to wait for
	Commands []Command `json:"commands"` // run in order
	Dump     []string  `json:"dump"`     // files or directories to print
	// UdevDB writes /run/udev/data/n<ifindex> for every NIC, as udev
	// would after its coldplug: NetworkManager waits for that record before
	// it manages a device, and this initramfs runs no udev.
	UdevDB bool `json:"udev_db,omitempty"`
}

// Module is a .ko path in the initramfs and its parameters.
type Module struct {
	Path   string `json:"path"`
	Params string `json:"params,omitempty"`
}

// Command is a program the guest runs, killed after TimeoutSec.
type Command struct {
	Name       string   `json:"name"`
	Argv       []string `json:"argv"`
	Env        []string `json:"env,omitempty"` // added to PATH and HOME
	TimeoutSec int      `json:"timeout_sec"`
}

// Record is one line the guest prints. Kind says which fields are set.
type Record struct {
	Kind string `json:"kind"` // "modules", "links", "cmd", "state"

	// modules
	Loaded       []string `json:"loaded,omitempty"`
	ModuleErrors []string `json:"module_errors,omitempty"`

	// links: what the guest saw before running any command
	Links []Link `json:"links,omitempty"`

	// cmd
	Cmd *CmdResult `json:"cmd,omitempty"`

	// state: the kernel's view after the commands
	State *State `json:"state,omitempty"`
}

// Link is a network interface as netlink and sysfs show it.
type Link struct {
	Name      string `json:"name"`
	Index     int    `json:"index"`
	MAC       string `json:"mac"`
	Kind      string `json:"kind,omitempty"` // bond, bridge, vlan; empty for NICs
	Driver    string `json:"driver,omitempty"`
	PCIPath   string `json:"pci_path,omitempty"` // udev ID_PATH, pci-0000:00:05.0
	Master    string `json:"master,omitempty"`
	OperState string `json:"operstate"`
	MTU       int    `json:"mtu"`
	VlanID    int    `json:"vlan_id,omitempty"`
	Parent    string `json:"parent,omitempty"`
}

// CmdResult is how a command ended and what it printed. Times are the
// guest's CLOCK_BOOTTIME in milliseconds.
type CmdResult struct {
	Name      string   `json:"name"`
	Argv      []string `json:"argv"`
	Exit      int      `json:"exit"` // -1 when it could not start or was killed
	Killed    bool     `json:"killed"`
	StartErr  string   `json:"start_err,omitempty"`
	Stdout    string   `json:"stdout"`
	Stderr    string   `json:"stderr"`
	StartMS   float64  `json:"start_ms"`
	EndMS     float64  `json:"end_ms"`
	FirstV4MS float64  `json:"first_v4_ms,omitempty"` // first global IPv4 address seen on netlink
	FirstV6MS float64  `json:"first_v6_ms,omitempty"` // first global IPv6 address seen on netlink
}

// State is the kernel's network configuration and the dumped files.
type State struct {
	Hostname string            `json:"hostname"`
	Links    []Link            `json:"links"`
	Addrs    []Addr            `json:"addrs"`
	Routes   []Route           `json:"routes"`
	Rules    []Rule            `json:"rules"`
	Files    map[string]string `json:"files"`
}

// Addr is an address on a link.
type Addr struct {
	Dev      string `json:"dev"`
	CIDR     string `json:"cidr"`
	Scope    string `json:"scope"`
	Dynamic  bool   `json:"dynamic"` // finite valid lifetime
	ValidLft int    `json:"valid_lft"`
}

// Route is a route in any table.
type Route struct {
	Table    int    `json:"table"`
	Type     string `json:"type"` // unicast, local, ...
	Dst      string `json:"dst"`  // "default" for 0.0.0.0/0 and ::/0
	Gw       string `json:"gw,omitempty"`
	Dev      string `json:"dev,omitempty"`
	Src      string `json:"src,omitempty"`
	Protocol int    `json:"protocol"`
	Metric   int    `json:"metric"`
	Family   int    `json:"family"`
}

// Rule is a policy routing rule.
type Rule struct {
	Priority       int    `json:"priority"`
	Family         int    `json:"family"`
	Src            string `json:"src,omitempty"`
	Dst            string `json:"dst,omitempty"`
	Table          int    `json:"table"`
	SuppressPrefix int    `json:"suppress_prefixlength"` // -1 when unset
}

// Console is what the host read back from one boot.
type Console struct {
	Records []Record
	Done    bool     // the guest reached E2E-DONE
	Bad     []string // E2E lines that did not parse
}

// Parse reads the serial output: record lines, the done marker, anything
// else (kernel messages) ignored. CRs from the serial line are dropped.
func Parse(serial []byte) Console {
	var c Console
	sc := bufio.NewScanner(bytes.NewReader(serial))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		i := strings.Index(line, Prefix)
		switch {
		case strings.HasSuffix(line, Done):
			c.Done = true
		case i >= 0:
			var r Record
			if err := json.Unmarshal([]byte(line[i+len(Prefix):]), &r); err != nil {
				c.Bad = append(c.Bad, fmt.Sprintf("%.200s: %v", line, err))
				continue
			}
			c.Records = append(c.Records, r)
		}
	}
	return c
}

// Cmd returns the result of the named command, or nil.
func (c Console) Cmd(name string) *CmdResult {
	for _, r := range c.Records {
		if r.Kind == "cmd" && r.Cmd != nil && r.Cmd.Name == name {
			return r.Cmd
		}
	}
	return nil
}

// State returns the last state record, or nil.
func (c Console) State() *State {
	var s *State
	for _, r := range c.Records {
		if r.Kind == "state" {
			s = r.State
		}
	}
	return s
}

// Kind returns the first record of a kind, or nil.
func (c Console) Kind(kind string) *Record {
	for i := range c.Records {
		if c.Records[i].Kind == kind {
			return &c.Records[i]
		}
	}
	return nil
}
