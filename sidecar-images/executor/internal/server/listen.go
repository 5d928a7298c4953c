package server

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
)

// The server's side of the /ipc layout (wire.SocketPath): it creates its pack's directory and socket, and at
// exit removes that socket and nothing else.

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
