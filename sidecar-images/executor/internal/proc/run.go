package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// StopReason says why a run was stopped before its process ended on its own. It is the cause of the run's
// cancellation (context.Cause), so the first reason given is the one that counts.
type StopReason string

const (
	StopNone       StopReason = ""
	StopTimeout    StopReason = "timeout"
	StopCancelled  StopReason = "cancelled"    // the caller cancelled an async run
	StopDisconnect StopReason = "disconnected" // a synchronous caller went away: nobody will read the result
	StopDisabled   StopReason = "disabled"     // the skill was switched off while it ran
	StopShutdown   StopReason = "shutdown"     // the executor is terminating
)

func (r StopReason) Error() string { return "run stopped: " + string(r) }

// reasonOf is the stop reason a cancellation cause stands for: StopNone while the run was not stopped, and
// StopCancelled for a cause that is not a StopReason (a parent context cancelled without one).
func reasonOf(cause error) StopReason {
	if cause == nil {
		return StopNone
	}
	var r StopReason
	if errors.As(cause, &r) {
		return r
	}
	return StopCancelled
}

// DrainWait bounds how long a finished run waits for its output pipes after the group was killed: a process
// that left the group (setsid) may hold them open forever.
const DrainWait = time.Second

// Spec is one checked call, ready to execute.
type Spec struct {
	Command []string // the tool's command: Command[0] is looked up in PATH
	Args    []string // appended to Command (already checked)
	Env     []string
	Stdin   []byte // nil: the child reads /dev/null
	Timeout time.Duration
}

// Outcome is what a run produced. A non-zero exit is a normal outcome, not an error.
type Outcome struct {
	ExitCode int            // 128+signal when killed by a signal, like a shell reports it
	Signal   syscall.Signal // 0 unless killed by a signal
	Stop     StopReason
	Duration time.Duration
	Stdout   *Capture
	Stderr   *Capture
}

// Run is one process group in flight.
type Run struct {
	pid     int
	started time.Time
	ctx     context.Context         // done once the run is asked to stop; context.Cause says why
	cancel  context.CancelCauseFunc // cancel(reason) is Stop
	done    chan struct{}           // closed when out is final
	out     Outcome
}

// Runner starts runs. It holds no per-run state; the concurrency cap lives with the server.
type Runner struct {
	Reaper    *Reaper
	Workdir   string
	MaxOutput int           // bytes kept per stream
	Grace     time.Duration // between TERM and KILL
}

// Start execs the tool's command plus the caller's arguments (already checked): execve, never a shell. The
// run is stopped when ctx is cancelled, with ctx's cause as its stop reason (see reasonOf).
func (x *Runner) Start(ctx context.Context, spec Spec) (*Run, error) {
	cmd := spec.Command
	argv0, err := exec.LookPath(cmd[0])
	if err != nil {
		return nil, fmt.Errorf("resolve %q: %w", cmd[0], err)
	}
	argv := append(append(make([]string, 0, len(cmd)+len(spec.Args)), cmd...), spec.Args...)

	var stdinR, stdinW *os.File
	if spec.Stdin != nil {
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
		Dir: x.Workdir,
		Env: spec.Env,
		// Fd() also puts the child's ends into blocking mode, which is what programs expect of stdio.
		Files: []uintptr{stdinR.Fd(), outW.Fd(), errW.Fd()},
		Sys: &syscall.SysProcAttr{
			Setpgid:   true,            // its own group, so timeouts kill grandchildren too
			Pdeathsig: syscall.SIGKILL, // if the executor dies without cleaning up
		},
	}
	pid, exited, err := x.Reaper.start(argv0, argv, attr)
	closeAll(stdinR, outW, errW) // the child has its copies
	if err != nil {
		closeAll(stdinW, outR, errR)
		return nil, fmt.Errorf("start %s: %w", argv0, err)
	}

	r := &Run{pid: pid, started: time.Now(), done: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancelCause(ctx)
	r.out.Stdout, r.out.Stderr = newCapture(x.MaxOutput), newCapture(x.MaxOutput)
	var readers sync.WaitGroup
	readers.Go(func() { r.out.Stdout.drain(outR) })
	readers.Go(func() { r.out.Stderr.drain(errR) })
	if stdinW != nil {
		// Ignore errors: a tool that exits without reading its input is not an executor error.
		go func() { _, _ = stdinW.Write(spec.Stdin); _ = stdinW.Close() }()
	}
	go r.supervise(exited, spec.Timeout, x.Grace, &readers, outR, errR, stdinW)
	return r, nil
}

// Stop asks for the run to end: TERM to the group, KILL after the grace period. The first reason wins.
func (r *Run) Stop(reason StopReason) { r.cancel(reason) }

// Wait blocks until the run is over and returns its outcome.
func (r *Run) Wait() Outcome {
	<-r.done
	return r.out
}

// Started is when the run's process was started.
func (r *Run) Started() time.Time { return r.started }

// supervise is the only goroutine that signals the run's group, so "never signal after the sweep" needs no
// lock. The run ends when its first process (the group leader) ends; whatever it left in its group is killed
// then, so that background processes neither keep running nor keep the output pipes open.
func (r *Run) supervise(exited <-chan syscall.WaitStatus, timeout, grace time.Duration,
	readers *sync.WaitGroup, outR, errR, stdinW *os.File) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	stopped := r.ctx.Done()
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
			r.Stop(StopTimeout)
		case <-stopped:
			stopped = nil // handle once
			signalGroup(r.pid, syscall.SIGTERM)
			kill = time.After(grace)
		case <-kill:
			signalGroup(r.pid, syscall.SIGKILL)
			lost = time.NewTicker(time.Second)
			defer lost.Stop()
			lostC = lost.C
		case <-lostC:
			// Only the reaper reaps, so a status cannot go missing; if a future change ever lets one be stolen,
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
	case <-time.After(DrainWait):
		now := time.Now()
		_ = outR.SetReadDeadline(now)
		_ = errR.SetReadDeadline(now)
		<-drained
	}
	closeAll(outR, errR, stdinW) // closing stdinW also unblocks a writer the tool never read from

	r.out.Stop = reasonOf(context.Cause(r.ctx))
	r.cancel(nil) // release the context; a stop from now on changes nothing
	r.out.Duration = time.Since(r.started)
	switch {
	case statusLost:
		r.out.ExitCode = -1
	case ws.Exited():
		r.out.ExitCode = ws.ExitStatus()
	case ws.Signaled():
		r.out.Signal = ws.Signal()
		r.out.ExitCode = 128 + int(ws.Signal())
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
