package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Tool is one entry of a SkillPack's spec.tools, in the CRD's own field names. The operator writes the
// pack's spec.tools verbatim into SKILLPOD_TOOLS, so these JSON names are part of the contract.
type Tool struct {
	Name           string      `json:"name"`
	Description    string      `json:"description,omitempty"`
	Command        []string    `json:"command"`
	TimeoutSeconds int         `json:"timeoutSeconds,omitempty"`
	ArgPolicy      *ArgPolicy  `json:"argPolicy,omitempty"`
	policy         argPolicyRT // compiled form of ArgPolicy, never serialised
}

// ArgPolicy restricts the arguments the agent may append to a tool's command. Semantics are in policy.go
// and docs/ipc.md.
type ArgPolicy struct {
	DeniedFlags     []string `json:"deniedFlags,omitempty"`
	AllowedPatterns []string `json:"allowedPatterns,omitempty"`
	DeniedPatterns  []string `json:"deniedPatterns,omitempty"`
	MaxArgs         *int     `json:"maxArgs,omitempty"`
}

const (
	defaultTimeoutSeconds = 60
	maxTimeoutSeconds     = 86400 // one day: as long as the longest AgentRun may live
	// defaultMaxArgs bounds argv when a pack sets no maxArgs; the body cap bounds total size anyway.
	defaultMaxArgs = 1024
)

// dnsLabel is the RFC 1123 label Kubernetes uses for names; tool and pack names must be one, which is also
// what makes them safe as URL path segments and file names (no '/', '.', '%').
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func validName(s string, max int) bool {
	return len(s) <= max && dnsLabel.MatchString(s)
}

// parseTools decodes and validates SKILLPOD_TOOLS. Unknown fields are an error, not ignored: a field this
// executor does not know could be a restriction (a newer policy field) that it would otherwise silently drop.
func parseTools(raw string) ([]*Tool, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("SKILLPOD_TOOLS is empty: the pack's spec.tools must be given as a JSON array")
	}
	if err := exactKeys(raw); err != nil {
		return nil, fmt.Errorf("SKILLPOD_TOOLS: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.DisallowUnknownFields()
	var tools []*Tool
	if err := dec.Decode(&tools); err != nil {
		return nil, fmt.Errorf("SKILLPOD_TOOLS: %w", err)
	}
	if dec.More() {
		return nil, errors.New("SKILLPOD_TOOLS: trailing data after the JSON array")
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
			return nil, fmt.Errorf("SKILLPOD_TOOLS[%d] (%q): %w", i, t.Name, err)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("SKILLPOD_TOOLS[%d]: duplicate tool name %q", i, t.Name)
		}
		seen[t.Name] = true
	}
	return tools, nil
}

func (t *Tool) validate() error {
	if !validName(t.Name, 63) {
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
	rt, err := compilePolicy(t.ArgPolicy)
	if err != nil {
		return fmt.Errorf("argPolicy: %w", err)
	}
	t.policy = rt
	return nil
}

var (
	toolKeys   = map[string]bool{"name": true, "description": true, "command": true, "timeoutSeconds": true, "argPolicy": true}
	policyKeys = map[string]bool{"deniedFlags": true, "allowedPatterns": true, "deniedPatterns": true, "maxArgs": true}
)

// exactKeys refuses keys that are not the CRD's field names exactly. encoding/json matches names without
// regard to case, so "ArgPolicy" or "argpolicy" would otherwise be taken for argPolicy, or a later
// "ARGPOLICY": null would silently drop the policy given as "argPolicy".
func exactKeys(raw string) error {
	var items []map[string]json.RawMessage
	if json.Unmarshal([]byte(raw), &items) != nil {
		return nil // not an array of objects: the typed decode reports it
	}
	for i, item := range items {
		for k, v := range item {
			if !toolKeys[k] {
				return fmt.Errorf("[%d]: unknown field %q", i, k)
			}
			var policy map[string]json.RawMessage
			if k != "argPolicy" || json.Unmarshal(v, &policy) != nil {
				continue
			}
			for pk := range policy {
				if !policyKeys[pk] {
					return fmt.Errorf("[%d].argPolicy: unknown field %q", i, pk)
				}
			}
		}
	}
	return nil
}
