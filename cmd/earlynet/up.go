package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/earlynet/earlynet/cmd/internal/linkup"
	"github.com/earlynet/earlynet/initrd"
	"github.com/earlynet/earlynet/keyfile"
	"github.com/earlynet/earlynet/profiles"
)

// upFlags are the options of earlynet up.
type upFlags struct {
	cmdline, cmdlineFile string
	root, sysfs, proc    string
	timeout              time.Duration
	json, verbose        bool
	cloud                string
	setHostname          bool
	profilesDir          string
}

func (f *upFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.cmdline, "cmdline", "", "kernel command line text (default: read --cmdline-file)")
	fs.StringVar(&f.cmdlineFile, "cmdline-file", "/proc/cmdline", "file holding the kernel command line")
	fs.StringVar(&f.root, "root", "/", "root under which run/NetworkManager/... and etc/resolv.conf are written")
	fs.StringVar(&f.sysfs, "sysfs", "/sys", "sysfs root (firmware tables, drivers, PCI paths, bonding options)")
	fs.StringVar(&f.proc, "proc", "/proc", "procfs root (per-interface sysctls)")
	fs.DurationVar(&f.timeout, "timeout", 0, "overall limit; 0 uses the profiles' own timeouts")
	fs.BoolVar(&f.json, "json", false, "print a JSON report of what was done on stdout")
	fs.BoolVar(&f.verbose, "v", false, "log decisions on stderr")
	fs.StringVar(&f.cloud, "cloud", "none", "after the lease, run earlynet-cloud --apply: auto, none or a provider name")
	fs.StringVar(&f.profilesDir, "profiles", "", "also activate the keyfiles (*.nmconnection) in this directory")
	fs.BoolVar(&f.setHostname, "set-hostname", false, "also set the kernel host name (the UTS namespace of this process)")
}

// runUp is `earlynet up`: read the command line, build the profiles
// `earlynet initrd` builds, activate them on the matching devices of this
// network namespace, and record what was done for NetworkManager.
func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	var f upFlags
	fset := flag.NewFlagSet("up", flag.ContinueOnError)
	fset.SetOutput(stderr)
	f.register(fset)
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if fset.NArg() > 0 {
		return usageError{fmt.Sprintf("up: unexpected argument %q", fset.Arg(0))}
	}
	if f.cmdline != "" && isSet(fset, "cmdline-file") {
		return usageError{"up: --cmdline and --cmdline-file exclude each other"}
	}
	logger := slog.New(slog.DiscardHandler)
	if f.verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{
			Level: slog.LevelDebug,
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey { // microseconds: the phases are that short
					return slog.String(slog.TimeKey, a.Value.Time().Format("15:04:05.000000"))
				}
				return a
			},
		}))
	}
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	u, err := newUpRun(f, start, logger, stderr)
	if err != nil {
		return err
	}
	defer u.close()
	rep, runErr := u.run(ctx)
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	return runErr
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// upRun is one execution of earlynet up.
type upRun struct {
	f       upFlags
	start   time.Time
	log     *slog.Logger
	stderr  io.Writer
	h       *netlink.Handle
	links   *linkup.Links
	clock   realClock
	tokens  []string
	res     *initrd.Result
	report  *upReport
	machine []byte   // /etc/machine-id under --root, for the DHCPv6 DUID
	created []string // links earlynet created
}

func newUpRun(f upFlags, start time.Time, logger *slog.Logger, stderr io.Writer) (*upRun, error) {
	tokens, err := upTokens(f)
	if err != nil {
		return nil, err
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open rtnetlink: %w", err)
	}
	logf := func(format string, args ...any) { logger.Debug(fmt.Sprintf(format, args...)) }
	u := &upRun{
		f: f, start: start, log: logger, stderr: stderr, h: h, tokens: tokens,
		links:  linkup.New(h, f.sysfs, f.proc, logf),
		report: &upReport{},
	}
	if id, err := os.ReadFile(filepath.Join(f.root, "etc/machine-id")); err == nil {
		u.machine = []byte(strings.TrimSpace(string(id)))
	}
	return u, nil
}

