package client

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"skillpod.io/executor/internal/wire"
)

// Socket is the socket of pack in dir as a client must find it: a socket file in a plain directory.
func Socket(dir, pack string) (string, error) {
	if !wire.ValidName(pack, wire.MaxPackName) {
		return "", fmt.Errorf("%q is not a pack name", pack)
	}
	pd := filepath.Join(dir, pack)
	fi, err := os.Lstat(pd)
	if err != nil {
		return "", fmt.Errorf("no skill %q: %w", pack, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory (symbolic links are not followed)", pd)
	}
	sock := filepath.Join(pd, wire.SocketName)
	fi, err = os.Lstat(sock)
	if err != nil {
		return "", fmt.Errorf("no executor for skill %q: %w", pack, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return "", fmt.Errorf("%s is not a socket", sock)
	}
	return sock, nil
}

// Discover lists the packs with a socket in dir: <dir>/*/exec.sock, skipping symbolic links, names that are
// not pack names and anything that is not a socket.
func Discover(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var packs []string
	for _, ent := range ents {
		if !ent.IsDir() || ent.Type()&fs.ModeSymlink != 0 { // ReadDir types entries without following links
			continue
		}
		if _, err := Socket(dir, ent.Name()); err == nil {
			packs = append(packs, ent.Name())
		}
	}
	slices.Sort(packs)
	return packs, nil
}
