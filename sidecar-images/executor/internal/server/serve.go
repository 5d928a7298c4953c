package server

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"skillpod.io/executor/internal/proc"
)

// ListenError is a socket that could not be created; Run returns it before serving anything.
type ListenError struct {
	Socket string
	Err    error
}

func (e *ListenError) Error() string { return fmt.Sprintf("cannot listen on %s: %v", e.Socket, e.Err) }

func (e *ListenError) Unwrap() error { return e.Err }

// Run serves the skill of cfg on its socket until ctx is done, then shuts down promptly and returns nil. The
// audit trail goes to audit, diagnostics to logger. It returns a *ListenError when the socket cannot be created,
// and the HTTP server's error when that stops on its own. It is the sidecar's main process, often PID 1: it
// reaps every child, its runs' and orphans alike.
func Run(ctx context.Context, cfg *Config, environ []string, audit io.Writer, logger *slog.Logger) error {
	reaper := proc.NewReaper()
	s := newServer(cfg, environ, audit, reaper)

	sock := cfg.socket()
	err := ensurePackDir(cfg.ipcDir, cfg.pack)
	var ln *net.UnixListener
	var own ownedSocket
	if err == nil {
		ln, own, err = listen(sock)
	}
	if err != nil {
		return &ListenError{Socket: sock, Err: err}
	}
	// Whatever way Run returns, remove the socket only if it is still the one created here.
	defer own.unlinkOwn()
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: cfg.readTimeout, // a client that sends headers slowly is cut off
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ConnContext:       withPeer,
		ErrorLog:          discardLog, // per-connection noise (resets, timeouts) is not news
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(newLimitListener(ln, cfg.agentUID, cfg.maxConnections)) }()
	go s.every(cfg.gateInterval, s.checkGate)
	go s.every(10*time.Second, s.jobs.sweep) // expired results go even when nobody asks
	logger.Info("serving", "skill", cfg.pack, "socket", sock, "tools", len(cfg.tools), "pid", os.Getpid(),
		"agentUid", cfg.agentUID, "maxConcurrency", cfg.maxConcurrency, "maxConnections", cfg.maxConnections)

	select {
	case <-ctx.Done():
	case err := <-served:
		s.beginShutdown()
		return err
	}

	// Prompt exit: refuse new calls, stop the running ones (TERM, grace, KILL of each group), give their
	// callers a moment to receive the result, and go. Bounded by the grace period plus a few seconds.
	s.beginShutdown()
	stopCtx, cancel := context.WithTimeout(context.Background(), cfg.killGrace+proc.DrainWait+time.Second)
	defer cancel()
	_ = srv.Shutdown(stopCtx) // closes the listener and waits for handlers
	runsOver := make(chan struct{})
	go func() { s.inflight.Wait(); close(runsOver) }()
	select {
	case <-runsOver:
	case <-stopCtx.Done():
		logger.Warn("runs still alive at exit")
	}
	reaper.Reap()
	return nil
}

var discardLog = log.New(io.Discard, "", 0)
