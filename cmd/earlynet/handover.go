package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/earlynet/earlynet/cmd/internal/nmhandover"
)

// runHandover is `earlynet handover --check [--root DIR] [--sysfs DIR]`:
// it reads the hand-over state on disk and says, per device, whether
// NetworkManager will adopt it without a flap. Exit status 1 when a
// device would not be adopted cleanly.
func runHandover(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return handoverCheck(args, stdout, stderr, time.Now())
}

func handoverCheck(args []string, stdout, stderr io.Writer, now time.Time) error {
	fs := flag.NewFlagSet("earlynet handover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check", false, "report whether NetworkManager will adopt each configured device")
	root := fs.String("root", "/", "root directory holding run/NetworkManager")
	sysfs := fs.String("sysfs", "/sys", "sysfs mount to map ifindexes to interfaces (\"\" skips)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if !*check {
		return usageError{"handover: --check is required (it is the only mode)"}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("handover: unexpected argument %q", fs.Arg(0))}
	}
	findings, err := nmhandover.Checker{Root: *root, Sysfs: *sysfs, Now: now}.Check()
	if err != nil {
		return fmt.Errorf("handover check under %s: %w", *root, err)
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
