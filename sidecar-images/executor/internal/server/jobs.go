package server

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"sync"
	"time"

	"skillpod.io/executor/internal/proc"
)

// job is an asynchronous run. It is stored at submission, before its process has even started running, so
// polling a running job answers "running", never 404.
type job struct {
	id       string
	tool     string
	created  time.Time
	run      *proc.Run
	settled  chan struct{} // closed once the run is over and recorded here: what polls wait for
	finished time.Time     // zero while running; guarded by jobStore.mu
	size     int64         // bytes of output held once finished
}

// jobStore keeps running jobs until they end and finished ones for a bounded time, count and size; the oldest
// finished result goes first. Running jobs are never evicted: the concurrency cap bounds them.
type jobStore struct {
	mu       sync.Mutex
	jobs     map[string]*job
	done     []*job // finished jobs, oldest first
	bytes    int64  // output held by finished jobs
	ttl      time.Duration
	maxCount int
	maxBytes int64
}

func newJobStore(ttl time.Duration, maxCount int, maxBytes int64) *jobStore {
	return &jobStore{jobs: map[string]*job{}, ttl: ttl, maxCount: maxCount, maxBytes: maxBytes}
}

// newID returns 128 random bits in hex: ids cannot be guessed or enumerated.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b[:])
}

func (s *jobStore) add(j *job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs[j.id] = j
}

// finish records that j's run is over and evicts what no longer fits.
func (s *jobStore) finish(j *job, size int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j.finished, j.size = time.Now(), size
	s.done = append(s.done, j)
	s.bytes += size
	s.evictLocked(time.Now())
}

// get returns the job, or nil if it never existed or has expired.
func (s *jobStore) get(id string) *job {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evictLocked(time.Now())
	return s.jobs[id]
}

// list returns the stored jobs, newest first.
func (s *jobStore) list() []*job {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evictLocked(time.Now())
	out := make([]*job, 0, len(s.jobs))
	for _, j := range s.jobs {
		out = append(out, j)
	}
	slices.SortFunc(out, func(a, b *job) int { return b.created.Compare(a.created) })
	return out
}

// sweep drops expired results even when nobody asks; the server calls it periodically.
func (s *jobStore) sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evictLocked(time.Now())
}

func (s *jobStore) evictLocked(now time.Time) {
	for len(s.done) > 0 {
		j := s.done[0]
		if len(s.done) <= s.maxCount && s.bytes <= s.maxBytes && now.Sub(j.finished) < s.ttl {
			return
		}
		s.done[0] = nil
		s.done = s.done[1:]
		s.bytes -= j.size
		delete(s.jobs, j.id)
	}
}
