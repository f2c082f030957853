package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// module is one kernel module to load in the guest, in dependency order.
type module struct {
	Path   string // relative to the module tree, e.g. kernel/net/8021q/8021q.ko
	Params string // module parameters, e.g. "max_bonds=0"
}

// moduleOrder resolves the named modules ("bonding:max_bonds=0", "virtio_net")
// into load order from the tree's modules.dep: every dependency before the
// module that needs it, each module once. Built-in modules are skipped; an
// unknown name is an error naming it.
func moduleOrder(tree fs.FS, names []string) ([]module, error) {
	deps, byName, err := readModulesDep(tree)
	if err != nil {
		return nil, err
	}
	builtin, _ := fs.ReadFile(tree, "modules.builtin")
	var order []module
	seen := map[string]bool{}
	var visit func(p, params string)
	visit = func(p, params string) {
		if seen[p] {
			return
		}
		seen[p] = true
		// modules.dep lists the transitive closure, deepest dependency
		// last: visit in reverse so that it loads first.
		d := deps[p]
		for i := len(d) - 1; i >= 0; i-- {
			visit(d[i], "")
		}
		order = append(order, module{Path: p, Params: params})
	}
	for _, n := range names {
		name, params, _ := strings.Cut(n, ":")
		name = strings.ReplaceAll(name, "-", "_")
		p, ok := byName[name]
		if !ok {
			if bytes.Contains(builtin, []byte("/"+name+".ko\n")) {
				continue
			}
			return nil, fmt.Errorf("module %q: not in modules.dep or modules.builtin", name)
		}
		visit(p, strings.ReplaceAll(params, ":", " "))
	}
	return order, nil
}

// readModulesDep parses modules.dep into path -> dependencies and
// name -> path (names with '_' for '-', as the kernel reports them).
func readModulesDep(tree fs.FS) (map[string][]string, map[string]string, error) {
	b, err := fs.ReadFile(tree, "modules.dep")
	if err != nil {
		return nil, nil, fmt.Errorf("read modules.dep: %w", err)
	}
	deps := map[string][]string{}
	byName := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		p, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		deps[p] = strings.Fields(rest)
		byName[moduleName(p)] = p
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("read modules.dep: %w", err)
	}
	return deps, byName, nil
}

// moduleName turns kernel/drivers/net/virtio_net.ko(.xz) into virtio_net.
func moduleName(p string) string {
	base := path.Base(p)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}
