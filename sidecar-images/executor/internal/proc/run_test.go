package proc

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// A run's stop reason is the cause of its cancellation: the first one given, its own timeout, or its parent's.
func TestStopReasonIsTheCancellationCause(t *testing.T) {
	x := &Runner{Reaper: NewReaper(), Workdir: t.TempDir(), MaxOutput: 1 << 10, Grace: time.Second}
	start := func(ctx context.Context, timeout time.Duration, command ...string) *Run {
		t.Helper()
		rn, err := x.Start(ctx, Spec{Command: command, Env: []string{"PATH=/usr/bin:/bin"}, Timeout: timeout})
		if err != nil {
			t.Fatal(err)
		}
		return rn
	}

	rn := start(context.Background(), time.Minute, "sleep", "60")
	rn.Stop(StopCancelled)
	rn.Stop(StopDisabled) // too late: the first reason wins
	if o := rn.Wait(); o.Stop != StopCancelled || o.Signal != syscall.SIGTERM || o.ExitCode != 128+int(syscall.SIGTERM) {
		t.Errorf("stopped: %+v", o)
	}

	rn = start(context.Background(), 50*time.Millisecond, "sleep", "60")
	if o := rn.Wait(); o.Stop != StopTimeout {
		t.Errorf("timed out: %+v", o)
	}

	parent, shutdown := context.WithCancelCause(context.Background())
	rn = start(parent, time.Minute, "sleep", "60")
	shutdown(StopShutdown)
	if o := rn.Wait(); o.Stop != StopShutdown {
		t.Errorf("parent cancelled: %+v", o)
	}
	// A run started under a parent that is already cancelled is stopped at once.
	if o := start(parent, time.Minute, "sleep", "60").Wait(); o.Stop != StopShutdown {
		t.Errorf("started after the parent's cancellation: %+v", o)
	}

	rn = start(context.Background(), time.Minute, "true")
	o := rn.Wait()
	rn.Stop(StopCancelled) // after the end: changes nothing
	if o.Stop != StopNone || o.ExitCode != 0 || rn.Wait().Stop != StopNone {
		t.Errorf("ended on its own: %+v", o)
	}

	if r := reasonOf(context.Canceled); r != StopCancelled {
		t.Errorf("a cause that is not a StopReason: %q", r)
	}
}
