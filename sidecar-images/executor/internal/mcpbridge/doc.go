// Package mcpbridge is the `mcp` subcommand: a Model Context Protocol server on stdio, in the agent's
// container, that offers the tools of every skill of the run as MCP tools and runs each call through that
// skill's executor over /ipc (internal/client), so the executor's checks apply unchanged. It uses the official
// Go SDK; a build with -tags nomcp leaves the SDK out, and `mcp` then only says so (off.go).
package mcpbridge
