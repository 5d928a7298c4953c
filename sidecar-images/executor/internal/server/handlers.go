package server

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"skillpod.io/executor/internal/proc"
	"skillpod.io/executor/internal/wire"
)

const (
	// skill-sidecar's rules: timeout defaults to 30 seconds, and above 30 a /skill call turns asynchronous.
	compatSyncLimit      = 30
	compatDefaultTimeout = 30
	// The longest a long poll holds its connection waiting for a run to end.
	maxPollWait = 60 * time.Second
)

func (s *server) listTools(w http.ResponseWriter) {
	closed, why := s.gate.closed()
	writeJSON(w, http.StatusOK, wire.ToolList{Skill: s.cfg.pack, Enabled: !closed, GateReason: why, Tools: s.specs})
}

// call is what the three run routes share once the body is decoded.
type call struct {
	mode  string // sync | async | compat
	tool  string
	args  []string        // the caller's (free-argument tools); once prepared, the arguments that run
	input json.RawMessage // the caller's input (typed tools)
	env   map[string]string
	stdin *string
	peer  peer
	secs  int
	// bodyErr is a fault found while reading the body; it is refused like any other, audit line included.
	bodyErr error
	// release gives back the body budget once the request has been handed on (see readJSON).
	release func()
}

func (s *server) auditFor(c call) auditLine {
	l := auditLine{Mode: c.mode, Tool: c.tool, Args: c.args, Input: auditInput(c.input)}
	if c.peer.ok {
		uid := c.peer.uid
		l.PeerUID = &uid
	}
	for k := range c.env {
		l.EnvKeys = append(l.EnvKeys, k)
	}
	slices.Sort(l.EnvKeys)
	if c.stdin != nil {
		l.StdinBytes = len(*c.stdin)
	}
	return l
}

// refuse answers with err and writes the refusal to the audit trail.
func (s *server) refuse(w http.ResponseWriter, c call, err error) {
	e := answer(err)
	l := s.auditFor(c)
	l.Status, l.Error, l.Reason = e.Status, e.Code, e.Message
	s.audit.write(l)
	writeError(w, e)
}

// start prepares and launches a call; on refusal it has already answered and returns nil.
func (s *server) start(w http.ResponseWriter, c call, started func(*proc.Run), finished func(proc.Outcome)) (*proc.Run, <-chan struct{}) {
	if c.release != nil {
		defer c.release()
	}
	if c.bodyErr != nil {
		s.refuse(w, c, c.bodyErr)
		return nil, nil
	}
	if s.shuttingDown() {
		s.refuse(w, c, errorf(http.StatusServiceUnavailable, "shutting_down", "the executor is shutting down"))
		return nil, nil
	}
	spec, err := s.prepare(c.tool, c.args, c.input, c.env, c.stdin, c.secs)
	if err != nil {
		s.refuse(w, c, err)
		return nil, nil
	}
	c.args = spec.Args // the audit line shows what runs: for a typed tool, the rendered arguments
	rn, over, err := s.launch(spec, s.auditFor(c), started, finished)
	if err != nil {
		s.refuse(w, c, err)
		return nil, nil
	}
	return rn, over
}

// runSync: POST /v1/tools/<tool>/run. The caller going away stops the run: nobody would read its result.
func (s *server) runSync(w http.ResponseWriter, r *http.Request, tool string) {
	var req wire.RunRequest
	c := call{mode: "sync", tool: tool, peer: peerFrom(r.Context())}
	c.release, c.bodyErr = s.readJSON(w, r, &req, true)
	if c.bodyErr == nil && req.Tool != "" {
		c.bodyErr = errorf(http.StatusBadRequest, "bad_request", `"tool" belongs in POST /v1/runs; here the path names it`)
	}
	c.args, c.input, c.env, c.stdin, c.secs = req.Args, req.Input, req.Env, req.Stdin, req.TimeoutSeconds
	rn, over := s.start(w, c, nil, nil)
	if rn == nil {
		return
	}
	s.finishSync(r.Context(), rn, over)
	writeResult(w, tool, rn.Wait())
}

// finishSync waits for a synchronous run to be over; the caller going away (ctx) stops it.
func (s *server) finishSync(ctx context.Context, rn *proc.Run, over <-chan struct{}) {
	stop := context.AfterFunc(ctx, func() { rn.Stop(proc.StopDisconnect) })
	<-over
	stop()
}

// submit: POST /v1/runs starts an asynchronous run and answers 202 with its id at once.
func (s *server) submit(w http.ResponseWriter, r *http.Request) {
	var req wire.RunRequest
	c := call{mode: "async", peer: peerFrom(r.Context())}
	c.release, c.bodyErr = s.readJSON(w, r, &req, true)
	c.tool, c.args, c.input, c.env, c.stdin, c.secs = req.Tool, req.Args, req.Input, req.Env, req.Stdin, req.TimeoutSeconds
	j, ok := s.startJob(w, c)
	if !ok {
		return
	}
	w.Header().Set("Location", "/v1/runs/"+j.id)
	s.writeView(w, http.StatusAccepted, j)
}

