package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"skillpod.io/executor/internal/server"
)

// Serve is `serve --skill <pack>`: the executor of one skill, until SIGTERM. It is the sidecar's main process,
// often PID 1. Diagnostics go to stderr as JSON lines; stdout carries only the audit trail.
func Serve(args []string, getenv func(string) string, environ []string, stdout, stderr io.Writer) int {
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	pack, err := skillFlag("serve", args)
	if err != nil {
		logger.Error(err.Error())
		return 2
	}
	cfg, err := server.LoadConfig(pack, getenv, environ)
	if err != nil {
		logger.Error("invalid configuration", "error", err.Error())
		return 1
	}

	// Signals first: as PID 1 a SIGTERM without a handler would be ignored.
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(term)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		select {
		case sig := <-term:
			logger.Info("terminating", "signal", sig.String())
			stop()
		case <-ctx.Done():
		}
	}()

	err = server.Run(ctx, cfg, environ, stdout, logger)
	if le, ok := errors.AsType[*server.ListenError](err); ok {
		logger.Error("cannot listen", "socket", le.Socket, "error", le.Err.Error())
		return 1
	}
	if err != nil {
		logger.Error("server stopped", "error", fmt.Sprint(err))
		return 1
	}
	return 0
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
