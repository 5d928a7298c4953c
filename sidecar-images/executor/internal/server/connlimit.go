package server

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// limitListener caps the connections open at once, so that a flood of connections cannot grow the executor's
// memory (each holds buffers and a goroutine) or starve the agent. The agent's UID gets maxConnections;
// every other local UID shares a small pool of its own (health and the startup probe need one), so another
// container of the pod cannot take the agent's connections. Beyond the cap a connection gets a short 503 and
// is closed at once, before anything of its request is read.
type limitListener struct {
	*net.UnixListener
	agentUID uint32
	agent    chan struct{} // one token per open agent connection
	others   chan struct{}
}

// otherConnections is the pool of every UID that is not the agent's: enough for probes and health checks.
const otherConnections = 4

func newLimitListener(ln *net.UnixListener, agentUID uint32, maxConnections int) *limitListener {
	return &limitListener{UnixListener: ln, agentUID: agentUID,
		agent: make(chan struct{}, maxConnections), others: make(chan struct{}, otherConnections)}
}

var overCapAnswer = func() []byte {
	body := `{"error":"too_many_connections","message":"the executor's connection cap is reached; retry"}` + "\n"
	return fmt.Appendf(nil, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"+
		"Connection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}()

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			return nil, err
		}
		p := peerCred(c)
		pool := l.others
		if p.ok && p.uid == l.agentUID {
			pool = l.agent
		}
		select {
		case pool <- struct{}{}:
			return &limitedConn{UnixConn: c, peer: p, release: func() { <-pool }}, nil
		default:
			// The send buffer of a fresh socket is empty, so this small write does not block; the deadline
			// is there in case it ever would.
			_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			_, _ = c.Write(overCapAnswer)
			_ = c.Close()
		}
	}
}

// limitedConn gives its token back when closed, once, and carries the peer read at accept.
type limitedConn struct {
	*net.UnixConn
	peer    peer
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.UnixConn.Close()
	c.once.Do(c.release)
	return err
}
