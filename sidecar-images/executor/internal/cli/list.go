package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"skillpod.io/executor/internal/argpolicy"
	"skillpod.io/executor/internal/client"
	"skillpod.io/executor/internal/setting"
	"skillpod.io/executor/internal/wire"
)

// List is `list [--json] [pack…]`: the tools of the named packs, or of every pack with a socket in the
// ipc directory. A pack that cannot be asked is reported and makes the exit status 1; the others still list.
func List(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	asJSON := false
	if len(args) > 0 && args[0] == "--json" {
		asJSON, args = true, args[1:]
	}
	dir := setting.IPCDir(getenv)
	packs := args
	if len(packs) == 0 {
		packs, _ = client.Discover(dir) // an unreadable directory lists nothing, and says so below
	}
	status := 0
	var all []wire.ToolList
	for _, pack := range packs {
		sock, err := client.Socket(dir, pack)
		if err != nil {
			_, _ = fmt.Fprintf(stderr, "skillpod-exec: %v\n", err)
			status = 1
			continue
		}
		tl, err := client.New(sock, 5*time.Second).Tools(context.Background())
		if err != nil {
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
		_, _ = fmt.Fprintln(stdout, "no skills found in "+dir)
	}
	for _, tl := range all {
		writeToolList(stdout, tl)
	}
	return status
}

// writeToolList prints a pack for a reader (often a model): how to call each tool and what it accepts.
func writeToolList(w io.Writer, tl wire.ToolList) {
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
		_, _ = fmt.Fprintln(w)
		switch {
		case t.FreeArguments:
			_, _ = fmt.Fprintf(w, "    call: skillpod-exec call %s %s [args…]  (runs: %s …; timeout %ds)\n",
				tl.Skill, t.Name, strings.Join(t.Command, " "), t.TimeoutSeconds)
			argpolicy.Describe(w, t.ArgPolicy)
		case t.Parameters != nil:
			_, _ = fmt.Fprintf(w, "    call: skillpod-exec call %s %s --input '<json>'  (timeout %ds)\n",
				tl.Skill, t.Name, t.TimeoutSeconds)
			writeParameters(w, t.Parameters)
		default:
			_, _ = fmt.Fprintf(w, "    call: skillpod-exec call %s %s  (takes no input; runs: %s; timeout %ds)\n",
				tl.Skill, t.Name, strings.Join(t.Command, " "), t.TimeoutSeconds)
		}
	}
}

// writeParameters prints a typed tool's parameters one a line: name, type, constraints, description.
func writeParameters(w io.Writer, raw json.RawMessage) {
	var sch struct {
		Properties map[string]map[string]any `json:"properties"`
		Required   []string                  `json:"required"`
	}
	if json.Unmarshal(raw, &sch) != nil {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(sch.Properties)) {
		p := sch.Properties[name]
		line := fmt.Sprintf("%v", p["type"])
		if items, ok := p["items"].(map[string]any); ok {
			line = fmt.Sprintf("array of %v", items["type"])
			p = mergeItems(p, items)
		}
		if slices.Contains(sch.Required, name) {
			line += ", required"
		}
		for _, k := range []string{"enum", "pattern", "minLength", "maxLength", "minimum", "maximum", "maxItems"} {
			if v, ok := p[k]; ok {
				b, _ := json.Marshal(v)
				line += fmt.Sprintf(", %s %s", k, b)
			}
		}
		if d, ok := p["description"].(string); ok && d != "" {
			line += ": " + d
		}
		_, _ = fmt.Fprintf(w, "    - %s (%s)\n", name, line)
	}
}

// mergeItems shows an array's item constraints with the array's own.
func mergeItems(p, items map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range items {
		out[k] = v
	}
	for k, v := range p {
		out[k] = v
	}
	return out
}
