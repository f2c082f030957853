// Package renameio writes files atomically: to a temporary file in the
// target directory, with the final mode set before the rename, synced, then
// renamed over the target. A reader sees the old file or the new one, never
// half of either, and a failed write leaves the old file in place.
//
// A Batch extends that to several files: every file is written to its
// temporary first, and only when all of them are on disk are they renamed
// into place, so that a full disk leaves the previous set untouched.
package renameio

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile writes data to path atomically with the given mode.
func WriteFile(path string, data []byte, mode os.FileMode) error {
	var b Batch
	if err := b.Stage(path, data, mode); err != nil {
		return err
	}
	return b.Commit()
}

// Batch is a set of staged files. The zero value is ready to use.
type Batch struct {
	staged []staged
}

type staged struct{ tmp, path string }

// Stage writes data to a synced temporary file next to path.
func (b *Batch) Stage(path string, data []byte, mode os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	b.staged = append(b.staged, staged{f.Name(), path})
	return nil
}

// Commit renames the staged files into place, in the order staged. On an
// error the files not yet renamed are removed and the error names them.
func (b *Batch) Commit() error {
	var errs []error
	for i, s := range b.staged {
		if err := os.Rename(s.tmp, s.path); err != nil {
			errs = append(errs, fmt.Errorf("write %s: %w", s.path, err))
			for _, rest := range b.staged[i+1:] {
				os.Remove(rest.tmp)
			}
			os.Remove(s.tmp)
			break
		}
	}
	b.staged = nil
	return errors.Join(errs...)
}

// Abort removes the staged files; the targets stay as they were.
func (b *Batch) Abort() {
	for _, s := range b.staged {
		os.Remove(s.tmp)
	}
	b.staged = nil
}
