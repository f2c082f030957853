// Package corpus reads the kernel command line corpus and the list of known
// divergences that the initrd differential test and benchmark share.
package corpus

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// Line is one kernel command line of the corpus.
type Line struct {
	Text   string   // the tokens joined by single spaces: the line's identity
	Tokens []string // the whitespace-separated tokens, used as given
	LineNo int      // 1-based line number in the corpus file
}

// Load reads a corpus file: one command line per line, `#` comment lines and
// blank lines skipped. A line that appears twice is an error, so that the
// pass count means distinct command lines.
func Load(path string) ([]Line, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open corpus: %w", err)
	}
	defer f.Close()
	var lines []Line
	seen := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		toks := strings.Fields(sc.Text())
		if len(toks) == 0 || strings.HasPrefix(toks[0], "#") {
			continue
		}
		text := strings.Join(toks, " ")
		if prev, dup := seen[text]; dup {
			return nil, fmt.Errorf("corpus %s:%d: duplicate of line %d: %q", path, n, prev, text)
		}
		seen[text] = n
		lines = append(lines, Line{Text: text, Tokens: toks, LineNo: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read corpus %s: %w", path, err)
	}
	return lines, nil
}

// LoadDivergences reads `<exact corpus line>\t<reason>` entries, `#` comment
// lines and blank lines skipped, into a map from line to reason. An entry
// without a reason, or a line listed twice, is an error.
func LoadDivergences(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read divergences: %w", err)
	}
	out := map[string]string{}
	for i, raw := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(raw) == "" || strings.HasPrefix(raw, "#") {
			continue
		}
		line, reason, ok := strings.Cut(raw, "\t")
		line = strings.Join(strings.Fields(line), " ")
		reason = strings.TrimSpace(reason)
		if !ok || reason == "" {
			return nil, fmt.Errorf("divergences %s:%d: want <line>TAB<reason>, got %q", path, i+1, raw)
		}
		if _, dup := out[line]; dup {
			return nil, fmt.Errorf("divergences %s:%d: %q listed twice", path, i+1, line)
		}
		out[line] = reason
	}
	return out, nil
}
