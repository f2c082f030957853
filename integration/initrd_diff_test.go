package integration

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/earlynet/earlynet/integration/internal/corpus"
)

const (
	nmGenerator     = "/usr/lib/NetworkManager/nm-initrd-generator"
	corpusFile      = "testdata/initrd-corpus.txt"
	divergencesFile = "testdata/initrd-divergences.txt"
	diffWorkers     = 2
)

// TestInitrdDifferential runs every command line of the corpus through
// `earlynet initrd` and NetworkManager 1.42's nm-initrd-generator with the
// same flags and an empty sysfs, and compares what each produced: exit
// status, number of warnings, number of profile errors printed on stdout,
// and every file written (keyfiles compared as sorted groups and keys, with
// the random UUIDs replaced by the id of the profile they name). A
// difference fails the test unless integration/testdata/initrd-divergences.txt
// lists that exact line with a reason; a listed line that no longer differs
// fails too, so the list cannot go stale.
func TestInitrdDifferential(t *testing.T) {
	if _, err := os.Stat(nmGenerator); err != nil {
		t.Skipf("no reference generator: %v (install Debian's network-manager package, see .ci/install.sh)", err)
	}
	lines, err := corpus.Load(corpusFile)
	if err != nil {
		t.Fatal(err)
	}
	known, err := corpus.LoadDivergences(divergencesFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) < 330 {
		t.Fatalf("corpus has %d lines, want at least 330", len(lines))
	}
	earlynet := buildEarlynet(t)
	tmp := t.TempDir()

	results := make([]lineResult, len(lines))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < diffWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				dir := filepath.Join(tmp, fmt.Sprint(i))
				results[i] = compareLine(earlynet, dir, lines[i])
			}
		}()
	}
	for i := range lines {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	var passed, divergent, failed int
	inCorpus := map[string]bool{}
	for i, l := range lines {
		inCorpus[l.Text] = true
		r := results[i]
		reason, listed := known[l.Text]
		switch {
		case r.err != nil:
			failed++
			t.Errorf("line %d %q: %v", l.LineNo, l.Text, r.err)
		case r.diff == "" && listed:
			failed++
			t.Errorf("line %d %q: listed as a known divergence (%s) but both tools now agree; remove it from %s",
				l.LineNo, l.Text, reason, divergencesFile)
		case r.diff == "":
			passed++
		case listed:
			divergent++
		default:
			failed++
			t.Errorf("line %d %q: earlynet differs from nm-initrd-generator (- nm, + earlynet):\n%s\nnm stderr:\n%s\nearlynet stderr:\n%s",
				l.LineNo, l.Text, r.diff, indent(r.nmStderr), indent(r.enStderr))
		}
	}
	for line := range known {
		if !inCorpus[line] {
			failed++
			t.Errorf("%s lists %q, which is not in the corpus", divergencesFile, line)
		}
	}
	summary := fmt.Sprintf("%d passed, %d known divergences, %d failed", passed, divergent, failed)
	t.Log(summary)
	if testing.Verbose() {
		fmt.Println(summary)
	}
	appendSummary(t, "initrd differential vs nm-initrd-generator: "+summary)
}

// appendSummary adds a line to the file $EARLYNET_SUMMARY names, which
// `make test` prints after the run: go test shows nothing of a passing
// package, and CI's log should carry the pass count.
func appendSummary(t *testing.T, line string) {
	path := os.Getenv("EARLYNET_SUMMARY")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Errorf("summary file: %v", err)
		return
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, line); err != nil {
		t.Errorf("summary file: %v", err)
	}
}

// buildEarlynet compiles cmd/earlynet into a temporary directory, as
// `make build` does (static, trimmed).
func buildEarlynet(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "earlynet")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "github.com/earlynet/earlynet/cmd/earlynet")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/earlynet: %v\n%s", err, out)
	}
	return bin
}

type lineResult struct {
	diff               string // empty when both tools agree
	nmStderr, enStderr string
	err                error // the comparison itself could not run
}

func compareLine(earlynet, dir string, l corpus.Line) lineResult {
	nm, err := runGenerator(filepath.Join(dir, "nm"), []string{nmGenerator}, l.Tokens)
	if err != nil {
		return lineResult{err: fmt.Errorf("nm-initrd-generator: %w", err)}
	}
	en, err := runGenerator(filepath.Join(dir, "earlynet"), []string{earlynet, "initrd"}, l.Tokens)
	if err != nil {
		return lineResult{err: fmt.Errorf("earlynet initrd: %w", err)}
	}
	os.RemoveAll(dir)
	return lineResult{diff: lineDiff(nm.canonical, en.canonical), nmStderr: nm.stderr, enStderr: en.stderr}
}

// outcome is what one generator run produced, rendered as comparable text.
type outcome struct {
	canonical string
	stderr    string
}

