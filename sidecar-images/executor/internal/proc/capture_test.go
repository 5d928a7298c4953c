package proc

import (
	"bytes"
	"testing"
)

func TestCaptureNeverHoldsMoreThanLimit(t *testing.T) {
	c := newCapture(10_000)
	chunk := bytes.Repeat([]byte("x"), 3000)
	for range 100 {
		c.keep(chunk)
		if cap(c.buf) > 10_000 {
			t.Fatalf("capacity %d exceeds the limit", cap(c.buf))
		}
	}
	if c.total != 300_000 || len(c.buf) != 10_000 || !c.Truncated() {
		t.Fatalf("total=%d kept=%d truncated=%v", c.total, len(c.buf), c.Truncated())
	}
	// A cut through a multi-byte rune drops the partial rune.
	c = newCapture(5)
	c.keep([]byte("abcdé")) // é is 2 bytes: only its first byte fits
	c.keep([]byte("more"))
	if got := string(c.Bytes()); got != "abcd" {
		t.Fatalf("bytes = %q, want %q", got, "abcd")
	}
	c = newCapture(100)
	c.keep([]byte("short é"))
	if got := string(c.Bytes()); got != "short é" || c.Truncated() {
		t.Fatalf("untruncated output changed: %q", got)
	}
}
