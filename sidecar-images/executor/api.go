package main

import (
	"encoding/json"
	"net/http"
	"time"
)

// Wire types of the /ipc API, all in this file so that every front end (the HTTP routes, the call and list
// commands, and later an MCP server) shares them. docs/ipc.md is their reference; the TypeScript client
// (clients/typescript) mirrors them. The tool itself as listed is Tool (tools.go): its JSON is the
// SkillPack's spec.tools entry, parameters verbatim.

// toolList is the answer of GET /v1/tools.
type toolList struct {
	Skill      string  `json:"skill"`
	Enabled    bool    `json:"enabled"`
	GateReason string  `json:"gateReason,omitempty"`
	Tools      []*Tool `json:"tools"`
}

// runRequest is the body of a synchronous run, and (with Tool) of an asynchronous one. A typed tool takes
// Input (a JSON object checked against its parameters), a free-argument tool takes Args; a tool without
// either takes neither.
type runRequest struct {
	Tool           string            `json:"tool,omitempty"` // only for POST /v1/runs
	Args           []string          `json:"args,omitempty"`
	Input          json.RawMessage   `json:"input,omitempty"`
	Env            map[string]string `json:"env,omitempty"`
	Stdin          *string           `json:"stdin,omitempty"`
	TimeoutSeconds int               `json:"timeoutSeconds,omitempty"` // may only shorten the tool's timeout
}

// compatRequest is the skill-sidecar body of POST /skill/<tool>; Input is this executor's addition, for
// typed tools.
type compatRequest struct {
	Args    []string          `json:"args"`
	Input   json.RawMessage   `json:"input"`
	Env     map[string]string `json:"env"`
	Stdin   *string           `json:"stdin"`
	Timeout *int              `json:"timeout"` // seconds; above compatSyncLimit the call turns asynchronous
}

// runResult is a finished run as clients decode it (the server streams it, see encode.go). Output is text
// when it is valid UTF-8, otherwise base64 with the *Encoding field set, so bytes are never silently replaced.
type runResult struct {
	Tool            string `json:"tool"`
	ExitCode        int    `json:"exitCode"`
	Signal          string `json:"signal,omitempty"`
	TimedOut        bool   `json:"timedOut"`
	Cancelled       bool   `json:"cancelled"`
	StopReason      string `json:"stopReason,omitempty"`
	DurationMs      int64  `json:"durationMs"`
	Stdout          string `json:"stdout"`
	StdoutEncoding  string `json:"stdoutEncoding,omitempty"`
	StdoutBytes     int64  `json:"stdoutBytes"`
	StdoutTruncated bool   `json:"stdoutTruncated"`
	Stderr          string `json:"stderr"`
	StderrEncoding  string `json:"stderrEncoding,omitempty"`
	StderrBytes     int64  `json:"stderrBytes"`
	StderrTruncated bool   `json:"stderrTruncated"`
	Truncated       bool   `json:"truncated"`
}

// Run states of an asynchronous run.
const (
	stateRunning   = "running"
	stateSucceeded = "succeeded" // exited 0
	stateFailed    = "failed"    // exited non-zero or was killed by a signal it did not get from us
	stateTimedOut  = "timedOut"
	stateCancelled = "cancelled" // cancelled, disconnected, switched off, or executor shutdown: see stopReason
)

// runView is an asynchronous run as polling shows it.
type runView struct {
	ID         string     `json:"id"`
	Tool       string     `json:"tool"`
	State      string     `json:"state"`
	CreatedAt  time.Time  `json:"createdAt"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	Result     *runResult `json:"result,omitempty"`
}

// apiError is every executor error: an HTTP status and a JSON body. A tool's non-zero exit is never one.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"error"`
	Message string `json:"message"`
	Index   *int   `json:"index,omitempty"`     // argument_refused: which argument (0-based)
	Param   string `json:"parameter,omitempty"` // input_refused: which parameter
}

func (e *apiError) Error() string { return e.Message }

func errorf(status int, code, msg string) *apiError {
	return &apiError{Status: status, Code: code, Message: msg}
}

func stateOf(o outcome) string {
	switch {
	case o.stop == stopTimeout:
		return stateTimedOut
	case o.stop != stopNone:
		return stateCancelled
	case o.exitCode == 0:
		return stateSucceeded
	default:
		return stateFailed
	}
}

// writeJSON answers with v. The write deadline is set here, per response, because a global WriteTimeout
// would cut off synchronous runs that legitimately last minutes; this way a client that stops reading can
// hold its own connection for at most writeTimeout, and nobody else's.
func writeJSON(w http.ResponseWriter, status int, v any) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeTimeout))
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"internal","message":"encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func writeError(w http.ResponseWriter, e *apiError) {
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	case http.StatusForbidden, http.StatusRequestEntityTooLarge:
		w.Header().Set("Connection", "close") // nothing more to say to this connection
	}
	writeJSON(w, e.Status, e)
}

const writeTimeout = 30 * time.Second
