package proc

import (
	"io"
	"unicode/utf8"
)

// Capture keeps the first limit bytes of a stream and counts the rest. It keeps reading past the limit, so a
// tool that writes a lot finishes normally instead of blocking on a full pipe or dying of SIGPIPE, but it never
// holds more than limit bytes: the buffer grows by hand, never beyond limit (append could overshoot).
type Capture struct {
	limit int
	buf   []byte
	total int64
}

const readChunk = 64 << 10 // one Linux pipe buffer

// newCapture keeps at most limit bytes.
func newCapture(limit int) *Capture {
	return &Capture{limit: limit}
}

// drain reads r to EOF or error (a read deadline set to stop waiting for processes that escaped the group).
func (c *Capture) drain(r io.Reader) {
	chunk := make([]byte, readChunk)
	for {
		n, err := r.Read(chunk)
		if n > 0 {
			c.keep(chunk[:n])
		}
		if err != nil {
			return
		}
	}
}

func (c *Capture) keep(p []byte) {
	c.total += int64(len(p))
	room := c.limit - len(c.buf)
	if room <= 0 {
		return
	}
	if len(p) > room {
		p = p[:room]
	}
	if need := len(c.buf) + len(p); need > cap(c.buf) {
		newCap := max(2*cap(c.buf), need, 4096)
		newCap = min(newCap, c.limit)
		grown := make([]byte, len(c.buf), newCap)
		copy(grown, c.buf)
		c.buf = grown
	}
	c.buf = append(c.buf, p...)
}

// Total is how many bytes the stream carried, kept or not.
func (c *Capture) Total() int64 { return c.total }

// Len is how many bytes are kept: what the capture holds in memory.
func (c *Capture) Len() int { return len(c.buf) }

// Truncated reports whether the stream carried more than was kept.
func (c *Capture) Truncated() bool { return c.total > int64(len(c.buf)) }

// Bytes returns the kept bytes. A cut can split a UTF-8 sequence; the partial rune at the end of a truncated
// stream is dropped so that text output stays valid text.
func (c *Capture) Bytes() []byte {
	b := c.buf
	if !c.Truncated() {
		return b
	}
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}