// startJob launches c as a job stored from submission on.
func (s *server) startJob(w http.ResponseWriter, c call) (*job, bool) {
	j := &job{id: newID(), tool: c.tool, created: time.Now(), settled: make(chan struct{})}
	rn, _ := s.start(w, c,
		func(rn *proc.Run) { j.run = rn; s.jobs.add(j) },
		func(o proc.Outcome) {
			// Record first, then report it finished: whoever sees the run as finished also sees the
			// store's eviction that its end caused.
			s.jobs.finish(j, int64(o.Stdout.Len()+o.Stderr.Len()))
			close(j.settled)
		})
	return j, rn != nil
}

// view is a job's state without its result; done says whether o is its final outcome.
func (s *server) view(j *job) (v wire.RunView, o proc.Outcome, done bool) {
	v = wire.RunView{ID: j.id, Tool: j.tool, State: wire.StateRunning, CreatedAt: j.created.UTC()}
	select {
	case <-j.settled:
		o = j.run.Wait()
		v.State = stateOf(o)
		end := j.run.Started().Add(o.Duration).UTC()
		v.FinishedAt = &end
		return v, o, true
	default:
		return v, o, false
	}
}

func (s *server) listRuns(w http.ResponseWriter) {
	views := []wire.RunView{}
	for _, j := range s.jobs.list() {
		v, _, _ := s.view(j) // without results: listing is for finding ids; poll one run for its output
		views = append(views, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": views})
}

// lookup finds a stored job; nil means unknown or expired (404).
func (s *server) lookup(id string) *job {
	if !runID.MatchString(id) {
		return nil
	}
	return s.jobs.get(id)
}

// poll: GET /v1/runs/<id>[?wait=<seconds>]. With wait, it answers as soon as the run ends, or after that many
// seconds (at most 60) with the run still running: a long poll instead of a busy loop.
func (s *server) poll(w http.ResponseWriter, r *http.Request, id string) {
	j := s.lookup(id)
	if j == nil {
		notFound(w)
		return
	}
	if q := r.URL.Query().Get("wait"); q != "" {
		secs, err := strconv.ParseFloat(q, 64)
		if err != nil || secs < 0 {
			writeError(w, errorf(http.StatusBadRequest, "bad_request", "wait must be a number of seconds"))
			return
		}
		t := time.NewTimer(min(time.Duration(secs*float64(time.Second)), maxPollWait))
		select {
		case <-j.settled:
		case <-t.C:
		case <-r.Context().Done():
		case <-s.ctx.Done():
		}
		t.Stop()
	}
	s.writeView(w, http.StatusOK, j)
}

// cancel: POST /v1/runs/<id>/cancel. Idempotent; answers once the run has ended (TERM, grace, KILL bound it).
func (s *server) cancel(w http.ResponseWriter, r *http.Request, id string) {
	j := s.lookup(id)
	if j == nil {
		notFound(w)
		return
	}
	j.run.Stop(proc.StopCancelled)
	t := time.NewTimer(s.cfg.killGrace + proc.DrainWait + 2*time.Second)
	defer t.Stop()
	select {
	case <-j.settled:
	case <-t.C:
	case <-r.Context().Done():
	}
	s.writeView(w, http.StatusOK, j)
}

// compatRun: POST /skill/<tool>, skill-sidecar's API. A timeout above 30 seconds answers 202 with a task_id,
// as skill-sidecar does; the timeout is still capped by the tool's own.
func (s *server) compatRun(w http.ResponseWriter, r *http.Request, tool string) {
	var req wire.CompatRequest
	c := call{mode: "compat", tool: tool, peer: peerFrom(r.Context())}
	c.release, c.bodyErr = s.readJSON(w, r, &req, false) // lenient, like the API it imitates
	secs := compatDefaultTimeout
	if req.Timeout != nil {
		secs = *req.Timeout
		if secs <= 0 && c.bodyErr == nil {
			c.bodyErr = errorf(http.StatusBadRequest, "bad_request", "timeout must be a positive number of seconds")
		}
	}
	c.args, c.input, c.env, c.stdin, c.secs = req.Args, req.Input, req.Env, req.Stdin, secs
	if secs > compatSyncLimit {
		j, ok := s.startJob(w, c)
		if ok {
			writeJSON(w, http.StatusAccepted, wire.CompatPending{Status: "pending", TaskID: j.id})
		}
		return
	}
	rn, over := s.start(w, c, nil, nil)
	if rn == nil {
		return
	}
	s.finishSync(r.Context(), rn, over)
	writeCompat(w, "", rn.Wait())
}

// compatPoll: GET /task/<id>. Unlike skill-sidecar, a running task answers "pending", not 404.
func (s *server) compatPoll(w http.ResponseWriter, id string) {
	j := s.lookup(id)
	if j == nil {
		notFound(w)
		return
	}
	select {
	case <-j.settled:
		writeCompat(w, j.id, j.run.Wait())
	default:
		writeJSON(w, http.StatusOK, wire.CompatPending{Status: "pending", TaskID: j.id})
	}
}
