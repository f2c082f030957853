// Command benchinitrd times `earlynet initrd` against NetworkManager's
// nm-initrd-generator over every line of the initrd corpus: the two run
// interleaved, line by line, for several rounds, each writing its files
// into fresh directories as in the initrd. It prints the median and 90th
// percentile wall time per run, their ratio, the earlynet binary's size
// and the peak RSS of each (wait4 rusage). No root needed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/earlynet/earlynet/integration/internal/corpus"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchinitrd:", err)
		os.Exit(1)
	}
}

// tool is one generator under test and what was measured of it.
type tool struct {
	name   string
	argv   []string // program and the arguments before the flags
	times  []time.Duration
	maxRSS int64 // KiB
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchinitrd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("earlynet", "bin/earlynet", "earlynet binary (as built by make build)")
	nm := fs.String("nm", "/usr/lib/NetworkManager/nm-initrd-generator", "nm-initrd-generator binary")
	corpusPath := fs.String("corpus", "integration/testdata/initrd-corpus.txt", "corpus file")
	rounds := fs.Int("rounds", 5, "times each line is run by each tool")
	dir := fs.String("dir", os.TempDir(), "where the output directories go (in the initrd: /run, a tmpfs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	lines, err := corpus.Load(*corpusPath)
	if err != nil {
		return err
	}
	info, err := os.Stat(*bin)
	if err != nil {
		return fmt.Errorf("earlynet binary (run make build): %w", err)
	}
	if _, err := os.Stat(*nm); err != nil {
		return fmt.Errorf("nm-initrd-generator: %w", err)
	}
	tmp, err := os.MkdirTemp(*dir, "benchinitrd")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	tools := []*tool{
		{name: "earlynet initrd", argv: []string{*bin, "initrd"}},
		{name: "nm-initrd-generator 1.42", argv: []string{*nm}},
	}
	for r := 0; r < *rounds; r++ {
		for i, l := range lines {
			// Alternate which tool goes first, so neither always
			// runs on a cache the other warmed.
			order := tools
			if (r+i)%2 == 1 {
				order = []*tool{tools[1], tools[0]}
			}
			for _, t := range order {
				if err := t.runOnce(ctx, filepath.Join(tmp, "out"), l.Tokens); err != nil {
					return fmt.Errorf("line %d %q: %w", l.LineNo, l.Text, err)
				}
			}
		}
	}
	en, ref := tools[0], tools[1]
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(stdout, "%d corpus lines x %d rounds, interleaved, output below %s\n", len(lines), *rounds, *dir)
	fmt.Fprintln(w, "tool\tmedian ms\tp90 ms\tpeak RSS KiB\t")
	for _, t := range tools {
		fmt.Fprintf(w, "%s\t%.2f\t%.2f\t%d\t\n", t.name, ms(percentile(t.times, 50)), ms(percentile(t.times, 90)), t.maxRSS)
	}
	w.Flush()
	fmt.Fprintf(stdout, "ratio NM/earlynet (medians): %.2fx\n", ms(percentile(ref.times, 50))/ms(percentile(en.times, 50)))
	fmt.Fprintf(stdout, "earlynet binary %s: %d bytes (%.2f MiB)\n", *bin, info.Size(), float64(info.Size())/(1<<20))
	return nil
}

// runOnce runs the tool on tokens with fresh output directories below dir
// and records its wall time and peak RSS.
func (t *tool) runOnce(ctx context.Context, dir string, tokens []string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	sysfs := filepath.Join(dir, "sysfs")
	if err := os.MkdirAll(sysfs, 0o755); err != nil {
		return err
	}
	args := append(slices.Clone(t.argv[1:]),
		"-c", filepath.Join(dir, "conn"), "-i", filepath.Join(dir, "initrd"),
		"-r", filepath.Join(dir, "run"), "-p", filepath.Join(dir, "persist"),
		"-d", sysfs, "--")
	args = append(args, tokens...)
	cmd := exec.CommandContext(ctx, t.argv[0], args...)
	start := time.Now()
	err := cmd.Run()
	t.times = append(t.times, time.Since(start))
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return fmt.Errorf("run %s: %w", t.name, err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		t.maxRSS = max(t.maxRSS, ru.Maxrss)
	}
	return nil
}

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
