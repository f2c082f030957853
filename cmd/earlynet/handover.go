package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/earlynet/earlynet/cmd/internal/nmhandover"
)

// runHandover is
//
//	earlynet handover --check [--root DIR] [--sysfs DIR] [--proc DIR]
//	earlynet handover --write [--root DIR] < state.json
//	earlynet handover --ids [--ifname IF] [--mac MAC] [--machine-id FILE]
//
// --check reads the hand-over state on disk and says, per device,
// whether NetworkManager will adopt it without a flap (exit status 1 when
// a device would not be adopted cleanly). --write records what another
// early-boot tool configured, in NetworkManager's formats. --ids prints
// the DHCP identities NetworkManager will use.
func runHandover(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return handover(args, os.Stdin, stdout, stderr, time.Now())
}

func handover(args []string, stdin io.Reader, stdout, stderr io.Writer, now time.Time) error {
	fs := flag.NewFlagSet("earlynet handover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check", false, "report whether NetworkManager will adopt each configured device")
	write := fs.Bool("write", false, "record the JSON state read from standard input for NetworkManager")
	ids := fs.Bool("ids", false, "print NetworkManager's DHCP client-id, IAID and DUID")
	root := fs.String("root", "/", "root directory holding run/NetworkManager")
	sysfs := fs.String("sysfs", "/sys", "sysfs mount to map ifindexes to interfaces (\"\" skips)")
	proc := fs.String("proc", "/proc", "procfs whose net/ipv6_route shows the devices' routes (\"\" skips)")
	ifname := fs.String("ifname", "", "--ids: interface name")
	mac := fs.String("mac", "", "--ids: hardware address")
	machineID := fs.String("machine-id", "/etc/machine-id", "--ids: machine-id file of the real root")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("handover: unexpected argument %q", fs.Arg(0))}
	}
	switch {
	case *check && !*write && !*ids:
		return handoverCheck(nmhandover.Checker{Root: *root, Sysfs: *sysfs, Proc: *proc, Now: now}, stdout, stderr)
	case *write && !*check && !*ids:
		return handoverWrite(stdin, *root, stderr)
	case *ids && !*check && !*write:
		return handoverIDs(stdout, *ifname, *mac, *machineID)
	}
	return usageError{"handover: give exactly one of --check, --write, --ids"}
}

func handoverCheck(c nmhandover.Checker, stdout, stderr io.Writer) error {
	findings, err := c.Check()
	if err != nil {
		return fmt.Errorf("handover check under %s: %w", c.Root, err)
	}
	if len(findings) == 0 {
		fmt.Fprintln(stdout, "no device was handed over (run/NetworkManager/devices is empty)")
		return nil
	}
	failed := 0
	for _, f := range findings {
		fmt.Fprintln(stdout, f)
		if !f.OK() {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "earlynet: handover: %d of %d devices would not be adopted cleanly\n", failed, len(findings))
		return exitError{1}
	}
	return nil
}
