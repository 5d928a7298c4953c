package argpolicy

import (
	"fmt"
	"io"
	"strings"

	"skillpod.io/executor/internal/wire"
)

// Describe writes a free-argument tool's policy for a reader (often a model), one rule a line: what `list`
// prints and what the MCP bridge puts into a tool's description. Nothing for a nil policy.
func Describe(w io.Writer, p *wire.ArgPolicy) {
	if p == nil {
		return
	}
	if len(p.AllowedFlags) > 0 {
		var flags []string
		for _, f := range p.AllowedFlags {
			if f.Value != nil {
				flags = append(flags, f.Flag+" <"+*f.Value+">")
			} else {
				flags = append(flags, f.Flag)
			}
		}
		_, _ = fmt.Fprintf(w, "    allowed flags (no others): %s\n", strings.Join(flags, ", "))
	}
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
