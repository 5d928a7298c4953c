package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"
)

// server holds the state of one skill's executor and answers its HTTP API. Routing is in routes.go, the
// run-related handlers in handlers.go.
type server struct {
	cfg    *config
	tools  map[string]*Tool
	env    sidecarEnv
	runner *runner
	jobs   *jobStore
	gate   gate
	audit  *auditor

	slots  chan struct{} // one token per run in flight: the per-skill concurrency cap
	bodies *budget       // bytes of request bodies being read and decoded at once

	mu       sync.Mutex
	active   map[*run]struct{}
	stopping bool          // guarded by mu, so a run started during shutdown is stopped, not missed
	quit     chan struct{} // closed at shutdown: long polls return
	inflight sync.WaitGroup
	running  atomic.Int32
}

func newServer(cfg *config, environ []string, auditOut io.Writer, p *procs) *server {
	s := &server{
		cfg:    cfg,
		tools:  map[string]*Tool{},
		env:    newSidecarEnv(environ),
		runner: &runner{procs: p, workdir: cfg.workdir, maxOutput: cfg.maxOutput, grace: cfg.killGrace},
		jobs:   newJobStore(cfg.resultTTL, cfg.maxResults, cfg.maxResultBytes),
		gate:   gate{path: cfg.podinfo, pack: cfg.pack},
		audit:  &auditor{w: auditOut, skill: cfg.pack},
		slots:  make(chan struct{}, cfg.maxConcurrency),
		bodies: newBudget(bodyBudgetBodies * cfg.maxBody),
		active: map[*run]struct{}{},
		quit:   make(chan struct{}),
	}
	for _, t := range cfg.tools {
		s.tools[t.Name] = t
	}
	return s
}

// prepare turns a caller's request into a runSpec, or the error that refuses it. Order matters only for
// which error a request with several faults gets: the name, the gate, the arguments, the environment.
func (s *server) prepare(name string, args []string, input json.RawMessage, env map[string]string, stdin *string, timeoutSeconds int) (runSpec, *apiError) {
	if !validName(name, 63) {
		return runSpec{}, errorf(http.StatusBadRequest, "invalid_tool_name",
			fmt.Sprintf("tool name %q is not a DNS label", shorten(name, 80)))
	}
	t := s.tools[name]
	if t == nil {
		return runSpec{}, errorf(http.StatusBadRequest, "unknown_tool",
			fmt.Sprintf("skill %q has no tool %q", s.cfg.pack, name))
	}
	if closed, why := s.gate.closed(); closed {
		return runSpec{}, errorf(http.StatusServiceUnavailable, "skill_disabled", why)
	}
	argv, e := t.arguments(args, input)
	if e != nil {
		return runSpec{}, e
	}
	childEnv, err := s.env.build(env)
	if err != nil {
		return runSpec{}, errorf(http.StatusBadRequest, "env_refused", err.Error())
	}
	timeout := t.TimeoutSeconds
	switch {
	case timeoutSeconds < 0:
		return runSpec{}, errorf(http.StatusBadRequest, "bad_request", "timeoutSeconds must not be negative")
	case timeoutSeconds > 0 && timeoutSeconds < timeout:
		timeout = timeoutSeconds // a caller may shorten the tool's timeout, never extend it
	}
	spec := runSpec{tool: t, args: argv, env: childEnv, timeout: time.Duration(timeout) * time.Second}
	if stdin != nil {
		spec.stdin = []byte(*stdin)
	}
	return spec, nil
}

// launch starts a prepared run if a slot is free. started runs before anything can observe the run's end
// (so a job is stored before it can finish); finished runs after the slot is released. The audit line is
// written when the run ends. The returned channel is closed after all of that, so a synchronous caller that
// answers only then never sees its own slot still taken by its previous call.
func (s *server) launch(spec runSpec, line auditLine, started func(*run), finished func(outcome)) (*run, <-chan struct{}, *apiError) {
	select {
	case s.slots <- struct{}{}:
	default:
		return nil, nil, errorf(http.StatusTooManyRequests, "too_many_runs",
			fmt.Sprintf("skill %q already runs %d calls, its limit; retry later", s.cfg.pack, cap(s.slots)))
	}
	rn, err := s.runner.start(spec)
	if err != nil {
		<-s.slots
		return nil, nil, errorf(http.StatusInternalServerError, "start_failed", err.Error())
	}
	if !s.track(rn) {
		rn.stop(stopShutdown)
	}
	if started != nil {
		started(rn)
	}
	s.inflight.Add(1)
	over := make(chan struct{})
	go func() {
		defer s.inflight.Done()
		defer close(over)
		o := rn.wait()
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

func fillAudit(l *auditLine, o outcome) {
	code := o.exitCode
	l.ExitCode = &code
	if o.signal != 0 {
		l.Signal = signalName(o.signal)
	}
	l.DurationMs = o.duration.Milliseconds()
	l.StdoutBytes, l.StderrBytes = o.stdout.total, o.stderr.total
	l.Truncated = o.stdout.truncated() || o.stderr.truncated()
	l.TimedOut = o.stop == stopTimeout
	l.StopReason = string(o.stop)
}

// track registers a run so that shutdown and the gate can stop it; false if shutdown has begun.
func (s *server) track(rn *run) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active[rn] = struct{}{}
	s.running.Add(1)
	return !s.stopping
}

func (s *server) untrack(rn *run) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.active, rn)
	s.running.Add(-1)
}

