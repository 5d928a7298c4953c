package server

import (
	"context"
	"sync"
)

// budget is a weighted semaphore over bytes: request bodies are read only into memory it grants. Without it
// every open connection could hold a body of up to the body cap at once (200 connections: hundreds of MiB);
// with it, bodies being read and decoded hold at most the budget, and other callers wait (bounded by the read
// timeout) with their bytes still in the kernel's socket buffers.
type budget struct {
	mu      sync.Mutex
	free    int64
	waiters []*budgetWaiter // first come, first served: a large body is not starved by small ones
}

type budgetWaiter struct {
	n     int64
	ready chan struct{}
}

func newBudget(n int64) *budget { return &budget{free: n} }

// acquire takes n bytes, waiting until they are free or ctx ends (then false).
func (b *budget) acquire(ctx context.Context, n int64) bool {
	b.mu.Lock()
	if len(b.waiters) == 0 && b.free >= n {
		b.free -= n
		b.mu.Unlock()
		return true
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return true
	case <-ctx.Done():
		b.mu.Lock()
		defer b.mu.Unlock()
		select {
		case <-w.ready: // granted meanwhile: give it back
			b.free += n
			b.grantLocked()
		default:
			for i, x := range b.waiters {
				if x == w {
					b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
					break
				}
			}
			b.grantLocked() // the head may have changed
		}
		return false
	}
}

func (b *budget) release(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.free += n
	b.grantLocked()
}

func (b *budget) grantLocked() {
	for len(b.waiters) > 0 && b.free >= b.waiters[0].n {
		w := b.waiters[0]
		b.waiters = b.waiters[1:]
		b.free -= w.n
		close(w.ready)
	}
}
