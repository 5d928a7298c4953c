// Package argpolicy decides what a tool's command is given: it reads and checks SKILLPOD_TOOLS at start
// (compiling each tool's argument policy, parameter schema and argument template), and turns a caller's
// request into the arguments appended to the command, or the reason it is refused. The rules are the
// contract's (docs/ipc.md); nothing here runs a process or knows HTTP.
package argpolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"skillpod.io/executor/internal/strictjson"
	"skillpod.io/executor/internal/wire"
)

// Tool is one tool of SKILLPOD_TOOLS, checked and compiled: its spec as given (what GET /v1/tools lists),
// and the compiled form of whichever of policy, schema and template its kind has.
type Tool struct {
	wire.Tool

	policy policy  // compiled ArgPolicy (free-argument tools)
	schema *schema // compiled Parameters (typed tools); nil for the other kinds
	tmpl   []group // compiled Args
}

const (
	defaultTimeoutSeconds = 60
	maxTimeoutSeconds     = 86400 // one day: as long as the longest AgentRun may live
	// defaultMaxArgs bounds argv when a pack sets no maxArgs; the body cap bounds total size anyway.
	defaultMaxArgs = 1024
)

// ParseTools decodes and validates SKILLPOD_TOOLS. Unknown fields are an error, not ignored: a field this
// executor does not know could be a restriction (a newer policy field) that it would otherwise silently drop.
func ParseTools(raw string) ([]*Tool, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("SKILLPOD_TOOLS is empty: the pack's spec.tools must be given as a JSON array")
	}
	if err := strictjson.NoDuplicateKeys([]byte(raw)); err != nil {
		return nil, fmt.Errorf("SKILLPOD_TOOLS%w", prefixed(err))
	}
	if err := exactKeys(raw); err != nil {
		return nil, fmt.Errorf("SKILLPOD_TOOLS%w", prefixed(err))
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.DisallowUnknownFields()
	var tools []*Tool
	if err := dec.Decode(&tools); err != nil {
		return nil, fmt.Errorf("SKILLPOD_TOOLS: %w", err)
	}
	if len(tools) == 0 {
		return nil, errors.New("SKILLPOD_TOOLS: at least one tool is required")
	}
	seen := map[string]bool{}
	for i, t := range tools {
		if t == nil {
			return nil, fmt.Errorf("SKILLPOD_TOOLS[%d]: null tool", i)
		}
		if err := t.validate(); err != nil {
			return nil, fmt.Errorf("SKILLPOD_TOOLS[%d] (%q)%w", i, t.Name, prefixed(err))
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("SKILLPOD_TOOLS[%d]: duplicate tool name %q", i, t.Name)
		}
		seen[t.Name] = true
	}
	return tools, nil
}

// prefixed joins an error that starts with a path ("[0].args…") to the prefix, and others with ": ".
func prefixed(err error) error {
	if m := err.Error(); strings.HasPrefix(m, "[") || strings.HasPrefix(m, ".") {
		return err
	}
	return fmt.Errorf(": %w", err)
}

// validate checks one tool and compiles its policy, schema and template. Errors about a field start with
// its path inside the tool (".parameters.properties.x: …").
func (t *Tool) validate() error {
	if !wire.ValidName(t.Name, wire.MaxToolName) {
		return errors.New("name must be a DNS label (lower-case letters, digits, '-'; at most 63)")
	}
	if len(t.Command) == 0 || t.Command[0] == "" {
		return errors.New("command needs at least one non-empty element")
	}
	// A relative path with a slash would resolve against the working directory, /workspace, which the agent
	// writes: the agent could plant the binary. Only absolute paths or bare names looked up in PATH.
	if c := t.Command[0]; strings.Contains(c, "/") && !strings.HasPrefix(c, "/") {
		return fmt.Errorf("command[0] %q must be an absolute path or a bare name found in PATH", c)
	}
	for _, a := range t.Command {
		if strings.IndexByte(a, 0) >= 0 {
			return errors.New("command elements cannot contain NUL bytes")
		}
	}
	switch {
	case t.TimeoutSeconds == 0:
		t.TimeoutSeconds = defaultTimeoutSeconds
	case t.TimeoutSeconds < 0 || t.TimeoutSeconds > maxTimeoutSeconds:
		return fmt.Errorf("timeoutSeconds must be between 1 and %d", maxTimeoutSeconds)
	}
	typed := t.Parameters != nil
	switch {
	case t.FreeArguments && (typed || t.Args != nil):
		return errors.New("a tool with freeArguments takes no parameters or args")
	case t.ArgPolicy != nil && !t.FreeArguments:
		return errors.New("argPolicy applies to tools with freeArguments: true only")
	case t.Args != nil && !typed:
		return errors.New("args (the argument template) needs parameters")
	}
	if t.FreeArguments {
		rt, err := compilePolicy(t.ArgPolicy)
		if err != nil {
			return fmt.Errorf("argPolicy: %w", err)
		}
		t.policy = rt
	}
	if typed {
		s, err := parseSchema(t.Parameters, ".parameters")
		if err != nil {
			return err
		}
		if t.tmpl, err = compileTemplate(t.Args, s, ".args"); err != nil {
			return err
		}
		t.schema = s
	}
	return nil
}

var (
	toolKeys = []string{"name", "description", "command", "timeoutSeconds", "parameters", "args", "freeArguments", "argPolicy"}
	// parameters is checked key by key by parseSchema, with its own paths.
	policyKeys      = []string{"allowedFlags", "deniedFlags", "allowedPatterns", "deniedPatterns", "maxArgs", "parser"}
	allowedFlagKeys = []string{"flag", "value"}
)

// exactKeys refuses keys that are not the CRD's field names exactly. encoding/json matches names without
// regard to case, so "ArgPolicy" or "argpolicy" would otherwise be taken for argPolicy, or a later
// "ARGPOLICY": null would silently drop the policy given as "argPolicy".
func exactKeys(raw string) error {
	var items []json.RawMessage
	if json.Unmarshal([]byte(raw), &items) != nil {
		return nil // not an array: the typed decode reports it
	}
	for i, item := range items {
		path := fmt.Sprintf("[%d]", i)
		tool, err := strictjson.Object(item, path, toolKeys...)
		if err != nil {
			if strictjson.IsNull(item) {
				continue // reported as a null tool
			}
			return err
		}
		if strictjson.IsNull(tool["argPolicy"]) {
			continue
		}
		policy, err := strictjson.Object(tool["argPolicy"], path+".argPolicy", policyKeys...)
		if err != nil {
			return err
		}
		var flags []json.RawMessage
		if json.Unmarshal(policy["allowedFlags"], &flags) != nil {
			continue // the typed decode reports a wrong type
		}
		for j, f := range flags {
			if _, err := strictjson.Object(f, fmt.Sprintf("%s.argPolicy.allowedFlags[%d]", path, j), allowedFlagKeys...); err != nil {
				return err
			}
		}
	}
	return nil
}
