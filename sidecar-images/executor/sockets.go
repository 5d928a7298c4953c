package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// The /ipc layout: each pack has its own directory, <ipcDir>/<pack>/, which in the pod is an emptyDir written
// only by that pack's sidecar and mounted read-only into the agent. The socket is <ipcDir>/<pack>/exec.sock.
// So one pack cannot place or replace another's socket, and clients (call, list, probe, the TypeScript
// client) look nowhere else: never at <ipcDir>/<pack>.sock, never through a symbolic link.

const socketName = "exec.sock"

func socketPath(dir, pack string) string {
	return filepath.Join(dir, pack, socketName)
}

// ensurePackDir creates <dir>/<pack> (0755, so the agent can reach the socket) when missing, and refuses
// anything there that is not a plain directory: following a symbolic link would put the socket elsewhere.
func ensurePackDir(dir, pack string) error {
	p := filepath.Join(dir, pack)
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(p, 0o755); err != nil {
			return err
		}
		return os.Chmod(p, 0o755) // whatever the umask
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s exists and is not a directory (a symbolic link is refused too)", p)
	}
	return nil
}

// ownedSocket is the socket this executor created, identified by device and inode, so that at exit it
// removes that file and never one that replaced it (another container of the pod, or a test).
type ownedSocket struct {
	path     string
	dev, ino uint64
}

// listen creates the socket, replacing a stale one left by a previous container of this pod, and opens it to
// every local user: connecting needs write permission on the socket file, and the agent runs as another UID.
// Authorisation is the SO_PEERCRED check on each connection, not the file mode.
func listen(path string) (*net.UnixListener, ownedSocket, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, ownedSocket{}, fmt.Errorf("%s exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, ownedSocket{}, err
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, ownedSocket{}, err
	}
	// The listener would unlink the path on Close whatever file is there by then; unlinkOwn does it safely.
	ln.SetUnlinkOnClose(false)
	own, err := statSocket(path)
	if err == nil {
		err = os.Chmod(path, 0o666)
	}
	if err != nil {
		_ = ln.Close()
		return nil, ownedSocket{}, err
	}
	return ln, own, nil
}

func statSocket(path string) (ownedSocket, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return ownedSocket{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || fi.Mode().Type() != fs.ModeSocket {
		return ownedSocket{}, fmt.Errorf("%s is not a socket", path)
	}
	return ownedSocket{path: path, dev: st.Dev, ino: st.Ino}, nil
}

// unlinkOwn removes the socket if the path still names the file this executor created.
func (o ownedSocket) unlinkOwn() bool {
	now, err := statSocket(o.path)
	if err != nil || now.dev != o.dev || now.ino != o.ino {
		return false
	}
	return os.Remove(o.path) == nil
}

// clientSocket is the socket of pack as a client must find it: a socket file in a plain directory.
func clientSocket(dir, pack string) (string, error) {
	if !validName(pack, 57) {
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
	sock := filepath.Join(pd, socketName)
	fi, err = os.Lstat(sock)
	if err != nil {
		return "", fmt.Errorf("no executor for skill %q: %w", pack, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return "", fmt.Errorf("%s is not a socket", sock)
	}
	return sock, nil
}

// discoverPacks lists the packs with a socket in dir: <dir>/*/exec.sock, skipping symbolic links, names
// that are not pack names and anything that is not a socket.
func discoverPacks(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var packs []string
	for _, ent := range ents {
		if !ent.IsDir() || ent.Type()&fs.ModeSymlink != 0 { // ReadDir types entries without following links
			continue
		}
		if _, err := clientSocket(dir, ent.Name()); err == nil {
			packs = append(packs, ent.Name())
		}
	}
	slices.Sort(packs)
	return packs, nil
}