func (s *server) stopAll(reason stopReason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for rn := range s.active {
		rn.stop(reason)
	}
}

// beginShutdown refuses new runs and stops those in flight (TERM, grace, KILL).
func (s *server) beginShutdown() {
	s.mu.Lock()
	if !s.stopping {
		s.stopping = true
		close(s.quit)
	}
	s.mu.Unlock()
	s.stopAll(stopShutdown)
}

func (s *server) shuttingDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopping
}

// watchGate stops running calls once the skill is switched off: otherwise a long call (a log follow, a
// port-forward) would outlive the switch-off.
func (s *server) watchGate() {
	t := time.NewTicker(s.cfg.gateInterval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			if s.running.Load() == 0 {
				continue
			}
			if closed, _ := s.gate.closed(); closed {
				s.stopAll(stopDisabled)
			}
		}
	}
}

// bodyBudgetBodies is how many bodies of the full cap may be read and decoded at once (see budget.go).
const bodyBudgetBodies = 4

// readJSON reads a capped body with its own read deadline (so a client that sends its body slowly is cut
// off) and decodes it. strict refuses unknown fields: a misspelt "timeoutSecond" must not be ignored. The
// body is read only into memory granted by the body budget; release gives it back and must be called once
// the decoded request has been handed on (it is never nil).
func (s *server) readJSON(w http.ResponseWriter, r *http.Request, dst any, strict bool) (release func(), e *apiError) {
	release = func() {}
	tooLarge := errorf(http.StatusRequestEntityTooLarge, "body_too_large",
		fmt.Sprintf("request body exceeds %d bytes", s.cfg.maxBody))
	if r.ContentLength > s.cfg.maxBody {
		return release, tooLarge
	}
	if r.ContentLength == 0 {
		return release, nil // no body: all defaults
	}
	rc := http.NewResponseController(w)
	giveUp := func() {
		// The rest of this body is not coming (or not wanted): make the server's discard of it fail at once,
		// and do not reuse the connection.
		_ = rc.SetReadDeadline(time.Now())
		w.Header().Set("Connection", "close")
	}
	need := r.ContentLength
	if need < 0 {
		need = s.cfg.maxBody // chunked: the size is known only once read
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.readTimeout)
	ok := s.bodies.acquire(ctx, need)
	cancel()
	if !ok {
		giveUp()
		return release, errorf(http.StatusServiceUnavailable, "busy",
			"too many request bodies are being read at once; retry")
	}
	release = sync.OnceFunc(func() { s.bodies.release(need) })

	_ = rc.SetReadDeadline(time.Now().Add(s.cfg.readTimeout))
	body := http.MaxBytesReader(w, r.Body, s.cfg.maxBody)
	var data []byte
	var err error
	if r.ContentLength > 0 {
		data = make([]byte, r.ContentLength) // exactly what was announced, no growth copies
		_, err = io.ReadFull(body, data)
	} else {
		data, err = io.ReadAll(body)
	}
	if err != nil {
		giveUp()
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return release, tooLarge
		}
		return release, errorf(http.StatusBadRequest, "bad_request", "reading body: "+err.Error())
	}
	// Clear it at once: the server's background read, which notices a caller that goes away, must not
	// inherit the deadline and cancel a long run.
	_ = rc.SetReadDeadline(time.Time{})
	if len(bytes.TrimSpace(data)) == 0 {
		return release, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(dst); err != nil {
		return release, errorf(http.StatusBadRequest, "bad_request", "body: "+err.Error())
	}
	if dec.More() {
		return release, errorf(http.StatusBadRequest, "bad_request", "body: trailing data after the JSON object")
	}
	return release, nil
}

// toolHealth says whether a tool's command resolves to an executable in this container.
type toolHealth struct {
	Name     string `json:"name"`
	OK       bool   `json:"ok"`
	Resolved string `json:"resolved,omitempty"`
	Error    string `json:"error,omitempty"`
}

type healthView struct {
	Status         string       `json:"status"`
	Skill          string       `json:"skill"`
	Ready          bool         `json:"ready"`   // every tool's command resolves: what the startup probe needs
	Enabled        bool         `json:"enabled"` // the gate is open
	GateReason     string       `json:"gateReason,omitempty"`
	Tools          []toolHealth `json:"tools"`
	Running        int          `json:"running"`
	MaxConcurrency int          `json:"maxConcurrency"`
	Orphans        int64        `json:"orphansReaped"`
}

func (s *server) health() healthView {
	h := healthView{Status: "ok", Skill: s.cfg.pack, Ready: true, Running: int(s.running.Load()),
		MaxConcurrency: cap(s.slots), Orphans: s.runner.procs.orphans.Load()}
	closed, why := s.gate.closed()
	h.Enabled, h.GateReason = !closed, why
	for _, t := range s.cfg.tools {
		th := toolHealth{Name: t.Name}
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

// checkWorkdir fails the start early rather than every call later.
func checkWorkdir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("working directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("working directory %s is not a directory", dir)
	}
	return nil
}
