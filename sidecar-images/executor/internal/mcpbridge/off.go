//go:build nomcp

package mcpbridge

import (
	"fmt"
	"io"
)

// Built with -tags nomcp: the binary without the MCP SDK (docs/benchmarks.md has the difference), for a
// sidecar image that will never serve an agent's MCP client. The operator's injected binary has it.
func Command(_ []string, _ func(string) string, _ io.Reader, _, stderr io.Writer) int {
	_, _ = fmt.Fprintln(stderr, "skillpod-exec: this binary was built without MCP (-tags nomcp)")
	return 2
}
