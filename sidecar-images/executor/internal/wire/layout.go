package wire

import (
	"path/filepath"
	"regexp"
)

// The /ipc layout: each pack has its own directory, <ipcDir>/<pack>/, which in the pod is an emptyDir written
// only by that pack's sidecar and mounted read-only into the agent. The socket is <ipcDir>/<pack>/exec.sock.
// So one pack cannot place or replace another's socket, and clients (call, list, probe, the MCP bridge, the
// TypeScript client) look nowhere else: never at <ipcDir>/<pack>.sock, never through a symbolic link.

// SocketName is the socket's file name inside a pack's directory.
const SocketName = "exec.sock"

// Name limits: a pack name is at most 57 characters, so that its sidecar's container name "skill-<pack>" is a
// DNS label; a tool name is one.
const (
	MaxPackName = 57
	MaxToolName = 63
)

// SocketPath is where the executor of pack listens.
func SocketPath(dir, pack string) string {
	return filepath.Join(dir, pack, SocketName)
}

// dnsLabel is the RFC 1123 label Kubernetes uses for names; tool and pack names must be one, which is also
// what makes them safe as URL path segments and file names (no '/', '.', '%').
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// ValidName reports whether s is a DNS label of at most max characters.
func ValidName(s string, max int) bool {
	return len(s) <= max && dnsLabel.MatchString(s)
}
