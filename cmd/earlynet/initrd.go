package main

import (
	"context"
	"io"
)

// runInitrd is `earlynet initrd`, a drop-in for nm-initrd-generator.
func runInitrd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return usageError{"initrd: not built yet"}
}
