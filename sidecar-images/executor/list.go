package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// toolList is the answer of GET /v1/tools.
type toolList struct {
	Skill      string  `json:"skill"`
	Enabled    bool    `json:"enabled"`
	GateReason string  `json:"gateReason,omitempty"`
	Tools      []*Tool `json:"tools"`
}

// listCmd is `list [--json] [pack…]`: the tools of the named packs, or of every pack with a socket in the
// ipc directory. A pack that cannot be asked is reported and makes the exit status 1; the others still list.
func listCmd(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	asJSON := false
	if len(args) > 0 && args[0] == "--json" {
		asJSON, args = true, args[1:]
	}
	packs := args
	if len(packs) == 0 {
		socks, _ := filepath.Glob(filepath.Join(ipcDir(getenv), "*.sock"))
		for _, s := range socks {
			packs = append(packs, strings.TrimSuffix(filepath.Base(s), ".sock"))
		}
		slices.Sort(packs)
	}
	status := 0
	var all []toolList
	for _, pack := range packs {
		if !validName(pack, 57) {
			_, _ = fmt.Fprintf(stderr, "skillpod-exec: %q is not a pack name\n", pack)
			status = 1
			continue
		}
		var tl toolList
		if err := newIPCClient(socketPath(getenv, pack), 5*time.Second).do(http.MethodGet, "/v1/tools", nil, &tl); err != nil {
			_, _ = fmt.Fprintf(stderr, "skillpod-exec: %s: %v\n", pack, err)
			status = 1
			continue
		}
		all = append(all, tl)
	}
	if asJSON {
		b, _ := json.MarshalIndent(map[string]any{"skills": all}, "", "  ")
		_, _ = stdout.Write(append(b, '\n'))
		return status
	}
	if len(all) == 0 && status == 0 {
		_, _ = fmt.Fprintln(stdout, "no skills found in "+ipcDir(getenv))
	}
	for _, tl := range all {
		writeToolList(stdout, tl)
	}
	return status
}

// writeToolList prints a pack for a reader (often a model): how to call each tool and what it refuses.
func writeToolList(w io.Writer, tl toolList) {
	state := ""
	if !tl.Enabled {
		state = " (switched off: calls are refused)"
	}
	_, _ = fmt.Fprintf(w, "%s%s\n", tl.Skill, state)
	for _, t := range tl.Tools {
		_, _ = fmt.Fprintf(w, "  %s", t.Name)
		if t.Description != "" {
			_, _ = fmt.Fprintf(w, ": %s", t.Description)
		}
		_, _ = fmt.Fprintf(w, "\n    call: skillpod-exec call %s %s [args…]  (runs: %s …; timeout %ds)\n",
			tl.Skill, t.Name, strings.Join(t.Command, " "), t.TimeoutSeconds)
		if p := t.ArgPolicy; p != nil {
			if len(p.DeniedFlags) > 0 {
				_, _ = fmt.Fprintf(w, "    denied flags: %s\n", strings.Join(p.DeniedFlags, " "))
			}
			if len(p.AllowedPatterns) > 0 {
				_, _ = fmt.Fprintf(w, "    each argument must match one of: %s\n", strings.Join(p.AllowedPatterns, "  "))
			}
			if len(p.DeniedPatterns) > 0 {
				_, _ = fmt.Fprintf(w, "    arguments may not match: %s\n", strings.Join(p.DeniedPatterns, "  "))
			}
			if p.MaxArgs != nil {
				_, _ = fmt.Fprintf(w, "    at most %d arguments\n", *p.MaxArgs)
			}
		}
	}
}
