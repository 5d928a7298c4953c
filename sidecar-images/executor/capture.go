package main

import (
	"io"
	"unicode/utf8"
)

// capture keeps the first limit bytes of a stream and counts the rest. It keeps reading past the limit, so a
// tool that writes a lot finishes normally instead of blocking on a full pipe or dying of SIGPIPE, but it never
// holds more than limit bytes: the buffer grows by hand, never beyond limit (append could overshoot).
type capture struct {
	limit int
	buf   []byte
	total int64
}

const readChunk = 64 << 10 // one Linux pipe buffer

func newCapture(limit int) *capture {
	return &capture{limit: limit}
}

// drain reads r to EOF or error (a read deadline set to stop waiting for processes that escaped the group).
func (c *capture) drain(r io.Reader) {
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

func (c *capture) keep(p []byte) {
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

func (c *capture) truncated() bool { return c.total > int64(len(c.buf)) }

// bytes returns the kept bytes. A cut can split a UTF-8 sequence; the partial rune at the end of a truncated
// stream is dropped so that text output stays valid text.
func (c *capture) bytes() []byte {
	b := c.buf
	if !c.truncated() {
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
