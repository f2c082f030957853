package renameio

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileModeAndContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, []byte("old"), 0o644)
	if err := WriteFile(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	info, _ := os.Stat(path)
	if string(got) != "new" || info.Mode().Perm() != 0o600 {
		t.Errorf("got %q mode %v, want %q mode 0600", got, info.Mode().Perm(), "new")
	}
}

// TestBatchAbortKeepsOldFiles: a staging failure (here a missing
// directory) lets the caller abort; earlier staged files never replace
// their targets and no temporary is left behind.
func TestBatchAbortKeepsOldFiles(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	os.WriteFile(a, []byte("old"), 0o600)
	var b Batch
	if err := b.Stage(a, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := b.Stage(filepath.Join(dir, "missing", "b"), []byte("x"), 0o600)
	if err == nil {
		t.Fatal("staging into a missing directory succeeded")
	}
	b.Abort()
	got, _ := os.ReadFile(a)
	entries, _ := os.ReadDir(dir)
	if string(got) != "old" || len(entries) != 1 {
		t.Errorf("a = %q, dir has %d entries; want %q and 1", got, len(entries), "old")
	}
}

func TestCommitRenameFailureCleansUp(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "d")
	os.MkdirAll(filepath.Join(target, "x"), 0o755) // a non-empty directory
	var b Batch
	if err := b.Stage(target, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err == nil {
		t.Fatal("renaming over a non-empty directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("dir has %d entries, want only d (temporary removed)", len(entries))
	}
}
