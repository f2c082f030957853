package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/earlynet/earlynet/cmd/internal/renameio"
	"github.com/earlynet/earlynet/initrd"
	"github.com/earlynet/earlynet/keyfile"
	"github.com/earlynet/earlynet/profiles"
)

// initrdFlags are nm-initrd-generator's options, with its defaults.
type initrdFlags struct {
	connDir, persistDir, dataDir, sysfsDir, runConfDir string
	stdout                                             bool
	cmdlineFile                                        string
}

func (f *initrdFlags) register(fs *flag.FlagSet) {
	dirs := []struct {
		p           *string
		short, long string
		def, help   string
	}{
		{&f.connDir, "c", "connections-dir", "/run/NetworkManager/system-connections", "output directory for profiles"},
		{&f.persistDir, "p", "persistent-connections-dir", "/etc/NetworkManager/system-connections", "persistent profiles (only checked for existence)"},
		{&f.dataDir, "i", "initrd-data-dir", "/run/NetworkManager/initrd", "output directory for the hostname file"},
		{&f.sysfsDir, "d", "sysfs-dir", "/sys", "sysfs root for firmware (iBFT) and MAC lookups"},
		{&f.runConfDir, "r", "run-config-dir", "/run/NetworkManager/conf.d", "output directory for configuration snippets"},
	}
	for _, d := range dirs {
		fs.StringVar(d.p, d.short, d.def, d.help)
		fs.StringVar(d.p, d.long, d.def, d.help)
	}
	fs.BoolVar(&f.stdout, "s", false, "print everything to stdout, write nothing")
	fs.BoolVar(&f.stdout, "stdout", false, "print everything to stdout, write nothing")
	fs.StringVar(&f.cmdlineFile, "cmdline-file", "/proc/cmdline",
		"read the tokens from this file when none are given (earlynet initrd only)")
}

// runInitrd is `earlynet initrd`, a drop-in for nm-initrd-generator: same
// flags, same positional tokens, same files.
func runInitrd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return initrdMain(args, false, stdout, stderr)
}

// runGenerator is earlynet invoked as nm-initrd-generator: with no tokens
// it writes nothing and exits 0, as NetworkManager's generator does.
func runGenerator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return initrdMain(args, true, stdout, stderr)
}

func initrdMain(args []string, asGenerator bool, stdout, stderr io.Writer) error {
	var f initrdFlags
	fs := flag.NewFlagSet("initrd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return exitError{1} // nm-initrd-generator exits 1 on bad options
	}
	tokens := fs.Args()
	if len(tokens) == 0 && !asGenerator {
		var err error
		if tokens, err = readCmdline(f.cmdlineFile); err != nil {
			return err
		}
	}
	if len(tokens) == 0 {
		return nil
	}
	res := initrd.Parse(tokens, f.env())
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "<warn>  cmdline-reader: %s\n", w)
	}
	if f.stdout {
		return printResult(stdout, res)
	}
	return f.writeResult(stdout, res)
}

func (f *initrdFlags) env() initrd.Env {
	_, err := os.Stat(f.persistDir)
	env := initrd.Env{
		SysFS:               os.DirFS(f.sysfsDir),
		PersistentDirExists: err == nil,
		NewUUID:             newUUID,
	}
	if filepath.Clean(f.sysfsDir) == "/sys" {
		// nm-initrd-generator loads the iBFT driver when the table is
		// not there yet; only on the real sysfs.
		env.LoadIBFT = func() { _ = exec.Command("modprobe", "-q", "iscsi_ibft").Run() }
	}
	return env
}

// readCmdline splits a kernel command line file into tokens the way the
// kernel does: at white space outside double quotes, quotes removed.
func readCmdline(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read kernel command line: %w", err)
	}
	return splitCmdline(string(data)), nil
}

func splitCmdline(s string) []string {
	var out []string
	var cur strings.Builder
	inQuote, inToken := false, false
	for _, c := range s {
		switch {
		case c == '"':
			inQuote, inToken = !inQuote, true
		case !inQuote && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			if inToken {
				out = append(out, cur.String())
				cur.Reset()
				inToken = false
			}
		default:
			cur.WriteRune(c)
			inToken = true
		}
	}
	if inToken {
		out = append(out, cur.String())
	}
	return out
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := rand.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return profiles.UUIDv4(b)
}

// printResult is --stdout mode, in nm-initrd-generator's format.
func printResult(w io.Writer, res *initrd.Result) error {
	bw := bufio.NewWriter(w)
	if res.Hostname != "" {
		fmt.Fprintf(bw, "\n*** Hostname '%s' ***\n", res.Hostname)
	}
	for _, s := range res.Snippets() {
		fmt.Fprintf(bw, "\n*** Configuration '%s' ***\n\n%s\n", s.Name, s.Content)
	}
	for _, p := range res.Profiles {
		fmt.Fprintf(bw, "\n*** Connection '%s' ***\n\n", p.Name)
		bw.Write(keyfile.Encode(p))
	}
	for _, d := range res.Dropped {
		fmt.Fprintf(bw, "\n*** Connection '%s' ***\n\n%v\n", d.Name, d.Err)
	}
	return bw.Flush()
}

// writeResult is file mode: hostname, snippets, then one keyfile per
// profile. All files are staged before any is renamed into place, so a
// failure (a full disk) leaves the previous run's files as they were. A
// hostname or snippet that cannot be written is fatal (exit 1); a profile
// that is invalid or cannot be written is reported on stdout and skipped,
// as nm-initrd-generator does.
func (f *initrdFlags) writeResult(stdout io.Writer, res *initrd.Result) error {
	for _, dir := range []string{f.connDir, f.dataDir, f.runConfDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create output directory: %w", err)
		}
	}
	var b renameio.Batch
	if err := f.stageConfig(&b, res); err != nil {
		b.Abort()
		return err
	}
	for _, d := range res.Dropped {
		fmt.Fprintf(stdout, "%s: %v\n", d.Name, d.Err)
	}
	for _, p := range res.Profiles {
		path := filepath.Join(f.connDir, initrd.FileName(p.Name))
		data := append([]byte("# Created by nm-initrd-generator\n\n"), keyfile.Encode(p)...)
		if err := b.Stage(path, data, 0o600); err != nil {
			fmt.Fprintln(stdout, err)
		}
	}
	return b.Commit()
}

// stageConfig stages the hostname file and the configuration snippets.
func (f *initrdFlags) stageConfig(b *renameio.Batch, res *initrd.Result) error {
	if res.Hostname != "" {
		path := filepath.Join(f.dataDir, "hostname")
		if err := b.Stage(path, []byte(res.Hostname+"\n"), 0o600); err != nil {
			return err
		}
	}
	for _, s := range res.Snippets() {
		if err := b.Stage(filepath.Join(f.runConfDir, s.Name), []byte(s.Text()), 0o600); err != nil {
			return err
		}
	}
	return nil
}
