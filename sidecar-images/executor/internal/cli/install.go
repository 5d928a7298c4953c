package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Install is `install <dir>`, run by the pod's init container: it copies this binary to
// <dir>/skillpod-exec in the shared emptyDir. The executor image is FROM scratch, with no cp to do it.
// Written to a temporary name and renamed, so no container ever sees half a binary.
func Install(args []string, stderr io.Writer) int {
	if len(args) != 1 {
		_, _ = fmt.Fprintln(stderr, "usage: skillpod-exec install <dir>")
		return 2
	}
	if err := install(args[0]); err != nil {
		_, _ = fmt.Fprintf(stderr, "skillpod-exec: install: %v\n", err)
		return 1
	}
	return 0
}

func install(dir string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	src, err := os.Open(self)
	if err != nil {
		return err
	}
	defer func() { _ = src.Close() }()
	tmp, err := os.CreateTemp(dir, ".skillpod-exec-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // no-op after the rename
	if _, err := io.Copy(tmp, src); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, "skillpod-exec"))
}
