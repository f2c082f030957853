package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/earlynet/earlynet/metadata"
)

// statePath is where a run records what it added, under --root, so the
// next run removes exactly that when the metadata changes.
const statePath = "run/earlynet/cloud-state.json"

// state is the record of the previous run.
type state struct {
	Provider string                  `json:"provider"`
	Devices  map[string]*stateDevice `json:"devices"` // by MAC
}

// stateDevice is what earlynet-cloud added for one device.
type stateDevice struct {
	Name string `json:"name"`
	Path string `json:"path"` // the profile it merged into
	UUID string `json:"uuid"`
	// Profile is what was merged into the profile; Kernel what --apply
	// configured (nil: nothing).
	Profile metadata.Config  `json:"profile"`
	Kernel  *metadata.Config `json:"kernel,omitempty"`
}

// loadState reads the previous run's record; none is an empty record. A
// record that does not parse is reported and ignored: earlynet then
// removes nothing it cannot prove it added.
func loadState(root string, warn func(string)) *state {
	st := &state{Devices: map[string]*stateDevice{}}
	path := filepath.Join(root, statePath)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st
	}
	if err == nil {
		err = json.Unmarshal(b, st)
	}
	if err != nil {
		warn(fmt.Sprintf("previous state %s ignored: %v", path, err))
		return &state{Devices: map[string]*stateDevice{}}
	}
	if st.Devices == nil {
		st.Devices = map[string]*stateDevice{}
	}
	return st
}

func (st *state) encode() []byte {
	b, _ := json.MarshalIndent(st, "", "  ")
	return append(b, '\n')
}
