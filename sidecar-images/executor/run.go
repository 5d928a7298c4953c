package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// stopReason says why a run was stopped before its process ended on its own.
type stopReason string

const (
	stopNone       stopReason = ""
	stopTimeout    stopReason = "timeout"
	stopCancelled  stopReason = "cancelled"    // the caller cancelled an async run
	stopDisconnect stopReason = "disconnected" // a synchronous caller went away: nobody will read the result
	stopDisabled   stopReason = "disabled"     // the skill was switched off while it ran
	stopShutdown   stopReason = "shutdown"     // the executor is terminating
)

// drainWait bounds how long a finished run waits for its output pipes after the group was killed: a process
// that left the group (setsid) may hold them open forever.
const drainWait = time.Second

// runSpec is one checked call, ready to execute.
type runSpec struct {
	tool    *Tool
	args    []string
	env     []string
	stdin   []byte // nil: the child reads /dev/null
	timeout time.Duration
}

// outcome is what a run produced. A non-zero exit is a normal outcome, not an error.
type outcome struct {
	exitCode int            // 128+signal when killed by a signal, like a shell reports it
	signal   syscall.Signal // 0 unless killed by a signal
	stop     stopReason
	duration time.Duration
	stdout   *capture
	stderr   *capture
}

// run is one process group in flight.
type run struct {
	pid     int
	started time.Time
	mu      sync.Mutex
	reason  stopReason
	stopCh  chan struct{} // closed by the first stop request
	done    chan struct{} // closed when out is final
	out     outcome
}

// runner starts runs. It holds no per-run state; the concurrency cap lives with the server.
type runner struct {
	procs     *procs
	workdir   string
	maxOutput int
	grace     time.Duration // between TERM and KILL
}

// start execs the tool's command plus the caller's arguments (already checked): execve, never a shell.
func (x *runner) start(spec runSpec) (*run, error) {
	cmd := spec.tool.Command
	argv0, err := exec.LookPath(cmd[0])
	if err != nil {
		return nil, fmt.Errorf("resolve %q: %w", cmd[0], err)
	}
	argv := append(append(make([]string, 0, len(cmd)+len(spec.args)), cmd...), spec.args...)

	var stdinR, stdinW *os.File
	if spec.stdin != nil {
		if stdinR, stdinW, err = os.Pipe(); err != nil {
			return nil, err
		}
	} else if stdinR, err = os.Open(os.DevNull); err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		closeAll(stdinR, stdinW)
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll(stdinR, stdinW, outR, outW)
		return nil, err
	}
	attr := &syscall.ProcAttr{
		Dir: x.workdir,
		Env: spec.env,
		// Fd() also puts the child's ends into blocking mode, which is what programs expect of stdio.
		Files: []uintptr{stdinR.Fd(), outW.Fd(), errW.Fd()},
		Sys: &syscall.SysProcAttr{
			Setpgid:   true,            // its own group, so timeouts kill grandchildren too
			Pdeathsig: syscall.SIGKILL, // if the executor dies without cleaning up
		},
	}
	pid, exited, err := x.procs.start(argv0, argv, attr)
	closeAll(stdinR, outW, errW) // the child has its copies
	if err != nil {
		closeAll(stdinW, outR, errR)
		return nil, fmt.Errorf("start %s: %w", argv0, err)
	}

	r := &run{pid: pid, started: time.Now(), stopCh: make(chan struct{}), done: make(chan struct{})}
	r.out.stdout, r.out.stderr = newCapture(x.maxOutput), newCapture(x.maxOutput)
	var readers sync.WaitGroup
	readers.Go(func() { r.out.stdout.drain(outR) })
	readers.Go(func() { r.out.stderr.drain(errR) })
	if stdinW != nil {
		// Ignore errors: a tool that exits without reading its input is not an executor error.
		go func() { _, _ = stdinW.Write(spec.stdin); _ = stdinW.Close() }()
	}
	go r.supervise(exited, spec.timeout, x.grace, &readers, outR, errR, stdinW)
	return r, nil
}

// stop asks for the run to end: TERM to the group, KILL after the grace period. The first reason wins.
func (r *run) stop(reason stopReason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reason == stopNone {
		r.reason = reason
		close(r.stopCh)
	}
}

// wait blocks until the run is over and returns its outcome.
func (r *run) wait() outcome {
	<-r.done
	return r.out
}

// supervise is the only goroutine that signals the run's group, so "never signal after the sweep" needs no
// lock. The run ends when its first process (the group leader) ends; whatever it left in its group is killed
// then, so that background processes neither keep running nor keep the output pipes open.
func (r *run) supervise(exited <-chan syscall.WaitStatus, timeout, grace time.Duration,
	readers *sync.WaitGroup, outR, errR, stdinW *os.File) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	stopCh := r.stopCh
	var kill <-chan time.Time
	var lost *time.Ticker // after KILL: is the leader gone although no status came?
	var lostC <-chan time.Time
	var ws syscall.WaitStatus
	statusLost := false
wait:
	for {
		select {
		case ws = <-exited:
			break wait
		case <-deadline.C:
			r.stop(stopTimeout)
		case <-stopCh:
			stopCh = nil // handle once
			signalGroup(r.pid, syscall.SIGTERM)
			kill = time.After(grace)
		case <-kill:
			signalGroup(r.pid, syscall.SIGKILL)
			lost = time.NewTicker(time.Second)
			defer lost.Stop()
			lostC = lost.C
		case <-lostC:
			// Only procs reaps, so a status cannot go missing; if a future change ever lets one be stolen,
			// the run ends here with exit code -1 instead of hanging forever. A zombie still answers kill 0.
			if errors.Is(syscall.Kill(r.pid, 0), syscall.ESRCH) {
				statusLost = true
				break wait
			}
		}
	}
	if !statusLost {
		signalGroup(r.pid, syscall.SIGKILL) // sweep what the leader left behind; never signalled again
	}

	drained := make(chan struct{})
	go func() { readers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainWait):
		now := time.Now()
		_ = outR.SetReadDeadline(now)
		_ = errR.SetReadDeadline(now)
		<-drained
	}
	closeAll(outR, errR, stdinW) // closing stdinW also unblocks a writer the tool never read from

	r.mu.Lock()
	r.out.stop = r.reason
	r.mu.Unlock()
	r.out.duration = time.Since(r.started)
	switch {
	case statusLost:
		r.out.exitCode = -1
	case ws.Exited():
		r.out.exitCode = ws.ExitStatus()
	case ws.Signaled():
		r.out.signal = ws.Signal()
		r.out.exitCode = 128 + int(ws.Signal())
	}
	close(r.done)
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		if f != nil {
			_ = f.Close()
		}
	}
}
