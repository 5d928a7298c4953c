package server

import (
	"context"
	"net"
	"syscall"
)

// The caller is identified by the kernel, not by anything it sends: SO_PEERCRED gives the credentials of the
// process that connected the Unix socket. Every container in the pod can reach /ipc, so this is what stops one
// sidecar (or anything else not running as the agent's UID) from driving another skill's tools.

type peerKey struct{}

// peer is the connecting process's credentials; ok is false when they could not be read.
type peer struct {
	uid, gid uint32
	pid      int32
	ok       bool
}

// withPeer is the http.Server's ConnContext: it reads the credentials once per connection.
func withPeer(ctx context.Context, c net.Conn) context.Context {
	if lc, ok := c.(*limitedConn); ok {
		return context.WithValue(ctx, peerKey{}, lc.peer) // read at accept already
	}
	return context.WithValue(ctx, peerKey{}, peerCred(c))
}

func peerFrom(ctx context.Context) peer {
	p, _ := ctx.Value(peerKey{}).(peer)
	return p
}

func peerCred(c net.Conn) peer {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return peer{}
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return peer{}
	}
	var p peer
	_ = raw.Control(func(fd uintptr) {
		cred, err := syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
		if err == nil {
			p = peer{uid: cred.Uid, gid: cred.Gid, pid: cred.Pid, ok: true}
		}
	})
	return p
}
