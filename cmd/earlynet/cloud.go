package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/earlynet/earlynet/cmd/internal/dmi"
)

// runCloud is `earlynet cloud`: it decides from DMI, without a network
// request, whether the machine runs on a cloud; off-cloud it exits 0 at
// once, else it executes earlynet-cloud (a sibling binary holding the
// HTTP clients, which this one must not link) with the same arguments.
func runCloud(_ context.Context, args []string, stdout, stderr io.Writer) error {
	bin, binErr := cloudBinary()
	if wantsHelp(args) {
		if binErr != nil {
			return binErr
		}
		return execCloud(bin, args)
	}
	provider, sysfs := flagValue(args, "provider", "auto"), flagValue(args, "sysfs", "/sys")
	p, ok, err := dmi.Provider(provider, sysfs)
	if err != nil {
		return usageError{err.Error()}
	}
	if !ok {
		why := "no cloud detected from DMI under " + sysfs
		if provider == "none" {
			why = "--provider none"
		}
		if flagValue(args, "json", "false") != "false" {
			b, _ := json.Marshal(map[string]any{"skipped": why, "devices": []string{}})
			fmt.Fprintln(stdout, string(b))
		} else {
			fmt.Fprintln(stderr, "earlynet cloud: nothing to do:", why)
		}
		return nil
	}
	if binErr != nil {
		return binErr
	}
	return execCloud(bin, append(args, "--provider", p.Name))
}

// cloudBinary is earlynet-cloud next to this executable, else on $PATH.
func cloudBinary() (string, error) {
	if self, err := os.Executable(); err == nil {
		bin := filepath.Join(filepath.Dir(self), "earlynet-cloud")
		if _, err := os.Stat(bin); err == nil {
			return bin, nil
		}
	}
	bin, err := exec.LookPath("earlynet-cloud")
	if err != nil {
		return "", fmt.Errorf("earlynet-cloud is installed neither next to earlynet nor on $PATH")
	}
	return bin, nil
}

// execCloud replaces this process with earlynet-cloud.
func execCloud(bin string, args []string) error {
	argv := append([]string{bin}, args...)
	if err := syscall.Exec(bin, argv, os.Environ()); err != nil {
		return fmt.Errorf("exec %s: %w", bin, err)
	}
	return nil
}

func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			return true
		case "--":
			return false
		}
	}
	return false
}

// flagValue finds -name/--name's value in args as the flag package would
// read it (the last occurrence wins; "-name=v" or "-name v"; a boolean
// flag without a value is "true").
func flagValue(args []string, name, def string) string {
	v := def
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		t := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		switch {
		case t == a:
		case strings.HasPrefix(t, name+"="):
			v = strings.TrimPrefix(t, name+"=")
		case t == name && name == "json":
			v = "true"
		case t == name && i+1 < len(args):
			v = args[i+1]
			i++
		}
	}
	return v
}
