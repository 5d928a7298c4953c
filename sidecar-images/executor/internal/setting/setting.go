// Package setting reads the executor's SKILLPOD_* settings from the environment, given as a getenv function so
// that tests can supply their own. A bounded number or duration that does not parse, or lies outside its
// bounds, is an error that stops the start, never a silent fall-back to the default.
package setting

import (
	"fmt"
	"strconv"
	"time"
)

// defaultIPCDir is where the packs' directories are when SKILLPOD_IPC_DIR is empty.
const defaultIPCDir = "/ipc"

// IPCDir is where every subcommand looks for the packs' directories (SKILLPOD_IPC_DIR); tests move it into a
// temporary directory.
func IPCDir(getenv func(string) string) string {
	return Or(getenv, "SKILLPOD_IPC_DIR", defaultIPCDir)
}

// Or is the value of key, or def when it is empty.
func Or(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// Reader reads bounded numeric settings and keeps the first error, so that several can be read in a row and
// checked once.
type Reader struct {
	Getenv func(string) string
	err    error
}

// Err is the first setting that was refused, or nil.
func (p *Reader) Err() error { return p.err }

// Int reads key as an integer in [lo, hi]; empty means def.
func (p *Reader) Int(key string, def, lo, hi int) int {
	v := p.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.fail(fmt.Errorf("%s=%q: want an integer between %d and %d", key, v, lo, hi))
		return def
	}
	return n
}

// Duration reads key as a Go duration (like 2s) in [lo, hi]; empty means def.
func (p *Reader) Duration(key string, def, lo, hi time.Duration) time.Duration {
	v := p.Getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		p.fail(fmt.Errorf("%s=%q: want a duration (like 2s) between %s and %s", key, v, lo, hi))
		return def
	}
	return d
}

func (p *Reader) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}