// runGenerator runs argv0 with nm-initrd-generator's directory flags below
// dir (sysfs empty, persistent directory absent) and the tokens, and renders
// the result.
func runGenerator(dir string, argv0 []string, tokens []string) (outcome, error) {
	sysfs := filepath.Join(dir, "sysfs")
	if err := os.MkdirAll(sysfs, 0o755); err != nil {
		return outcome{}, err
	}
	outDirs := []string{"conn", "initrd", "run"}
	args := append(argv0[1:],
		"-c", filepath.Join(dir, "conn"),
		"-i", filepath.Join(dir, "initrd"),
		"-r", filepath.Join(dir, "run"),
		"-p", filepath.Join(dir, "persist"),
		"-d", sysfs,
		"--")
	args = append(args, tokens...)
	cmd := exec.Command(argv0[0], args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	exit := "0"
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return outcome{}, fmt.Errorf("run %s: %w", argv0[0], err)
		}
		exit = ee.String() // "exit status 1" or "signal: segmentation fault"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "exit: %s\n", exit)
	fmt.Fprintf(&b, "warnings: %d\n", countLines(stderr.String(), "<warn>"))
	fmt.Fprintf(&b, "profile errors on stdout: %d\n", countLines(stdout.String(), ""))
	files, err := readOutputs(dir, outDirs)
	if err != nil {
		return outcome{}, err
	}
	b.WriteString(files)
	return outcome{canonical: b.String(), stderr: stderr.String()}, nil
}

// countLines counts the non-blank lines of s that contain sub.
func countLines(s, sub string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" && strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

// readOutputs renders every file below the output directories: keyfiles
// canonicalised, other files verbatim, in path order.
func readOutputs(dir string, outDirs []string) (string, error) {
	type file struct {
		rel  string
		data []byte
		mode fs.FileMode
	}
	var files []file
	for _, d := range outDirs {
		root := filepath.Join(dir, d)
		err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && path == root {
					return fs.SkipDir
				}
				return err
			}
			if e.IsDir() {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			info, err := e.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			files = append(files, file{rel, data, info.Mode().Perm()})
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("read outputs in %s: %w", root, err)
		}
	}
	var keyfiles []parsedKeyfile
	for _, f := range files {
		if strings.HasSuffix(f.rel, ".nmconnection") {
			keyfiles = append(keyfiles, parseKeyfile(f.data))
		}
	}
	ids := uuidToID(keyfiles)
	var b strings.Builder
	k := 0
	for _, f := range files {
		if !strings.HasSuffix(f.rel, ".nmconnection") {
			// Snippets and the hostname file: content only. NM writes
			// them 0644, earlynet 0600 on purpose (all its files are).
			fmt.Fprintf(&b, "== %s\n%s", f.rel, f.data)
			if !bytes.HasSuffix(f.data, []byte("\n")) {
				b.WriteString("\\ no newline at end of file\n")
			}
			continue
		}
		fmt.Fprintf(&b, "== %s (mode %o)\n", f.rel, f.mode)
		b.WriteString(keyfiles[k].canonical(ids))
		k++
	}
	return b.String(), nil
}

// parsedKeyfile is a keyfile as groups of key/value pairs, comments dropped.
type parsedKeyfile struct {
	groups map[string]map[string]string
	bad    []string // lines that are neither a group header nor key=value
}

// parseKeyfile reads a keyfile with a deliberately small parser that knows
// nothing of earlynet's encoder, so it cannot share its mistakes.
func parseKeyfile(data []byte) parsedKeyfile {
	kf := parsedKeyfile{groups: map[string]map[string]string{}}
	var cur map[string]string
	for _, l := range strings.Split(string(data), "\n") {
		switch {
		case strings.TrimSpace(l) == "", strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			name := l[1 : len(l)-1]
			if kf.groups[name] == nil {
				kf.groups[name] = map[string]string{}
			}
			cur = kf.groups[name]
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok || cur == nil {
				kf.bad = append(kf.bad, l)
				continue
			}
			cur[k] = v
		}
	}
	return kf
}

// uuidToID maps each profile's UUID to its connection id.
func uuidToID(kfs []parsedKeyfile) map[string]string {
	ids := map[string]string{}
	for _, kf := range kfs {
		if c := kf.groups["connection"]; c != nil && c["uuid"] != "" {
			ids[c["uuid"]] = c["id"]
		}
	}
	return ids
}

// canonical prints the keyfile with groups and keys sorted, connection.uuid
// dropped and any value that is the UUID of a profile of the same run
// (master=, controller=) replaced by "uuid-of:<id>".
func (kf parsedKeyfile) canonical(ids map[string]string) string {
	var b strings.Builder
	for _, g := range sortedKeys(kf.groups) {
		fmt.Fprintf(&b, "[%s]\n", g)
		for _, k := range sortedKeys(kf.groups[g]) {
			v := kf.groups[g][k]
			if g == "connection" && k == "uuid" {
				continue
			}
			if id, ok := ids[v]; ok {
				v = "uuid-of:" + id
			}
			fmt.Fprintf(&b, "%s=%s\n", k, v)
		}
	}
	for _, l := range kf.bad {
		fmt.Fprintf(&b, "unparsable line: %q\n", l)
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// lineDiff returns a line diff of a and b ("-" only in a, "+" only in b,
// " " in both), or "" when they are equal.
func lineDiff(a, b string) string {
	if a == b {
		return ""
	}
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	// Longest common subsequence table; the texts are a few dozen lines.
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			out.WriteString("  " + x[i] + "\n")
			i, j = i+1, j+1
		case j < len(y) && (i == len(x) || lcs[i][j+1] >= lcs[i+1][j]):
			out.WriteString("+ " + y[j] + "\n")
			j++
		default:
			out.WriteString("- " + x[i] + "\n")
			i++
		}
	}
	return out.String()
}

func indent(s string) string {
	if s == "" {
		return "    (none)"
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}
