// Package wire is the contract between the executor and its clients, shared by the server (internal/server) and
// every front end (the call, list and probe commands, the MCP bridge): the JSON of each request and answer of the
// /ipc API, the tools as SKILLPOD_TOOLS gives them, and where a pack's socket is. docs/ipc.md is its reference;
// the TypeScript client (clients/typescript) mirrors it.
package wire

import (
	"encoding/json"
	"time"
)

// ToolList is the answer of GET /v1/tools.
type ToolList struct {
	Skill      string  `json:"skill"`
	Enabled    bool    `json:"enabled"`
	GateReason string  `json:"gateReason,omitempty"`
	Tools      []*Tool `json:"tools"`
}

// RunRequest is the body of a synchronous run, and (with Tool) of an asynchronous one. A typed tool takes
// Input (a JSON object checked against its parameters), a free-argument tool takes Args; a tool without
// either takes neither.
type RunRequest struct {
	Tool           string            `json:"tool,omitempty"` // only for POST /v1/runs
	Args           []string          `json:"args,omitempty"`
	Input          json.RawMessage   `json:"input,omitempty"`
	Env            map[string]string `json:"env,omitempty"`
	Stdin          *string           `json:"stdin,omitempty"`
	TimeoutSeconds int               `json:"timeoutSeconds,omitempty"` // may only shorten the tool's timeout
}

// CompatRequest is the skill-sidecar body of POST /skill/<tool>; Input is this executor's addition, for
// typed tools.
type CompatRequest struct {
	Args    []string          `json:"args"`
	Input   json.RawMessage   `json:"input"`
	Env     map[string]string `json:"env"`
	Stdin   *string           `json:"stdin"`
	Timeout *int              `json:"timeout"` // seconds; above 30 the call turns asynchronous
}

// CompatPending is skill-sidecar's answer for a task that has not ended.
type CompatPending struct {
	Status string `json:"status"`
	TaskID string `json:"task_id"`
}

// RunResult is a finished run as clients decode it (the server streams it). Output is text when it is valid
// UTF-8, otherwise base64 with the *Encoding field set, so bytes are never silently replaced.
type RunResult struct {
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
	StateRunning   = "running"
	StateSucceeded = "succeeded" // exited 0
	StateFailed    = "failed"    // exited non-zero or was killed by a signal it did not get from us
	StateTimedOut  = "timedOut"
	StateCancelled = "cancelled" // cancelled, disconnected, switched off, or executor shutdown: see stopReason
)

// RunView is an asynchronous run as polling shows it.
type RunView struct {
	ID         string     `json:"id"`
	Tool       string     `json:"tool"`
	State      string     `json:"state"`
	CreatedAt  time.Time  `json:"createdAt"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	Result     *RunResult `json:"result,omitempty"`
}

// ToolHealth says whether a tool's command resolves to an executable in this container.
type ToolHealth struct {
	Name     string `json:"name"`
	OK       bool   `json:"ok"`
	Resolved string `json:"resolved,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Health is the answer of GET /v1/health.
type Health struct {
	Status         string       `json:"status"`
	Skill          string       `json:"skill"`
	Ready          bool         `json:"ready"`   // every tool's command resolves: what the startup probe needs
	Enabled        bool         `json:"enabled"` // the gate is open
	GateReason     string       `json:"gateReason,omitempty"`
	Tools          []ToolHealth `json:"tools"`
	Running        int          `json:"running"`
	MaxConcurrency int          `json:"maxConcurrency"`
	Orphans        int64        `json:"orphansReaped"`
}
