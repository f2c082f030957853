package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/earlynet/earlynet/cmd/internal/nmhandover"
	"github.com/earlynet/earlynet/cmd/internal/renameio"
	"github.com/earlynet/earlynet/keyfile"
	"github.com/earlynet/earlynet/profiles"
)

// rebindInfo moves a device's hand-over from the generic profile it was
// brought up with (earlynet up's default_connection) to the device's new
// cloud profile, so that NetworkManager adopts the device with the
// profile that has the cloud configuration.
type rebindInfo struct{ from, to string }

// stageRebind rewrites run/NetworkManager/devices/<ifindex> when it names
// the generic profile, and copies the DHCPv4 lease file to the new
// profile's name (NetworkManager looks it up by connection UUID). No
// state file, or one naming another profile: nothing to do.
func (r *cloudRun) stageRebind(b *renameio.Batch, ch *change) error {
	devState := filepath.Join(r.f.root, nmhandover.DevicesDir, strconv.Itoa(ch.dev.Index))
	raw, err := os.ReadFile(devState)
	if errors.Is(err, os.ErrNotExist) || ch.dev.Index <= 0 {
		return nil
	}
	if !profiles.ValidUUID(ch.rebind.from) {
		// It becomes part of a file name below.
		r.warn(fmt.Sprintf("hand-over of %s not moved: profile UUID %q is not a UUID", ch.dev.Name, ch.rebind.from))
		return nil
	}
	if err != nil {
		return fmt.Errorf("read hand-over state: %w", err)
	}
	groups, err := keyfile.Parse(raw)
	if err != nil {
		r.warn(fmt.Sprintf("hand-over state %s left alone: %v", devState, err))
		return nil
	}
	found := false
	for gi := range groups {
		for ki, kv := range groups[gi].Keys {
			if groups[gi].Name == "device" && kv.Key == "connection-uuid" && keyfile.UnescapeValue(kv.Value) == ch.rebind.from {
				groups[gi].Keys[ki].Value = keyfile.EscapeValue(ch.rebind.to)
				found = true
			}
		}
	}
	if !found {
		return nil
	}
	runDir := filepath.Join(r.f.root, nmhandover.RunDir)
	lease, err := os.ReadFile(filepath.Join(runDir, nmhandover.LeaseFileName(ch.rebind.from, ch.dev.Name)))
	if err == nil {
		if err := b.Stage(filepath.Join(runDir, nmhandover.LeaseFileName(ch.rebind.to, ch.dev.Name)), lease, 0o600); err != nil {
			return err
		}
	}
	if err := b.Stage(devState, keyfile.Format(groups), 0o600); err != nil {
		return err
	}
	ch.status += ", hand-over moved to " + ch.profile.ID
	return nil
}
