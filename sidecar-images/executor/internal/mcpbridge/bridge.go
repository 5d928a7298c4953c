//go:build !nomcp

package mcpbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"skillpod.io/executor/internal/argpolicy"
	"skillpod.io/executor/internal/client"
	"skillpod.io/executor/internal/setting"
	"skillpod.io/executor/internal/strictjson"
	"skillpod.io/executor/internal/wire"
)

// Command is `mcp`: a Model Context Protocol server over stdio that runs in the agent's container (from the
// same binary, /skillpod/bin/skillpod-exec) and offers the tools of every skill of the run as MCP tools named
// <pack>__<tool>. It holds no authority of its own: every tools/call is a POST /v1/tools/<tool>/run on the
// pack's socket, like `call`, so the executor's gate, input checks, argument policy, limits and audit line
// apply unchanged. docs/agents.md describes it for harness authors.
//
// Settings (environment, all optional): SKILLPOD_IPC_DIR (default /ipc), SKILLPOD_SKILLS_DIR (default
// /skills: <dir>/<pack>/SKILL.md are the packs' instructions), SKILLPOD_MCP_POLL_INTERVAL (default 1s: how
// often the sockets and each pack's GET /v1/tools are read to follow switch-offs).
func Command(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if len(args) > 0 {
		_, _ = fmt.Fprintf(stderr, "skillpod-exec: mcp takes no arguments (settings come from SKILLPOD_IPC_DIR, "+
			"SKILLPOD_SKILLS_DIR, SKILLPOD_MCP_POLL_INTERVAL)\n")
		return 2
	}
	env := setting.Reader{Getenv: getenv}
	poll := env.Duration("SKILLPOD_MCP_POLL_INTERVAL", time.Second, 100*time.Millisecond, time.Minute)
	if err := env.Err(); err != nil {
		logger.Error("invalid configuration", "error", err.Error())
		return 2
	}
	b := newBridge(setting.IPCDir(getenv), setting.Or(getenv, "SKILLPOD_SKILLS_DIR", defaultSkillsDir), logger)
	b.refresh(context.Background())
	b.server = mcp.NewServer(&mcp.Implementation{Name: "skillpod-exec", Title: "Skillpod skills", Version: "1"},
		&mcp.ServerOptions{
			Instructions: b.instructions(),
			Logger:       logger,
			Capabilities: &mcp.ServerCapabilities{
				Tools:     &mcp.ToolCapabilities{ListChanged: true},
				Resources: &mcp.ResourceCapabilities{},
			},
		})
	b.server.AddReceivingMiddleware(b.unavailableMiddleware)
	b.addResources()
	b.sync()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go b.follow(ctx, poll)
	err := b.server.Run(ctx, &lineTransport{in: stdin, out: stdout})
	if err != nil && ctx.Err() == nil && err != io.EOF {
		logger.Warn("mcp session ended", "error", err.Error())
	}
	return 0
}

const (
	defaultSkillsDir = "/skills"
	// toolSep joins pack and tool: pack and tool names are DNS labels, which never contain "_", so the
	// name splits back unambiguously.
	toolSep = "__"
	// instructionsPerPack and instructionsMax bound how much of the SKILL.md files goes into the server's
	// instructions (shown to the model by many harnesses); the whole files are resources.
	instructionsPerPack = 4 << 10
	instructionsMax     = 24 << 10
	maxSkillFile        = 1 << 20
)

// packEntry is what the bridge knows of one pack's executor.
type packEntry struct {
	list   *client.Client // short timeout: GET /v1/tools
	run    *client.Client // no client timeout: the tool's own bounds a call
	tools  []*wire.Tool
	on     bool   // listed as enabled by its executor
	reason string // why not: the gate's reason, or why the executor cannot be reached
	gone   bool   // its socket is missing or did not answer the last time
}

// bridge keeps the MCP server's tool list equal to the tools of the packs that are reachable and switched
// on. A pack that is switched off or unreachable has its tools removed from the list (tools/list_changed is
// sent); a call to one of them, from a client that still has the old list, is answered as a tool error that
// says why, never as a protocol error.
type bridge struct {
	ipcDir, skillsDir string
	log               *slog.Logger
	server            *mcp.Server

	mu         sync.Mutex
	packs      map[string]*packEntry
	registered map[string]string // MCP tool name → its JSON, as registered with the server
	resources  map[string]bool   // pack names whose SKILL.md is a resource
}

