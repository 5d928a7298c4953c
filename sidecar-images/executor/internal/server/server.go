// Package server is the executor of one skill: the HTTP API of docs/ipc.md on a Unix socket in the pack's
// /ipc directory, for the agent's UID only (SO_PEERCRED). It routes and answers requests, refuses what the
// switch-off gate, the caps (connections, runs in flight, request bodies) or the tool's argument policy do not
// allow, runs the rest through internal/proc, keeps asynchronous results for a bounded time, and writes one
// audit line per call.
package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"skillpod.io/executor/internal/argpolicy"
	"skillpod.io/executor/internal/clip"
	"skillpod.io/executor/internal/proc"
	"skillpod.io/executor/internal/wire"
)

// server holds the state of one skill's executor and answers its HTTP API. Routing is in routes.go, the
// run-related handlers in handlers.go.
type server struct {
	cfg    *Config
	tools  map[string]*argpolicy.Tool
	specs  []*wire.Tool // the tools as GET /v1/tools lists them
	env    sidecarEnv
	reaper *proc.Reaper
	runner *proc.Runner
	jobs   *jobStore
	gate   gate
	audit  *auditor

	slots  chan struct{} // one token per run in flight: the per-skill concurrency cap
	bodies *budget       // bytes of request bodies being read and decoded at once

	// ctx is every run's parent, cancelled with cause proc.StopShutdown when shutdown begins: runs stop,
	// long polls return, new calls are refused.
	ctx      context.Context
	shutdown context.CancelCauseFunc

	mu       sync.Mutex
	active   map[*proc.Run]struct{} // runs in flight, for the gate to stop
	inflight sync.WaitGroup
	running  atomic.Int32
}

func newServer(cfg *Config, environ []string, auditOut io.Writer, reaper *proc.Reaper) *server {
	s := &server{
		cfg:    cfg,
		tools:  map[string]*argpolicy.Tool{},
		env:    newSidecarEnv(environ),
		reaper: reaper,
		runner: &proc.Runner{Reaper: reaper, Workdir: cfg.workdir, MaxOutput: cfg.maxOutput, Grace: cfg.killGrace},
		jobs:   newJobStore(cfg.resultTTL, cfg.maxResults, cfg.maxResultBytes),
		gate:   gate{path: cfg.podinfo, pack: cfg.pack},
		audit:  &auditor{w: auditOut, skill: cfg.pack},
		slots:  make(chan struct{}, cfg.maxConcurrency),
		bodies: newBudget(bodyBudgetBodies * cfg.maxBody),
		active: map[*proc.Run]struct{}{},
	}
	s.ctx, s.shutdown = context.WithCancelCause(context.Background())
	for _, t := range cfg.tools {
		s.tools[t.Name] = t
		s.specs = append(s.specs, &t.Tool)
	}
	return s
}

// prepare turns a caller's request into a proc.Spec, or the error that refuses it. Order matters only for
// which error a request with several faults gets: the name, the gate, the arguments, the environment.
func (s *server) prepare(name string, args []string, input json.RawMessage, env map[string]string, stdin *string, timeoutSeconds int) (proc.Spec, error) {
	if !wire.ValidName(name, wire.MaxToolName) {
		return proc.Spec{}, errorf(http.StatusBadRequest, "invalid_tool_name", "tool name %q is not a DNS label", clip.Text(name, 80))
	}
	t := s.tools[name]
	if t == nil {
		return proc.Spec{}, errorf(http.StatusBadRequest, "unknown_tool", "skill %q has no tool %q", s.cfg.pack, name)
	}
	if closed, why := s.gate.closed(); closed {
		return proc.Spec{}, errorf(http.StatusServiceUnavailable, "skill_disabled", "%s", why)
	}
	argv, err := t.Arguments(args, input)
	if err != nil {
		return proc.Spec{}, refusal(err)
	}
	childEnv, err := s.env.build(env)
	if err != nil {
		return proc.Spec{}, errorf(http.StatusBadRequest, "env_refused", "%w", err)
	}
	timeout := t.TimeoutSeconds
	switch {
	case timeoutSeconds < 0:
		return proc.Spec{}, errorf(http.StatusBadRequest, "bad_request", "timeoutSeconds must not be negative")
	case timeoutSeconds > 0 && timeoutSeconds < timeout:
		timeout = timeoutSeconds // a caller may shorten the tool's timeout, never extend it
	}
	spec := proc.Spec{Command: t.Command, Args: argv, Env: childEnv, Timeout: time.Duration(timeout) * time.Second}
	if stdin != nil {
		spec.Stdin = []byte(*stdin)
	}
	return spec, nil
}

