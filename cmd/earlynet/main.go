// Command earlynet configures the network in the first seconds of a Linux
// machine's life (initramfs, cloud first boot) and hands it over to
// NetworkManager.
//
//	earlynet initrd [flags] [--] [TOKEN...]   kernel command line to keyfiles
//	earlynet up [flags]                        bring the network up itself
//	earlynet cloud [flags]                     cloud metadata to profiles
//	earlynet handover --check [flags]          will NetworkManager adopt it?
//
// Invoked as nm-initrd-generator (a symlink), it is `earlynet initrd`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one earlynet subcommand.
type command struct {
	name  string
	usage string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists the subcommands in the order help shows them.
func commands() []command {
	return []command{
		{"initrd", "kernel command line to NetworkManager keyfiles (nm-initrd-generator)", runInitrd},
		{"up", "bring the network up from the kernel command line and record it for NetworkManager", runUp},
		{"cloud", "cloud metadata to profiles and, with --apply, the kernel (runs earlynet-cloud)", runCloud},
		{"handover", "check that NetworkManager will adopt what earlynet configured", runHandover},
	}
}

// usageError makes main exit with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitError carries an exit status without another message.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	ctx, stop := context.Background(), func() {}
	if wantsSignals(os.Args) {
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	}
	err := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// wantsSignals tells whether the invocation should cancel its context on
// SIGINT/SIGTERM. The initrd command does not: it finishes in milliseconds,
// an interrupt leaves the old or the new files (renameio, never half of
// one), and NotifyContext's signal-handling thread added about 1.3 ms (10%)
// to its start-up (hyperfine -N, integration/cmd/benchinitrd).
func wantsSignals(argv []string) bool {
	if len(argv) > 0 && filepath.Base(argv[0]) == "nm-initrd-generator" {
		return false
	}
	return len(argv) < 2 || argv[1] != "initrd"
}

func exitCode(err error, stderr io.Writer) int {
	var ue usageError
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "earlynet:", ue.msg)
		return 2
	default:
		fmt.Fprintln(stderr, "earlynet:", err)
		return 1
	}
}

// run dispatches on the program name (nm-initrd-generator) or on the first
// argument.
func run(ctx context.Context, argv []string, stdout, stderr io.Writer) error {
	if len(argv) > 0 && filepath.Base(argv[0]) == "nm-initrd-generator" {
		return runGenerator(ctx, argv[1:], stdout, stderr)
	}
	if len(argv) < 2 {
		printUsage(stderr)
		return usageError{"no command given"}
	}
	name := argv[1]
	switch name {
	case "-h", "--help", "help":
		printUsage(stdout)
		return nil
	case "--version", "version":
		fmt.Fprintln(stdout, "earlynet", version)
		return nil
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, argv[2:], stdout, stderr)
		}
	}
	printUsage(stderr)
	return usageError{fmt.Sprintf("unknown command %q", name)}
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: earlynet COMMAND [flags]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.usage)
	}
}
