package server

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"skillpod.io/executor/internal/clip"
)

// The child's environment is built, never inherited wholesale: the sidecar's environment (image, Kubernetes,
// the pack's env) minus the executor's own settings, plus the caller's SKILL_* keys. It is an allowlist on the
// caller side because a denylist (LD_PRELOAD, PATH, BASH_ENV, NODE_OPTIONS, …) is never complete.

const ownPrefix = "SKILLPOD_"

// callerKey is what a caller may set. Upper case only, like every SKILL_* variable in the docs.
var callerKey = regexp.MustCompile(`^SKILL_[A-Z0-9_]+$`)

// sidecarEnv is the base environment of every run, computed once at start.
type sidecarEnv struct {
	vars []string
	keys map[string]bool
}

func newSidecarEnv(environ []string) sidecarEnv {
	e := sidecarEnv{keys: map[string]bool{}}
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, ownPrefix) {
			continue // SKILLPOD_TOOLS, SKILLPOD_AGENT_UID, limits: the tool has no business reading them
		}
		e.vars = append(e.vars, kv)
		e.keys[k] = true
	}
	return e
}

// envError is a caller env key or value that is refused (400).
type envError struct{ msg string }

func (e *envError) Error() string { return e.msg }

// build returns the child environment for one call.
func (e sidecarEnv) build(caller map[string]string) ([]string, error) {
	out := slices.Clip(e.vars)
	keys := make([]string, 0, len(caller))
	for k := range caller {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic order, and deterministic first error
	for _, k := range keys {
		v := caller[k]
		switch {
		case !callerKey.MatchString(k):
			return nil, &envError{fmt.Sprintf("env key %q refused: callers may only set SKILL_* keys "+
				"(upper-case letters, digits, '_')", clip.Text(k, 64))}
		case e.keys[k]:
			// The pack (an admin) set it; letting the agent override it could change what the tool does.
			return nil, &envError{fmt.Sprintf("env key %q refused: the skill sets it itself", k)}
		case strings.IndexByte(v, 0) >= 0:
			return nil, &envError{fmt.Sprintf("env value of %q refused: it contains a NUL byte", k)}
		}
		out = append(out, k+"="+v)
	}
	return out, nil
}