func newBridge(ipcDir, skillsDir string, log *slog.Logger) *bridge {
	return &bridge{ipcDir: ipcDir, skillsDir: skillsDir, log: log, packs: map[string]*packEntry{},
		registered: map[string]string{}, resources: map[string]bool{}}
}

// follow refreshes the packs every interval until ctx ends, and updates the server's lists.
func (b *bridge) follow(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.refresh(ctx)
			b.addResources()
			b.sync()
		}
	}
}

// refresh reads the ipc directory and every pack's GET /v1/tools. It changes only the bridge's state;
// sync brings the server in line.
func (b *bridge) refresh(ctx context.Context) {
	found, err := client.Discover(b.ipcDir)
	if err != nil {
		b.log.Warn("cannot read the ipc directory", "dir", b.ipcDir, "error", err.Error())
	}
	type answer struct {
		tl  wire.ToolList
		err error
	}
	answers := make([]answer, len(found))
	var wg sync.WaitGroup
	for i, name := range found {
		p := b.pack(name)
		wg.Go(func() {
			answers[i].tl, answers[i].err = p.list.Tools(ctx)
		})
	}
	wg.Wait()

	b.mu.Lock()
	defer b.mu.Unlock()
	for name, p := range b.packs {
		if !slices.Contains(found, name) {
			p.gone, p.on, p.reason = true, false, fmt.Sprintf("the executor of skill %q is not running (no socket in %s)", name, b.ipcDir)
		}
	}
	for i, pack := range found {
		p, a := b.packs[pack], answers[i]
		if a.err != nil {
			p.gone, p.on, p.reason = true, false, fmt.Sprintf("the executor of skill %q does not answer: %v", pack, a.err)
			continue
		}
		p.gone, p.tools, p.on, p.reason = false, a.tl.Tools, a.tl.Enabled, a.tl.GateReason
		if !p.on && p.reason == "" {
			p.reason = fmt.Sprintf("skill %q is switched off", pack)
		}
	}
}

// pack returns the bridge's entry for a pack, creating it (and its clients) the first time.
func (b *bridge) pack(name string) *packEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.packs[name]
	if p == nil {
		sock := wire.SocketPath(b.ipcDir, name)
		p = &packEntry{list: client.New(sock, 3*time.Second), run: client.New(sock, 0), gone: true}
		b.packs[name] = p
	}
	return p
}

// sync registers the tools of every reachable, switched-on pack with the server and removes the others.
// The SDK sends notifications/tools/list_changed after a change (debounced).
func (b *bridge) sync() {
	b.mu.Lock()
	want := map[string]*mcp.Tool{}
	for pack, p := range b.packs {
		if !p.on || p.gone {
			continue
		}
		for _, t := range p.tools {
			mt := mcpTool(pack, t)
			want[mt.Name] = mt
		}
	}
	var remove []string
	for name := range b.registered {
		if want[name] == nil {
			remove = append(remove, name)
			delete(b.registered, name)
		}
	}
	var add []*mcp.Tool
	for name, mt := range want {
		j, _ := json.Marshal(mt)
		if b.registered[name] != string(j) {
			b.registered[name] = string(j)
			add = append(add, mt)
		}
	}
	b.mu.Unlock()
	if len(remove) > 0 {
		b.server.RemoveTools(remove...)
	}
	for _, mt := range add {
		pack, tool, _ := strings.Cut(mt.Name, toolSep)
		b.server.AddTool(mt, b.handler(pack, tool))
	}
}

// mcpTool is a pack's tool as MCP lists it: typed parameters verbatim as the input schema, a free-argument
// tool as {"args": [strings]}, a tool without input as an empty object.
func mcpTool(pack string, t *wire.Tool) *mcp.Tool {
	desc := t.Description
	if desc == "" {
		desc = fmt.Sprintf("Runs %s.", strings.Join(t.Command, " "))
	}
	desc = fmt.Sprintf("[skill %s] %s", pack, desc)
	var schema any
	switch {
	case t.FreeArguments:
		var policy strings.Builder
		argpolicy.Describe(&policy, t.ArgPolicy)
		desc = fmt.Sprintf("%s\nFree arguments: {\"args\": [...]} are appended to `%s`", desc, strings.Join(t.Command, " "))
		if policy.Len() > 0 {
			desc += ", checked by the skill's policy:\n" + strings.TrimRight(policy.String(), "\n")
		}
		args := map[string]any{"type": "array", "items": map[string]any{"type": "string"},
			"description": "arguments appended to " + strings.Join(t.Command, " ")}
		if t.ArgPolicy != nil && t.ArgPolicy.MaxArgs != nil {
			args["maxItems"] = *t.ArgPolicy.MaxArgs
		}
		schema = map[string]any{"type": "object", "properties": map[string]any{"args": args},
			"additionalProperties": false}
	case t.Parameters != nil:
		schema = t.Parameters
	default:
		desc += "\nTakes no input."
		schema = map[string]any{"type": "object", "properties": map[string]any{}, "additionalProperties": false}
	}
	return &mcp.Tool{Name: pack + toolSep + t.Name, Title: pack + ": " + t.Name, Description: desc, InputSchema: schema}
}

