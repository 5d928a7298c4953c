// Package cli is the executor's subcommands other than mcp: serve (a skill's executor, internal/server),
// probe (its startup probe), call and list (the agent's client of every pack's executor, through
// internal/client), install (the init container's copy of the binary) and settings. Each takes its arguments
// and streams and returns the process's exit code; cmd/skillpod-exec dispatches to them.
package cli
