// Command earlynet-cloud turns a cloud's instance metadata into network
// configuration, the role of nm-cloud-setup: secondary addresses, extra
// interfaces, nm-cloud-setup's policy routing, forwarded IPs and IPv6.
// It writes one NetworkManager profile per interface and, with --apply,
// configures the kernel now.
//
//	earlynet-cloud [--provider auto|ec2|gce|azure|aliyun|oci] [--endpoint URL]
//	               [--sysfs DIR] [--root DIR] [--connections-dir DIR]
//	               [--dry-run] [--apply] [--json] [--timeout D]
//
// It is a separate binary so that earlynet itself links no HTTP client
// (package init of net/http and TLS costs milliseconds at every start);
// `earlynet cloud` and `earlynet up --cloud` execute it only when DMI
// says the machine runs on a cloud.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// usageError makes main exit with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error, stderr io.Writer) int {
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "earlynet-cloud:", ue.msg)
		return 2
	default:
		fmt.Fprintln(stderr, "earlynet-cloud:", err)
		return 1
	}
}

// flags are the command-line options.
type flags struct {
	provider, endpoint string
	sysfs, root, dir   string
	dryRun, apply      bool
	json, version      bool
	timeout            time.Duration
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("earlynet cloud", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.provider, "provider", "auto", "auto (from DMI), none, ec2, gce, azure, aliyun or oci")
	fs.StringVar(&f.endpoint, "endpoint", "", "metadata base URL (default: the provider's, or NM_CLOUD_SETUP_<X>_HOST)")
	fs.StringVar(&f.sysfs, "sysfs", "/sys", "sysfs root (DMI and network devices)")
	fs.StringVar(&f.root, "root", "/", "file-system root the profiles and state are written under")
	fs.StringVar(&f.dir, "connections-dir", "", "profile directory (default ROOT/run/NetworkManager/system-connections)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the plan and change nothing")
	fs.BoolVar(&f.apply, "apply", false, "also configure the kernel now (netlink)")
	fs.BoolVar(&f.json, "json", false, "print a JSON report on stdout")
	fs.BoolVar(&f.version, "version", false, "print the version")
	fs.DurationVar(&f.timeout, "timeout", 20*time.Second, "give up on the metadata service after this long")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if f.timeout <= 0 {
		return nil, usageError{"--timeout must be positive"}
	}
	if f.dir == "" {
		f.dir = filepath.Join(f.root, "run/NetworkManager/system-connections")
	}
	return f, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if f.version {
		fmt.Fprintln(stdout, "earlynet-cloud", version)
		return nil
	}
	r := &cloudRun{f: f, stdout: stdout, stderr: stderr, getenv: getenv, start: time.Now()}
	return r.run(ctx)
}
