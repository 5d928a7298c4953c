package proc

import (
	"errors"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Reaper owns the executor's child processes: it is the only place that forks and the only caller of wait4.
//
// As PID 1 of its container (or as a child subreaper, which it makes itself), the executor inherits every
// orphaned process and must reap them, or the zombies accumulate. Reaping with wait4(-1) would steal the exit
// status of runs that os/exec's Cmd.Wait is waiting for, so runs are not started with os/exec at all:
//   - start (for Runner.Start) forks with syscall.ForkExec while holding mu and registers the pid before
//     releasing it;
//   - Reap calls wait4(-1, WNOHANG) and looks the pid up under the same mu. A child that exits before it is
//     registered is reaped, but the lookup waits for mu and so finds the registration: no status is lost.
//   - a pid nobody registered is an orphan: reaped, counted, dropped.
//
// SIGCHLD wakes the reaper; a one-second tick covers coalesced signals.
type Reaper struct {
	mu      sync.Mutex
	waiters map[int]chan syscall.WaitStatus
	orphans atomic.Int64 // processes reaped that the executor did not start
	wake    chan os.Signal
}

const prSetChildSubreaper = 36 // PR_SET_CHILD_SUBREAPER from <linux/prctl.h>; not in package syscall

// NewReaper makes the executor a child subreaper and starts reaping; there is one per process.
func NewReaper() *Reaper {
	p := &Reaper{waiters: map[int]chan syscall.WaitStatus{}, wake: make(chan os.Signal, 1)}
	// When the executor is not PID 1 (shareProcessNamespace, tests), orphans of a run would go to some other
	// init; as a subreaper they come back to us, are reaped here, and can be seen in tests. Best effort.
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	signal.Notify(p.wake, syscall.SIGCHLD)
	go p.loop()
	return p
}

func (p *Reaper) loop() {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-p.wake:
		case <-tick.C:
		}
		p.Reap()
	}
}

// start forks and execs argv0 and registers the child. The returned channel yields its wait status once.
func (p *Reaper) start(argv0 string, argv []string, attr *syscall.ProcAttr) (int, <-chan syscall.WaitStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pid, err := syscall.ForkExec(argv0, argv, attr)
	if err != nil {
		return 0, nil, err
	}
	ch := make(chan syscall.WaitStatus, 1)
	p.waiters[pid] = ch
	return pid, ch, nil
}

// Reap collects every child that has exited. The reaper calls it on every SIGCHLD; the server calls it once
// more at exit.
func (p *Reaper) Reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return // ECHILD: no children; 0: none has exited yet
		}
		p.mu.Lock()
		ch, ok := p.waiters[pid]
		delete(p.waiters, pid)
		p.mu.Unlock()
		if ok {
			ch <- ws // buffered: never blocks
		} else {
			p.orphans.Add(1)
		}
	}
}

// Orphans is how many processes were reaped that the executor did not start.
func (p *Reaper) Orphans() int64 { return p.orphans.Load() }

// signalGroup sends sig to the process group pgid (every run is its own group, led by its first process).
// Linux does not reuse a pid while it still names a live process group, so this cannot hit a stranger while
// any member of the run's group lives; callers stop signalling once the group has been swept.
func signalGroup(pgid int, sig syscall.Signal) {
	if pgid > 1 {
		_ = syscall.Kill(-pgid, sig)
	}
}