// handler runs one tool through its pack's executor and turns the answer into MCP content.
func (b *bridge) handler(pack, tool string) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		b.mu.Lock()
		p := b.packs[pack]
		var t *wire.Tool
		if p != nil {
			for _, x := range p.tools {
				if x.Name == tool {
					t = x
				}
			}
		}
		b.mu.Unlock()
		if t == nil {
			return textError(fmt.Sprintf("skill %q has no tool %q any more", pack, tool)), nil
		}
		var raw json.RawMessage
		if req.Params != nil {
			raw = req.Params.Arguments
		}
		body, msg := runBody(t, raw)
		if msg != "" {
			return textError(msg), nil
		}
		res, err := p.run.Run(ctx, tool, body)
		if err != nil {
			return mcpRefusal(pack, tool, err), nil
		}
		return toolResult(res), nil
	}
}

// runBody is the executor request for MCP arguments: a typed tool's (or a tool without input's) arguments
// are its input, checked by the executor; a free-argument tool's are {"args": [strings]} and nothing else.
func runBody(t *wire.Tool, raw json.RawMessage) (wire.RunRequest, string) {
	empty := len(strings.TrimSpace(string(raw))) == 0 || string(raw) == "null"
	if !t.FreeArguments {
		if empty {
			return wire.RunRequest{Input: json.RawMessage(`{}`)}, ""
		}
		return wire.RunRequest{Input: raw}, ""
	}
	if empty {
		return wire.RunRequest{}, ""
	}
	var in struct {
		Args []string `json:"args"`
	}
	if err := strictjson.Decode(raw, &in); err != nil {
		return wire.RunRequest{}, fmt.Sprintf(`this tool takes {"args": [strings]} and nothing else: %v`, err)
	}
	return wire.RunRequest{Args: in.Args}, ""
}

// toolResult is a finished run as MCP content: stdout, stderr when there is any, and a status line with the
// exit code and what was cut. A non-zero exit, a timeout or a stop is a tool error (isError).
func toolResult(res wire.RunResult) *mcp.CallToolResult {
	var content []mcp.Content
	if s := streamText(res.Stdout, res.StdoutEncoding); s != "" {
		content = append(content, &mcp.TextContent{Text: s})
	}
	if s := streamText(res.Stderr, res.StderrEncoding); s != "" {
		content = append(content, &mcp.TextContent{Text: "stderr:\n" + s})
	}
	status := fmt.Sprintf("exit code %d", res.ExitCode)
	if res.Signal != "" {
		status += ", killed by " + res.Signal
	}
	if res.TimedOut {
		status += fmt.Sprintf(", timed out after %d ms", res.DurationMs)
	}
	if res.Cancelled {
		status += ", stopped: " + res.StopReason
	}
	if res.StdoutTruncated {
		status += fmt.Sprintf(", stdout truncated (%d of %d bytes kept)", len(res.Stdout), res.StdoutBytes)
	}
	if res.StderrTruncated {
		status += fmt.Sprintf(", stderr truncated (%d bytes written)", res.StderrBytes)
	}
	content = append(content, &mcp.TextContent{Text: "[" + status + "]"})
	return &mcp.CallToolResult{Content: content, IsError: res.ExitCode != 0 || res.TimedOut || res.Cancelled}
}

// streamText is an output stream as text; output that is not UTF-8 stays base64 and says so.
func streamText(data, encoding string) string {
	if encoding == "base64" && data != "" {
		return "(not UTF-8 text; base64) " + data
	}
	return data
}

// mcpRefusal is an executor error (a refused input or argument, a switched-off skill, a full executor) or an
// unreachable executor, as a tool error the model can read and act on.
func mcpRefusal(pack, tool string, err error) *mcp.CallToolResult {
	if ae, ok := errors.AsType[*wire.Error](err); ok {
		msg := fmt.Sprintf("refused by the executor of skill %q (%d %s): %s", pack, ae.Status, ae.Code, ae.Message)
		if ae.Param != "" && !strings.Contains(ae.Message, ae.Param) {
			msg += fmt.Sprintf(" (parameter %q)", ae.Param)
		}
		return textError(msg)
	}
	return textError(fmt.Sprintf("%s %s: the skill's executor could not be reached: %v", pack, tool, err))
}

