// Command skillpod-exec is Skillpod's skill executor: one static binary, injected into every skill sidecar,
// that runs a SkillPack's tools for the agent over a Unix socket in /ipc. The contract with the pod builder
// and the API are in docs/ipc.md. This file only dispatches to the subcommands (internal/cli, and
// internal/mcpbridge for mcp); docs/architecture.md describes the packages.
package main

import (
	"fmt"
	"io"
	"os"

	"skillpod.io/executor/internal/cli"
	"skillpod.io/executor/internal/mcpbridge"
)

const usage = `skillpod-exec: Skillpod's skill executor

  skillpod-exec install <dir>                 copy this binary to <dir>/skillpod-exec
  skillpod-exec serve --skill <pack>          serve the pack's tools on $SKILLPOD_IPC_DIR/<pack>/exec.sock
  skillpod-exec probe --skill <pack>          exit 0 when the executor answers and every tool resolves
  skillpod-exec call [--stdin] [--timeout <s>] [--json] <pack> <tool> --input '<json>'
                                              run a typed tool; its output and exit code pass through
  skillpod-exec call [--stdin] [--timeout <s>] [--json] <pack> <tool> [args…]
                                              run a free-argument tool
  skillpod-exec list [--json] [pack…]         list the tools of the packs in $SKILLPOD_IPC_DIR
  skillpod-exec mcp                           an MCP server on stdio offering every skill's tools as <pack>__<tool>
  skillpod-exec settings                      the SKILLPOD_* settings serve requires, as a JSON array
`

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func dispatch(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		_, _ = io.WriteString(stderr, usage)
		return 2
	}
	rest := args[1:]
	switch args[0] {
	case "install":
		return cli.Install(rest, stderr)
	case "serve":
		return cli.Serve(rest, os.Getenv, os.Environ(), stdout, stderr)
	case "probe":
		return cli.Probe(rest, os.Getenv, stdout, stderr)
	case "call":
		return cli.Call(rest, os.Getenv, stdin, stdout, stderr)
	case "list":
		return cli.List(rest, os.Getenv, stdout, stderr)
	case "mcp":
		return mcpbridge.Command(rest, os.Getenv, stdin, stdout, stderr)
	case "settings":
		return cli.Settings(stdout)
	case "help", "-h", "--help":
		_, _ = io.WriteString(stdout, usage)
		return 0
	default:
		_, _ = fmt.Fprintf(stderr, "skillpod-exec: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
