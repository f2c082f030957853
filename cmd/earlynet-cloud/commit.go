package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/earlynet/earlynet/cmd/internal/linkup"
	"github.com/earlynet/earlynet/cmd/internal/renameio"
	"github.com/earlynet/earlynet/keyfile"
	"github.com/earlynet/earlynet/metadata"
)

// commit carries out the plan: with --apply the kernel first, device by
// device, each rolled back whole if any step fails; then every profile,
// hand-over fix-up and the state record, staged together and renamed
// into place only when all are on disk. A failure there takes the
// kernel changes back too. It returns one message per failure.
func (r *cloudRun) commit(cs *changeSet) []string {
	var failed []string
	for _, ch := range cs.changes {
		if ch.failed != nil {
			failed = append(failed, ch.failed.Error())
		}
	}
	var k *kernel
	if r.f.apply {
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			for _, ch := range cs.changes {
				if ch.failed == nil && ch.skip == "" {
					ch.failed = fmt.Errorf("device %s: not configured: netlink: %w", ch.dev.Name, err)
				}
			}
			return append(failed, fmt.Sprintf("netlink: %v", err))
		}
		defer h.Close()
		k = &kernel{l: linkup.New(h, r.f.sysfs, "/proc", nil), warn: r.warn}
		failed = append(failed, k.apply(cs)...)
	}
	r.phase("apply")
	if err := r.write(cs); err != nil {
		if k != nil {
			k.rollback(cs)
		}
		return append(failed, err.Error())
	}
	r.phase("write")
	return failed
}

// write stages the profiles that changed, the hand-over fix-ups and the
// new state, then commits them.
func (r *cloudRun) write(cs *changeSet) error {
	var b renameio.Batch
	defer b.Abort()
	next := &state{Provider: r.report.Provider, Devices: map[string]*stateDevice{}}
	for _, ch := range cs.changes {
		if ch.failed != nil || ch.skip != "" {
			if ch.prev != nil {
				next.Devices[ch.dev.MAC] = ch.prev
			}
			continue
		}
		if err := r.stageProfile(&b, ch); err != nil {
			return err
		}
		sd := &stateDevice{Name: ch.dev.Name, Path: ch.path, UUID: ch.profile.UUID, Profile: ch.cfg, Kernel: ch.kernel}
		if !r.f.apply && ch.prev != nil {
			sd.Kernel = ch.prev.Kernel
		}
		if !sd.Profile.Empty() || sd.Kernel != nil && !sd.Kernel.Empty() {
			next.Devices[ch.dev.MAC] = sd
		}
	}
	path := filepath.Join(r.f.root, statePath)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if err := b.Stage(path, next.encode(), 0o600); err != nil {
		return err
	}
	return b.Commit()
}

// stageProfile stages ch's profile when its text changed, and the
// hand-over files that must follow a new profile.
func (r *cloudRun) stageProfile(b *renameio.Batch, ch *change) error {
	text := keyfile.Encode(ch.profile)
	if bytes.Equal(text, ch.old) {
		if ch.status == "" {
			ch.status = "unchanged"
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(ch.path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(ch.path), err)
	}
	if err := b.Stage(ch.path, text, 0o600); err != nil {
		return err
	}
	if ch.status == "" {
		ch.status = "profile written"
	} else {
		ch.status += ", profile written"
	}
	if ch.rebind != nil {
		return r.stageRebind(b, ch)
	}
	return nil
}

// kernel applies configurations over netlink.
type kernel struct {
	l    *linkup.Links
	warn func(string)
}

// apply configures every device; a device where a step fails gets its
// additions taken back and keeps what it had.
func (k *kernel) apply(cs *changeSet) []string {
	var failed []string
	for _, ch := range cs.changes {
		if ch.failed != nil || ch.skip != "" {
			continue
		}
		if err := k.applyDevice(ch); err != nil {
			k.undo(ch)
			ch.failed = fmt.Errorf("device %s: %w; its configuration was taken back", ch.dev.Name, err)
			failed = append(failed, ch.failed.Error())
		}
	}
	k.reconcileRules(cs)
	return failed
}

// rollback takes back every device's additions (the files could not be
// written).
func (k *kernel) rollback(cs *changeSet) {
	for _, ch := range cs.changes {
		k.undo(ch)
	}
}

func (k *kernel) undo(ch *change) {
	for i := len(ch.undo) - 1; i >= 0; i-- {
		if err := ch.undo[i](); err != nil {
			k.warn(fmt.Sprintf("device %s: undo: %v", ch.dev.Name, err))
		}
	}
	ch.undo = nil
}

// prevKernel is what the previous run configured on the device.
func (ch *change) prevKernel() metadata.Config {
	if ch.prev != nil && ch.prev.Kernel != nil {
		return *ch.prev.Kernel
	}
	return metadata.Config{}
}
