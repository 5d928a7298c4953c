package server

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"skillpod.io/executor/internal/clip"
	"skillpod.io/executor/internal/strictjson"
)

// auditor writes one JSON line per call to stdout, so `kubectl logs <pod> -c skill-<pack>` is the audit
// trail. Refused calls are written too: an agent trying --token is exactly what the trail is for. Diagnostics
// go to stderr, never here. Argument values are shortened; env values and stdin are never written (they may
// carry data the agent fetched), only their keys and size.
type auditor struct {
	mu    sync.Mutex
	w     io.Writer
	skill string
}

const (
	auditMaxArgLen = 256
	auditMaxArgs   = 64
)

type auditLine struct {
	Time        string   `json:"time"`
	Skill       string   `json:"skill"`
	Tool        string   `json:"tool,omitempty"`
	Args        []string `json:"args"`            // the caller's arguments, or for a typed tool the rendered ones
	Input       any      `json:"input,omitempty"` // a typed call's input, keys and values (values shortened)
	Mode        string   `json:"mode"`            // sync | async | compat | refused (a caller that is not the agent)
	Route       string   `json:"route,omitempty"` // for refused: what it asked for
	RunID       string   `json:"runId,omitempty"`
	PeerUID     *uint32  `json:"peerUid,omitempty"`
	Status      int      `json:"status"`          // HTTP status the call was answered with
	Error       string   `json:"error,omitempty"` // the refusal's error code
	Reason      string   `json:"reason,omitempty"`
	ExitCode    *int     `json:"exitCode,omitempty"`
	Signal      string   `json:"signal,omitempty"`
	DurationMs  int64    `json:"durationMs"`
	StdoutBytes int64    `json:"stdoutBytes"`
	StderrBytes int64    `json:"stderrBytes"`
	Truncated   bool     `json:"truncated"`
	TimedOut    bool     `json:"timedOut"`
	StopReason  string   `json:"stopReason,omitempty"`
	EnvKeys     []string `json:"envKeys,omitempty"`
	StdinBytes  int      `json:"stdinBytes,omitempty"`
}

func (a *auditor) write(l auditLine) {
	l.Time = time.Now().UTC().Format(time.RFC3339Nano)
	l.Skill = a.skill
	l.Tool = clip.Text(l.Tool, 80)
	l.Args = auditArgs(l.Args)
	if l.EnvKeys != nil {
		l.EnvKeys = auditArgs(l.EnvKeys) // a caller chooses how many and how long
	}
	b, err := json.Marshal(l)
	if err != nil {
		return // cannot happen for this type
	}
	b = append(b, '\n')
	a.mu.Lock()
	defer a.mu.Unlock()
	_, _ = a.w.Write(b) // one write per line, so lines never interleave
}

// auditInput records a caller's input for the trail: an object as keys and values (each value's JSON cut to
// auditMaxArgLen bytes, at most auditMaxArgs keys), anything else as shortened text. It is written as given,
// refused or not: what the agent tried is what the trail is for.
func auditInput(raw json.RawMessage) any {
	if strictjson.IsNull(raw) {
		return nil
	}
	var obj map[string]json.RawMessage
	if !strictjson.IsKind(raw, '{') || json.Unmarshal(raw, &obj) != nil {
		return clip.Text(string(raw), auditMaxArgLen)
	}
	out := map[string]json.RawMessage{}
	for i, k := range slices.Sorted(maps.Keys(obj)) {
		if i == auditMaxArgs {
			out["…"] = json.RawMessage(fmt.Sprintf(`"(+%d more keys)"`, len(obj)-i))
			break
		}
		v := obj[k]
		if len(v) > auditMaxArgLen {
			v, _ = json.Marshal(clip.Text(string(v), auditMaxArgLen))
		}
		out[clip.Text(k, 80)] = v
	}
	return out
}

// auditArgs keeps the trail readable and bounded: long arguments are cut, and only the first ones are listed.
func auditArgs(args []string) []string {
	out := make([]string, 0, min(len(args), auditMaxArgs+1))
	for i, a := range args {
		if i == auditMaxArgs {
			out = append(out, fmt.Sprintf("…(+%d more arguments)", len(args)-i))
			break
		}
		out = append(out, clip.Text(a, auditMaxArgLen))
	}
	return out
}