func (u *upRun) close() { u.h.Close() }

func upTokens(f upFlags) ([]string, error) {
	if f.cmdline != "" {
		return splitCmdline(f.cmdline), nil
	}
	return readCmdline(f.cmdlineFile)
}

// stableUUIDs returns a UUID source that yields the same sequence for the
// same command line: a second run, or the real root's NetworkManager
// reading files a previous run left, sees the same UUIDs.
func stableUUIDs(tokens []string) func() string {
	seed := sha256.Sum256([]byte(strings.Join(tokens, "\x00")))
	n := 0
	return func() string {
		n++
		b := sha256.Sum256(fmt.Appendf(seed[:], "/%d", n))
		return profiles.UUIDv4([16]byte(b[:16]))
	}
}

// run does the work and always returns a report; the error lists every
// device that failed, one per line.
func (u *upRun) run(ctx context.Context) (*upReport, error) {
	rep := u.report
	phase := u.phaser()
	u.res = initrd.Parse(u.tokens, initrd.Env{
		SysFS:               os.DirFS(u.f.sysfs),
		PersistentDirExists: exists(filepath.Join(u.f.root, "etc/NetworkManager/system-connections")),
		NewUUID:             stableUUIDs(u.tokens),
	})
	for _, w := range u.res.Warnings {
		fmt.Fprintf(u.stderr, "earlynet: warning: %s\n", w)
		rep.Warnings = append(rep.Warnings, w.String())
	}
	for _, d := range u.res.Dropped {
		fmt.Fprintf(u.stderr, "earlynet: warning: profile %s dropped: %v\n", d.Name, d.Err)
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("profile %s dropped: %v", d.Name, d.Err))
	}
	generated := u.res.Profiles
	if u.f.profilesDir != "" {
		extra, err := loadProfiles(u.f.profilesDir)
		if err != nil {
			return rep, err
		}
		u.res.Profiles = append(slices.Clip(generated), extra...)
	}
	phase("parse")
	// The keyfiles are not needed to configure the kernel: write them
	// while the devices come up, and wait for them before recording state.
	wrote := make(chan error, 1)
	go func() { wrote <- u.writeProfiles(generated) }()
	if len(u.res.Profiles) == 0 {
		rep.OK = true
		return rep, <-wrote
	}
	p, err := u.planWaiting(ctx)
	if err != nil {
		return rep, errors.Join(err, <-wrote)
	}
	phase("links")
	results := u.activateAll(ctx, p)
	phase("activate")
	failed := u.collect(p, results)
	if err := <-wrote; err != nil {
		return rep, err
	}
	if err := u.writeState(results); err != nil {
		return rep, err
	}
	phase("record")
	if len(failed) == 0 && u.f.cloud != "none" {
		u.runCloud(ctx)
		phase("cloud")
	}
	rep.OK = len(failed) == 0
	if len(failed) > 0 {
		return rep, errors.New(strings.Join(failed, "\n"))
	}
	return rep, nil
}

// loadProfiles reads and validates the keyfiles of dir.
func loadProfiles(dir string) ([]*profiles.Profile, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.nmconnection"))
	if err != nil {
		return nil, fmt.Errorf("list profiles in %s: %w", dir, err)
	}
	var out []*profiles.Profile
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("read profile: %w", err)
		}
		p, err := keyfile.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("decode profile %s: %w", n, err)
		}
		if err := profiles.Validate(p); err != nil {
			return nil, fmt.Errorf("profile %s: %w", n, err)
		}
		p.Name = strings.TrimSuffix(filepath.Base(n), ".nmconnection")
		out = append(out, p)
	}
	return out, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}

// phaser returns a function that records the time since the previous
// call under a phase name.
func (u *upRun) phaser() func(string) {
	last := u.start
	return func(name string) {
		now := time.Now()
		u.report.Phases = append(u.report.Phases, phaseTime{Name: name, MS: ms(now.Sub(last)), SinceStartMS: ms(now.Sub(u.start))})
		last = now
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// realClock is the wall clock for the DHCP clients.
type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
