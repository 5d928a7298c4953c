package server

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"
	"unicode/utf8"

	"skillpod.io/executor/internal/proc"
	"skillpod.io/executor/internal/wire"
)

// Results are streamed into the response instead of marshalled whole: json.Marshal of 2 × 1 MiB of output
// that needs escaping (a NUL becomes six bytes) builds a buffer of up to 12 MiB, plus its growth copies, for
// every answer in flight. Streaming keeps the executor's memory at the output caps plus a small buffer,
// whatever the output. The small fields are still marshalled by encoding/json; only the output strings are
// written by hand.

// resultHead is wire.RunResult without its output strings.
type resultHead struct {
	Tool            string `json:"tool"`
	ExitCode        int    `json:"exitCode"`
	Signal          string `json:"signal,omitempty"`
	TimedOut        bool   `json:"timedOut"`
	Cancelled       bool   `json:"cancelled"`
	StopReason      string `json:"stopReason,omitempty"`
	DurationMs      int64  `json:"durationMs"`
	StdoutBytes     int64  `json:"stdoutBytes"`
	StdoutTruncated bool   `json:"stdoutTruncated"`
	StderrBytes     int64  `json:"stderrBytes"`
	StderrTruncated bool   `json:"stderrTruncated"`
	Truncated       bool   `json:"truncated"`
}

func headOf(tool string, o proc.Outcome) resultHead {
	h := resultHead{
		Tool:            tool,
		ExitCode:        o.ExitCode,
		TimedOut:        o.Stop == proc.StopTimeout,
		Cancelled:       o.Stop != proc.StopNone && o.Stop != proc.StopTimeout,
		StopReason:      string(o.Stop),
		DurationMs:      o.Duration.Milliseconds(),
		StdoutBytes:     o.Stdout.Total(),
		StdoutTruncated: o.Stdout.Truncated(),
		StderrBytes:     o.Stderr.Total(),
		StderrTruncated: o.Stderr.Truncated(),
	}
	if o.Signal != 0 {
		h.Signal = proc.SignalName(o.Signal)
	}
	h.Truncated = h.StdoutTruncated || h.StderrTruncated
	return h
}

// jsonStream writes one JSON object whose large string fields are escaped on the fly.
type jsonStream struct {
	w   *bufio.Writer
	err error
}

// open writes v (a struct marshalled as an object) without its closing brace, so fields can follow.
func (j *jsonStream) open(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		j.err = err
		return
	}
	_, _ = j.w.Write(b[:len(b)-1])
}

func (j *jsonStream) raw(s string) { _, _ = j.w.WriteString(s) }

// output writes `,"<name>":"<data>"`: text when it is valid UTF-8, otherwise base64 plus a
// `"<name>Encoding":"base64"` field, so bytes are never silently replaced. lossy (for skill-sidecar
// clients, which always got plain strings) replaces invalid UTF-8 with U+FFFD instead.
func (j *jsonStream) output(name string, data []byte, lossy bool) {
	j.raw(`,"` + name + `":"`)
	if lossy || utf8.Valid(data) {
		writeEscaped(j.w, data)
		j.raw(`"`)
		return
	}
	enc := base64.NewEncoder(base64.StdEncoding, j.w) // base64 needs no JSON escaping
	_, _ = enc.Write(data)
	_ = enc.Close()
	j.raw(`","` + name + `Encoding":"base64"`)
}

func (j *jsonStream) result(tool string, o proc.Outcome) {
	j.open(headOf(tool, o))
	j.output("stdout", o.Stdout.Bytes(), false)
	j.output("stderr", o.Stderr.Bytes(), false)
	j.raw("}")
}

const hexDigits = "0123456789abcdef"

// writeEscaped writes data as the inside of a JSON string. Invalid UTF-8 becomes U+FFFD, as encoding/json
// does it.
func writeEscaped(w *bufio.Writer, data []byte) {
	start := 0
	flush := func(i int) {
		if start < i {
			_, _ = w.Write(data[start:i])
		}
	}
	for i := 0; i < len(data); {
		c := data[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			flush(i)
			switch c {
			case '"', '\\':
				_, _ = w.Write([]byte{'\\', c})
			case '\n':
				_, _ = w.WriteString(`\n`)
			case '\r':
				_, _ = w.WriteString(`\r`)
			case '\t':
				_, _ = w.WriteString(`\t`)
			default:
				_, _ = w.Write([]byte{'\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf]})
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			flush(i)
			_, _ = w.WriteString(`\ufffd`)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript parsers that eval; escape them as
		// encoding/json does.
		if r == '\u2028' || r == '\u2029' {
			flush(i)
			_, _ = w.WriteString(`\u202` + string(hexDigits[r&0xf]))
			i += size
			start = i
			continue
		}
		i += size
	}
	flush(len(data))
}

// stream answers with a JSON body written by fill; see writeJSON for the write deadline.
func stream(w http.ResponseWriter, status int, fill func(*jsonStream)) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeTimeout))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	bw := bufio.NewWriterSize(w, 32<<10)
	j := &jsonStream{w: bw}
	fill(j)
	j.raw("\n")
	_ = bw.Flush()
}

// writeResult answers with a finished run.
func writeResult(w http.ResponseWriter, tool string, o proc.Outcome) {
	stream(w, http.StatusOK, func(j *jsonStream) { j.result(tool, o) })
}

// writeView answers with an asynchronous run; its result, if finished, is streamed.
func (s *server) writeView(w http.ResponseWriter, status int, jb *job) {
	v, o, done := s.view(jb)
	stream(w, status, func(j *jsonStream) {
		j.open(v)
		if done {
			j.raw(`,"result":`)
			j.result(jb.tool, o)
		}
		j.raw("}")
	})
}

// compatHead is the skill-sidecar answer without its output strings; timed_out and truncated are additions
// its clients ignore.
type compatHead struct {
	Status   string `json:"status"` // ok | error | pending
	TaskID   string `json:"task_id,omitempty"`
	ExitCode int    `json:"exit_code"`
	TimedOut bool   `json:"timed_out,omitempty"`
	Trunc    bool   `json:"truncated,omitempty"`
}

// writeCompat answers a skill-sidecar client with a finished run.
func writeCompat(w http.ResponseWriter, taskID string, o proc.Outcome) {
	h := compatHead{Status: "error", TaskID: taskID, ExitCode: o.ExitCode, TimedOut: o.Stop == proc.StopTimeout,
		Trunc: o.Stdout.Truncated() || o.Stderr.Truncated()}
	if o.ExitCode == 0 && o.Stop == proc.StopNone {
		h.Status = "ok"
	}
	stream(w, http.StatusOK, func(j *jsonStream) {
		j.open(h)
		j.output("stdout", o.Stdout.Bytes(), true)
		j.output("stderr", o.Stderr.Bytes(), true)
		j.raw("}")
	})
}

// stateOf is the state of an asynchronous run that has ended.
func stateOf(o proc.Outcome) string {
	switch {
	case o.Stop == proc.StopTimeout:
		return wire.StateTimedOut
	case o.Stop != proc.StopNone:
		return wire.StateCancelled
	case o.ExitCode == 0:
		return wire.StateSucceeded
	default:
		return wire.StateFailed
	}
}

const writeTimeout = 30 * time.Second

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

func writeError(w http.ResponseWriter, e *wire.Error) {
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	case http.StatusForbidden, http.StatusRequestEntityTooLarge:
		w.Header().Set("Connection", "close") // nothing more to say to this connection
	}
	writeJSON(w, e.Status, e)
}