// launch starts a prepared run if a slot is free. started runs before anything can observe the run's end
// (so a job is stored before it can finish); finished runs after the slot is released. The audit line is
// written when the run ends. The returned channel is closed after all of that, so a synchronous caller that
// answers only then never sees its own slot still taken by its previous call.
func (s *server) launch(spec proc.Spec, line auditLine, started func(*proc.Run), finished func(proc.Outcome)) (*proc.Run, <-chan struct{}, error) {
	select {
	case s.slots <- struct{}{}:
	default:
		return nil, nil, errorf(http.StatusTooManyRequests, "too_many_runs",
			"skill %q already runs %d calls, its limit; retry later", s.cfg.pack, cap(s.slots))
	}
	// A run started once shutdown has begun is stopped at once: its parent context is already cancelled.
	rn, err := s.runner.Start(s.ctx, spec)
	if err != nil {
		<-s.slots
		return nil, nil, errorf(http.StatusInternalServerError, "start_failed", "%w", err)
	}
	s.track(rn)
	if started != nil {
		started(rn)
	}
	s.inflight.Add(1)
	over := make(chan struct{})
	go func() {
		defer s.inflight.Done()
		defer close(over)
		o := rn.Wait()
		<-s.slots // before the response is written: a caller that reads slowly holds no slot
		s.untrack(rn)
		line.Status = http.StatusOK
		fillAudit(&line, o)
		s.audit.write(line)
		if finished != nil {
			finished(o)
		}
	}()
	return rn, over, nil
}

func fillAudit(l *auditLine, o proc.Outcome) {
	code := o.ExitCode
	l.ExitCode = &code
	if o.Signal != 0 {
		l.Signal = proc.SignalName(o.Signal)
	}
	l.DurationMs = o.Duration.Milliseconds()
	l.StdoutBytes, l.StderrBytes = o.Stdout.Total(), o.Stderr.Total()
	l.Truncated = o.Stdout.Truncated() || o.Stderr.Truncated()
	l.TimedOut = o.Stop == proc.StopTimeout
	l.StopReason = string(o.Stop)
}

// track registers a run so that the gate can stop it.
func (s *server) track(rn *proc.Run) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active[rn] = struct{}{}
	s.running.Add(1)
}

func (s *server) untrack(rn *proc.Run) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.active, rn)
	s.running.Add(-1)
}

func (s *server) stopAll(reason proc.StopReason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for rn := range s.active {
		rn.Stop(reason)
	}
}

// beginShutdown refuses new runs and stops those in flight (TERM, grace, KILL).
func (s *server) beginShutdown() { s.shutdown(proc.StopShutdown) }

func (s *server) shuttingDown() bool { return s.ctx.Err() != nil }

// checkGate stops running calls once the skill is switched off: otherwise a long call (a log follow, a
// port-forward) would outlive the switch-off. Run calls it every gate interval.
func (s *server) checkGate() {
	if s.running.Load() == 0 {
		return
	}
	if closed, _ := s.gate.closed(); closed {
		s.stopAll(proc.StopDisabled)
	}
}

// every calls f every interval until shutdown begins.
func (s *server) every(interval time.Duration, f func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

func (s *server) health() wire.Health {
	h := wire.Health{Status: "ok", Skill: s.cfg.pack, Ready: true, Running: int(s.running.Load()),
		MaxConcurrency: cap(s.slots), Orphans: s.reaper.Orphans()}
	closed, why := s.gate.closed()
	h.Enabled, h.GateReason = !closed, why
	for _, t := range s.cfg.tools {
		th := wire.ToolHealth{Name: t.Name}
		if p, err := exec.LookPath(t.Command[0]); err != nil {
			th.Error = err.Error()
			h.Ready = false
		} else {
			th.OK, th.Resolved = true, p
		}
		h.Tools = append(h.Tools, th)
	}
	return h
}