func textError(msg string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: msg}}, IsError: true}
}

// unavailableMiddleware answers a tools/call for a tool of a known pack that is not listed now (switched off
// or unreachable) with a tool error that says why. Unknown names go on to the SDK, whose answer is the
// protocol's "unknown tool" error.
func (b *bridge) unavailableMiddleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if r, ok := req.(*mcp.CallToolRequest); ok && method == "tools/call" && r.Params != nil {
			if res := b.unavailable(r.Params.Name); res != nil {
				return res, nil
			}
		}
		return next(ctx, method, req)
	}
}

func (b *bridge) unavailable(name string) *mcp.CallToolResult {
	pack, tool, ok := strings.Cut(name, toolSep)
	if !ok {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, listed := b.registered[name]; listed {
		return nil
	}
	p := b.packs[pack]
	if p == nil || !slices.ContainsFunc(p.tools, func(t *wire.Tool) bool { return t.Name == tool }) {
		return nil
	}
	return textError(fmt.Sprintf("%s is not available: %s", name, p.reason))
}

// skillURI is where a pack's SKILL.md is found as an MCP resource.
func skillURI(pack string) string { return "skillpod://skills/" + pack + "/SKILL.md" }

// skillPacks lists the packs with a SKILL.md in the skills directory, and those with a socket.
func (b *bridge) skillPacks() []string {
	var packs []string
	ents, _ := os.ReadDir(b.skillsDir)
	for _, e := range ents {
		if wire.ValidName(e.Name(), wire.MaxPackName) {
			if fi, err := os.Stat(filepath.Join(b.skillsDir, e.Name(), "SKILL.md")); err == nil && fi.Mode().IsRegular() {
				packs = append(packs, e.Name())
			}
		}
	}
	return packs
}

// addResources makes each pack's SKILL.md a resource (read when asked, so it is always the file as it is).
func (b *bridge) addResources() {
	for _, pack := range b.skillPacks() {
		b.mu.Lock()
		known := b.resources[pack]
		b.resources[pack] = true
		b.mu.Unlock()
		if known {
			continue
		}
		b.server.AddResource(&mcp.Resource{
			URI: skillURI(pack), Name: pack + "-instructions", Title: "Instructions of skill " + pack,
			Description: "How and when to use the tools " + pack + toolSep + "*", MIMEType: "text/markdown",
		}, b.readSkill(pack))
	}
}

func (b *bridge) readSkill(pack string) mcp.ResourceHandler {
	return func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		text, err := b.skillText(pack, maxSkillFile)
		if err != nil {
			return nil, mcp.ResourceNotFoundError(req.Params.URI)
		}
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{
			{URI: req.Params.URI, MIMEType: "text/markdown", Text: text}}}, nil
	}
}

func (b *bridge) skillText(pack string, max int64) (string, error) {
	f, err := os.Open(filepath.Join(b.skillsDir, pack, "SKILL.md"))
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, max))
	return string(data), err
}

// instructions is the server's instructions: how the tools are named and behave, and each pack's SKILL.md
// (cut; the whole file is a resource).
func (b *bridge) instructions() string {
	var sb strings.Builder
	sb.WriteString("These are the tools of this run's Skillpod skills, named <skill>__<tool>. Every call runs in " +
		"the skill's own sidecar, under its checks: a refused input, a switched-off skill or a non-zero exit comes " +
		"back as a tool error whose text says why. Each skill's instructions are the resource " +
		"skillpod://skills/<skill>/SKILL.md.\n")
	for _, pack := range b.skillPacks() {
		text, err := b.skillText(pack, instructionsPerPack+1)
		if err != nil {
			continue
		}
		if len(text) > instructionsPerPack {
			text = strings.ToValidUTF8(text[:instructionsPerPack], "") + "\n…(cut; the whole text is " + skillURI(pack) + ")"
		}
		part := fmt.Sprintf("\n# Skill %s\n\n%s\n", pack, strings.TrimSpace(text))
		if sb.Len()+len(part) > instructionsMax {
			sb.WriteString("\n(More skills: read their resources.)\n")
			break
		}
		sb.WriteString(part)
	}
	return sb.String()
}
