package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// serve runs the executor of one skill until SIGTERM. It is the sidecar's main process, often PID 1.
func serve(args []string, getenv func(string) string, environ []string, stdout, stderr io.Writer) int {
	logger := slog.New(slog.NewJSONHandler(stderr, nil)) // diagnostics; stdout carries only the audit trail
	pack, err := skillFlag("serve", args)
	if err != nil {
		logger.Error(err.Error())
		return 2
	}
	var cfg *config
	err = checkSettings(environ)
	if err == nil {
		cfg, err = loadConfig(pack, getenv)
	}
	if err == nil {
		err = checkWorkdir(cfg.workdir)
	}
	if err != nil {
		logger.Error("invalid configuration", "error", err.Error())
		return 1
	}

	// Signals first: as PID 1 a SIGTERM without a handler would be ignored.
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	procs := newProcs()
	s := newServer(cfg, environ, stdout, procs)

	sock := socketPath(cfg.ipcDir, pack)
	err = ensurePackDir(cfg.ipcDir, pack)
	var ln *net.UnixListener
	var own ownedSocket
	if err == nil {
		ln, own, err = listen(sock)
	}
	if err != nil {
		logger.Error("cannot listen", "socket", sock, "error", err.Error())
		return 1
	}
	// Whatever way serve returns, remove the socket only if it is still the one created here.
	defer own.unlinkOwn()
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: cfg.readTimeout, // a client that sends headers slowly is cut off
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ConnContext:       withPeer,
		ErrorLog:          log.New(io.Discard, "", 0), // per-connection noise (resets, timeouts) is not news
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(newLimitListener(ln, cfg.agentUID, cfg.maxConnections)) }()
	go s.watchGate()
	go sweepJobs(s)
	logger.Info("serving", "skill", pack, "socket", sock, "tools", len(cfg.tools), "pid", os.Getpid(),
		"agentUid", cfg.agentUID, "maxConcurrency", cfg.maxConcurrency, "maxConnections", cfg.maxConnections)

	select {
	case sig := <-term:
		logger.Info("terminating", "signal", sig.String())
	case err := <-served:
		logger.Error("server stopped", "error", fmt.Sprint(err))
		s.beginShutdown()
		return 1
	}

	// Prompt exit: refuse new calls, stop the running ones (TERM, grace, KILL of each group), give their
	// callers a moment to receive the result, and go. Bounded by the grace period plus a few seconds.
	s.beginShutdown()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.killGrace+drainWait+time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx) // closes the listener and waits for handlers
	runsOver := make(chan struct{})
	go func() { s.inflight.Wait(); close(runsOver) }()
	select {
	case <-runsOver:
	case <-ctx.Done():
		logger.Warn("runs still alive at exit")
	}
	procs.reap()
	return 0
}

func sweepJobs(s *server) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			s.jobs.sweep()
		}
	}
}

// skillFlag parses "--skill <pack>", the only flag of serve and probe.
func skillFlag(cmd string, args []string) (string, error) {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	pack := fs.String("skill", "", "the SkillPack's name")
	if err := fs.Parse(args); err != nil {
		return "", fmt.Errorf("%s: %w; usage: skillpod-exec %s --skill <pack>", cmd, err, cmd)
	}
	if fs.NArg() > 0 {
		return "", fmt.Errorf("%s: unexpected argument %q; usage: skillpod-exec %s --skill <pack>", cmd, fs.Arg(0), cmd)
	}
	if *pack == "" {
		return "", errors.New(cmd + ": --skill <pack> is required")
	}
	return *pack, nil
}
