package main

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"skillpod.io/executor/internal/wire"
)

// Behaviour of the API for a well-behaved caller. The hostile-caller suite is in hostile_test.go.

func TestHealthAndTools(t *testing.T) {
	e := startExecutor(t, opts{tools: toolsJSON(t,
		map[string]any{"freeArguments": true, "name": "get", "description": "kubectl get", "command": []string{"/bin/echo", "get"},
			"argPolicy": map[string]any{"deniedFlags": []string{"--token"}, "maxArgs": 5}},
		toolDef("missing", "/nonexistent/tool"))})

	status, body := e.do(http.MethodGet, "/v1/health", nil)
	var h wire.Health
	mustJSON(t, body, &h)
	if status != 200 || h.Skill != "demo" || h.Ready || !h.Enabled || len(h.Tools) != 2 || !h.Tools[0].OK || h.Tools[1].OK {
		t.Fatalf("health %d %s", status, body)
	}
	if got := e.raw("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); got != "200 ok" {
		t.Fatalf("/healthz = %q", got)
	}

	status, body = e.do(http.MethodGet, "/v1/tools", nil)
	var tl wire.ToolList
	mustJSON(t, body, &tl)
	if status != 200 || !tl.Enabled || len(tl.Tools) != 2 || tl.Tools[0].TimeoutSeconds != 60 ||
		tl.Tools[0].ArgPolicy == nil || *tl.Tools[0].ArgPolicy.MaxArgs != 5 {
		t.Fatalf("tools %d %s", status, body)
	}
}

func TestRunSync(t *testing.T) {
	e := startExecutor(t, opts{tools: toolsJSON(t,
		toolDef("echo", "/bin/echo"),
		shTool("fail", `echo out; echo err >&2; exit 7`),
		toolDef("pwd", "pwd"),
		toolDef("stat", "/bin/cat", "/proc/self/stat"),
		toolDef("cat", "/bin/cat"),
		shTool("bytes", `printf '\377\376ok'`),
	)})

	res := e.run("echo", map[string]any{"args": []string{"hello", "world"}})
	if res.ExitCode != 0 || res.Stdout != "hello world\n" || res.StdoutBytes != 12 || res.Truncated || res.TimedOut {
		t.Fatalf("echo: %+v", res)
	}

	// A non-zero exit is a normal result (200), never an executor error.
	res = e.run("fail", nil)
	if res.ExitCode != 7 || res.Stdout != "out\n" || res.Stderr != "err\n" || res.Signal != "" {
		t.Fatalf("fail: %+v", res)
	}

	if res = e.run("pwd", nil); strings.TrimSpace(res.Stdout) != e.work {
		t.Fatalf("working directory %q, want %q", res.Stdout, e.work)
	}

	// Each run leads its own process group, apart from the executor's.
	stat := e.run("stat", nil).Stdout
	fields := strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:]) // state, ppid, pgrp, …
	pid, _ := strconv.Atoi(strings.Fields(stat)[0])
	pgrp, _ := strconv.Atoi(fields[2])
	execPgrp, err := syscall.Getpgid(e.pid())
	if err != nil || pgrp != pid || pgrp == execPgrp {
		t.Fatalf("run pid %d pgrp %d, executor pgrp %d (%v)", pid, pgrp, execPgrp, err)
	}

	stdin := "line one\nline two\n"
	if res = e.run("cat", map[string]any{"stdin": stdin}); res.Stdout != stdin {
		t.Fatalf("stdin round trip: %q", res.Stdout)
	}
	// Without stdin the child reads /dev/null and does not hang.
	if res = e.run("cat", nil); res.Stdout != "" || res.ExitCode != 0 {
		t.Fatalf("cat without stdin: %+v", res)
	}

	// Output that is not UTF-8 comes back base64-encoded, byte for byte.
	res = e.run("bytes", nil)
	raw, err := base64.StdEncoding.DecodeString(res.Stdout)
	if res.StdoutEncoding != "base64" || err != nil || !bytes.Equal(raw, []byte("\xff\xfeok")) {
		t.Fatalf("binary output: %+v", res)
	}
}

func TestCallerTimeoutOnlyShortens(t *testing.T) {
	e := startExecutor(t, opts{
		tools: toolsJSON(t, map[string]any{"freeArguments": true, "name": "nap", "command": []string{"sleep"}, "timeoutSeconds": 1}),
		env:   map[string]string{"SKILLPOD_KILL_GRACE": "100ms"},
	})
	start := time.Now()
	res := e.run("nap", map[string]any{"args": []string{"30"}, "timeoutSeconds": 3600})
	if !res.TimedOut || time.Since(start) > 5*time.Second || res.Signal != "SIGTERM" || res.ExitCode != 143 {
		t.Fatalf("a caller cannot extend the tool's timeout: %+v after %s", res, time.Since(start))
	}
	e.refused("nap", map[string]any{"timeoutSeconds": -1}, 400, "bad_request")
}

func TestAsyncRuns(t *testing.T) {
	e := startExecutor(t, opts{tools: toolsJSON(t,
		toolDef("nap", "sleep"),
		shTool("say", `echo "$1"; exit 3`),
	), env: map[string]string{"SKILLPOD_KILL_GRACE": "200ms"}})

	status, hdr, body, err := e.send(http.MethodPost, "/v1/runs", map[string]any{"tool": "nap", "args": []string{"1"}})
	var v wire.RunView
	mustJSON(t, body, &v)
	if err != nil || status != http.StatusAccepted || v.State != wire.StateRunning || len(v.ID) != 32 ||
		hdr.Get("Location") != "/v1/runs/"+v.ID {
		t.Fatalf("submit: %d %s %v", status, body, err)
	}
	// The run exists from submission: polling it while it runs never answers 404.
	for range 5 {
		status, body := e.do(http.MethodGet, "/v1/runs/"+v.ID, nil)
		var p wire.RunView
		mustJSON(t, body, &p)
		if status != 200 || p.State != wire.StateRunning || p.Result != nil {
			t.Fatalf("poll while running: %d %s", status, body)
		}
	}
	status, body = e.do(http.MethodGet, "/v1/runs/"+v.ID+"?wait=10", nil)
	mustJSON(t, body, &v)
	if status != 200 || v.State != wire.StateSucceeded || v.Result == nil || v.FinishedAt == nil {
		t.Fatalf("long poll: %d %s", status, body)
	}

	// A failing run is "failed" with its exit code and output.
	_, body = e.do(http.MethodPost, "/v1/runs", map[string]any{"tool": "say", "args": []string{"hi"}})
	mustJSON(t, body, &v)
	_, body = e.do(http.MethodGet, "/v1/runs/"+v.ID+"?wait=10", nil)
	mustJSON(t, body, &v)
	if v.State != wire.StateFailed || v.Result.ExitCode != 3 || v.Result.Stdout != "hi\n" {
		t.Fatalf("failed run: %s", body)
	}

	// Cancel kills the run's group and answers with the final state; cancelling again is harmless.
	_, body = e.do(http.MethodPost, "/v1/runs", map[string]any{"tool": "nap", "args": []string{"300"}})
	mustJSON(t, body, &v)
	start := time.Now()
	status, body = e.do(http.MethodPost, "/v1/runs/"+v.ID+"/cancel", nil)
	mustJSON(t, body, &v)
	if status != 200 || v.State != wire.StateCancelled || v.Result.StopReason != "cancelled" || time.Since(start) > 3*time.Second {
		t.Fatalf("cancel: %d %s", status, body)
	}
	if status, _ = e.do(http.MethodPost, "/v1/runs/"+v.ID+"/cancel", nil); status != 200 {
		t.Fatalf("second cancel: %d", status)
	}

	status, body = e.do(http.MethodGet, "/v1/runs", nil)
	if status != 200 || strings.Count(string(body), `"id"`) != 3 {
		t.Fatalf("list runs: %d %s", status, body)
	}
	for _, path := range []string{"/v1/runs/" + strings.Repeat("0", 32), "/v1/runs/nope", "/v1/runs/" + v.ID + "/nope"} {
		if status, _ := e.do(http.MethodGet, path, nil); status != 404 {
			t.Errorf("GET %s = %d, want 404", path, status)
		}
	}
	// A refused async submission gets the same errors as a sync call.
	if status, _ := e.do(http.MethodPost, "/v1/runs", map[string]any{"tool": "nope"}); status != 400 {
		t.Fatalf("unknown tool async: %d", status)
	}
}

func TestAsyncRetention(t *testing.T) {
	e := startExecutor(t, opts{tools: toolsJSON(t, toolDef("echo", "/bin/echo")),
		env: map[string]string{"SKILLPOD_MAX_RESULTS": "2", "SKILLPOD_RESULT_TTL": "1s"}})
	var ids []string
	for i := range 3 {
		_, body := e.do(http.MethodPost, "/v1/runs", map[string]any{"tool": "echo", "args": []string{strconv.Itoa(i)}})
		var v wire.RunView
		mustJSON(t, body, &v)
		_, _ = e.do(http.MethodGet, "/v1/runs/"+v.ID+"?wait=5", nil)
		ids = append(ids, v.ID)
	}
	want := []int{404, 200, 200} // bounded count: the oldest finished result is gone
	for i, id := range ids {
		if status, _ := e.do(http.MethodGet, "/v1/runs/"+id, nil); status != want[i] {
			t.Errorf("run %d: %d, want %d", i, status, want[i])
		}
	}
	time.Sleep(1200 * time.Millisecond) // bounded time
	for i, id := range ids {
		if status, _ := e.do(http.MethodGet, "/v1/runs/"+id, nil); status != 404 {
			t.Errorf("run %d after its TTL: %d, want 404", i, status)
		}
	}
}

func TestSkillSidecarCompat(t *testing.T) {
	e := startExecutor(t, opts{tools: toolsJSON(t,
		toolDef("echo", "/bin/echo"),
		shTool("fail", `echo oops >&2; exit 4`),
		toolDef("nap", "sleep"),
	)})
	var c compatResult
	status, body := e.do(http.MethodPost, "/skill/echo", map[string]any{"args": []string{"hi"}, "env": map[string]string{"SKILL_X": "1"}})
	mustJSON(t, body, &c)
	if status != 200 || c.Status != "ok" || c.Stdout != "hi\n" || c.ExitCode != 0 {
		t.Fatalf("compat ok: %d %s", status, body)
	}
	// exit_code and status are present even when zero/ok, as skill-sidecar clients read them.
	if !strings.Contains(string(body), `"exit_code":0`) {
		t.Fatalf("exit_code missing: %s", body)
	}
	_, body = e.do(http.MethodPost, "/skill/fail", map[string]any{"unknownField": true})
	mustJSON(t, body, &c)
	if c.Status != "error" || c.ExitCode != 4 || c.Stderr != "oops\n" {
		t.Fatalf("compat error: %s", body)
	}
	// timeout > 30 turns the call asynchronous, as in skill-sidecar; the task is pending, never 404.
	status, body = e.do(http.MethodPost, "/skill/nap", map[string]any{"args": []string{"1"}, "timeout": 60})
	mustJSON(t, body, &c)
	if status != 202 || c.Status != "pending" || c.TaskID == "" {
		t.Fatalf("compat async: %d %s", status, body)
	}
	status, body = e.do(http.MethodGet, "/task/"+c.TaskID, nil)
	var p compatResult
	mustJSON(t, body, &p)
	if status != 200 || p.Status != "pending" {
		t.Fatalf("compat poll while running: %d %s", status, body)
	}
	eventually(t, 5*time.Second, func() bool {
		_, body := e.do(http.MethodGet, "/task/"+c.TaskID, nil)
		mustJSON(t, body, &p)
		return p.Status == "ok"
	})
	if status, _ := e.do(http.MethodGet, "/task/"+strings.Repeat("a", 32), nil); status != 404 {
		t.Fatalf("unknown task: %d", status)
	}
	if status, body := e.do(http.MethodPost, "/skill/echo", map[string]any{"env": map[string]string{"AWS_SECRET_ACCESS_KEY": "x"}}); status != 400 {
		t.Fatalf("compat env: %d %s", status, body)
	}
}

func TestGate(t *testing.T) {
	e := startExecutor(t, opts{tools: toolsJSON(t, toolDef("echo", "/bin/echo"), toolDef("nap", "sleep")),
		env: map[string]string{"SKILLPOD_GATE_INTERVAL": "100ms", "SKILLPOD_KILL_GRACE": "100ms"}})
	off := func(value string) {
		write(t, e.podinfo, "kubernetes.io/config.seen=\"2024-01-01\"\nskillpod.io/disabled-skills="+strconv.Quote(value)+"\n")
	}

	// A run in flight when the skill is switched off is stopped.
	_, body := e.do(http.MethodPost, "/v1/runs", map[string]any{"tool": "nap", "args": []string{"300"}})
	var v wire.RunView
	mustJSON(t, body, &v)

	off("other, demo")
	ae := e.refused("echo", nil, 503, "skill_disabled")
	if !strings.Contains(ae.Message, "switched off") {
		t.Fatalf("message %q", ae.Message)
	}
	if status, _ := e.do(http.MethodPost, "/skill/echo", map[string]any{}); status != 503 {
		t.Fatalf("compat route through a closed gate: %d", status)
	}
	_, body = e.do(http.MethodGet, "/v1/runs/"+v.ID+"?wait=5", nil)
	mustJSON(t, body, &v)
	if v.State != wire.StateCancelled || v.Result.StopReason != "disabled" {
		t.Fatalf("running call after switch-off: %s", body)
	}
	// Switched off, the sidecar stays healthy and its startup probe passes: it must be able to start closed.
	if code, out, errOut := e.cli("", "probe", "--skill", "demo"); code != 0 {
		t.Fatalf("probe with the gate closed: %d %s %s", code, out, errOut)
	}
	_, body = e.do(http.MethodGet, "/v1/tools", nil)
	var tl wire.ToolList
	mustJSON(t, body, &tl)
	if tl.Enabled {
		t.Fatal("tools list should say the skill is switched off")
	}

	off("other,demo-two")
	if res := e.run("echo", map[string]any{"args": []string{"back"}}); res.Stdout != "back\n" {
		t.Fatalf("after switch-on: %+v", res)
	}
	// A file that cannot be parsed closes the gate: we cannot tell whether the skill was switched off.
	write(t, e.podinfo, "skillpod.io/disabled-skills=demo\n")
	e.refused("echo", nil, 503, "skill_disabled")
	write(t, e.podinfo, "")
	e.run("echo", nil)
	// A missing podinfo file closes the gate too: the operator always mounts it, so its absence means the
	// switch-off cannot be read (issue 13: it used to open the gate).
	if err := os.Remove(e.podinfo); err != nil {
		t.Fatal(err)
	}
	ae = e.refused("echo", nil, 503, "skill_disabled")
	if !strings.Contains(ae.Message, "podinfo file") || !strings.Contains(ae.Message, "missing") {
		t.Fatalf("missing podinfo: message %q does not say why", ae.Message)
	}
}

func TestProbe(t *testing.T) {
	e := startExecutor(t, opts{tools: toolsJSON(t, toolDef("echo", "echo"), toolDef("ls", "/bin/ls"))})
	if code, out, errOut := e.cli("", "probe", "--skill", "demo"); code != 0 || !strings.Contains(out, "ready") {
		t.Fatalf("probe: %d %q %q", code, out, errOut)
	}
	// No executor on the socket: not ready.
	if code, _, _ := e.cli("", "probe", "--skill", "other"); code == 0 {
		t.Fatal("probe of a pack without an executor succeeded")
	}
	// A tool whose command does not resolve: not ready, and the reason is named.
	bad := startExecutor(t, opts{pack: "bad", tools: toolsJSON(t, toolDef("echo", "echo"), toolDef("gone", "no-such-tool-here"))})
	code, _, errOut := bad.cli("", "probe", "--skill", "bad")
	if code == 0 || !strings.Contains(errOut, "gone") {
		t.Fatalf("probe with a missing tool: %d %q", code, errOut)
	}
}

func TestInstall(t *testing.T) {
	dir := t.TempDir()
	code, _, errOut := runCLI(t, nil, nil, "", "install", dir)
	if code != 0 {
		t.Fatalf("install: %d %s", code, errOut)
	}
	got, err := os.ReadFile(filepath.Join(dir, "skillpod-exec"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(execBin)
	fi, _ := os.Stat(filepath.Join(dir, "skillpod-exec"))
	if !bytes.Equal(got, want) || fi.Mode().Perm() != 0o755 {
		t.Fatalf("installed binary differs or mode %v", fi.Mode())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("install left temporary files: %v", ents)
	}
	if code, _, _ := runCLI(t, nil, nil, "", "install", filepath.Join(dir, "missing")); code == 0 {
		t.Fatal("install into a missing directory succeeded")
	}
}

func TestCallAndListCommands(t *testing.T) {
	e := startExecutor(t, opts{tools: toolsJSON(t,
		map[string]any{"freeArguments": true, "name": "say", "description": "print and fail", "command": []string{"/bin/sh", "-c", `echo "$@"; echo warn >&2; exit 7`, "say"},
			"argPolicy": map[string]any{"deniedFlags": []string{"--token"}}},
		toolDef("cat", "/bin/cat"),
		map[string]any{"freeArguments": true, "name": "nap", "command": []string{"sleep"}, "timeoutSeconds": 1},
	), env: map[string]string{"SKILLPOD_KILL_GRACE": "100ms"}})

	code, out, errOut := e.cli("", "call", "demo", "say", "hello", "--flag-for-the-tool")
	if code != 7 || out != "hello --flag-for-the-tool\n" || errOut != "warn\n" {
		t.Fatalf("call: %d %q %q", code, out, errOut)
	}
	if code, out, _ = e.cli("piped input", "call", "--stdin", "demo", "cat"); code != 0 || out != "piped input" {
		t.Fatalf("call --stdin: %d %q", code, out)
	}
	code, out, _ = e.cli("", "call", "--json", "demo", "say", "x")
	var res wire.RunResult
	mustJSON(t, []byte(out), &res)
	if code != 7 || res.ExitCode != 7 || res.Stdout != "x\n" {
		t.Fatalf("call --json: %d %q", code, out)
	}
	// Executor refusals are exit 125 with the reason; a timeout is 124, like timeout(1).
	if code, _, errOut = e.cli("", "call", "demo", "say", "--token=x"); code != 125 || !strings.Contains(errOut, "argument_refused") {
		t.Fatalf("refused call: %d %q", code, errOut)
	}
	if code, _, errOut = e.cli("", "call", "demo", "nope"); code != 125 || !strings.Contains(errOut, "unknown_tool") {
		t.Fatalf("unknown tool: %d %q", code, errOut)
	}
	if code, _, errOut = e.cli("", "call", "demo", "nap", "30"); code != 124 || !strings.Contains(errOut, "timed out") {
		t.Fatalf("timeout: %d %q", code, errOut)
	}
	if code, _, _ = e.cli("", "call", "absent", "say"); code != 125 {
		t.Fatalf("call to a pack without a socket: %d", code)
	}

	code, out, _ = e.cli("", "list")
	if code != 0 || !strings.Contains(out, "say: print and fail") || !strings.Contains(out, "skillpod-exec call demo say") ||
		!strings.Contains(out, "denied flags: --token") {
		t.Fatalf("list: %d %q", code, out)
	}
	code, out, _ = e.cli("", "list", "--json")
	var all struct{ Skills []wire.ToolList }
	mustJSON(t, []byte(out), &all)
	if code != 0 || len(all.Skills) != 1 || len(all.Skills[0].Tools) != 3 {
		t.Fatalf("list --json: %d %q", code, out)
	}
}

func TestAuditTrail(t *testing.T) {
	e := startExecutor(t, opts{tools: toolsJSON(t, shTool("say", `echo "$1"; exit 2`),
		map[string]any{"freeArguments": true, "name": "guarded", "command": []string{"/bin/echo"}, "argPolicy": map[string]any{"deniedFlags": []string{"--token"}}})})
	long := strings.Repeat("a", 1000)
	e.run("say", map[string]any{"args": []string{long, "second"}, "env": map[string]string{"SKILL_SECRETISH": "value-not-logged"}, "stdin": "abc"})
	e.refused("guarded", map[string]any{"args": []string{"--token=hunter2"}}, 400, "argument_refused")
	lines := e.waitAudit(2)
	if len(lines) != 2 {
		t.Fatalf("want one line per call, got %d", len(lines))
	}
	l := lines[0]
	args, _ := l["args"].([]any)
	if l["tool"] != "say" || l["skill"] != "demo" || l["mode"] != "sync" || l["exitCode"] != 2.0 || l["stdoutBytes"] != 1001.0 ||
		l["truncated"] != false || l["timedOut"] != false || l["stdinBytes"] != 3.0 || l["time"] == nil || l["durationMs"] == nil {
		t.Fatalf("audit line: %v", l)
	}
	if len(args) != 2 || len(args[0].(string)) > 300 || !strings.Contains(args[0].(string), "(1000 bytes)") {
		t.Fatalf("long argument not shortened: %v", args)
	}
	if strings.Contains(e.audit.String(), "value-not-logged") {
		t.Fatal("env values must not reach the audit trail")
	}
	if r := lines[1]; r["status"] != 400.0 || r["error"] != "argument_refused" || r["exitCode"] != nil {
		t.Fatalf("refusal line: %v", r)
	}
	// stdout carries nothing but audit lines; diagnostics go to stderr.
	if !strings.Contains(e.diag.String(), `"msg":"serving"`) {
		t.Fatalf("diagnostics: %s", e.diag.String())
	}
}

func TestRoutesAndMethods(t *testing.T) {
	e := startExecutor(t, opts{})
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/nope", 404},
		{"GET", "/v1/tools/echo/run", 405},
		{"DELETE", "/v1/tools", 405},
		{"PUT", "/v1/runs", 405},
		{"GET", "/skill/echo", 405},
		{"POST", "/v1/health", 405},
	} {
		status, body := e.do(c.method, c.path, nil)
		var ae wire.Error
		mustJSON(t, body, &ae)
		if status != c.status || ae.Code == "" {
			t.Errorf("%s %s = %d %s, want %d with a JSON error", c.method, c.path, status, body, c.status)
		}
	}
	for _, body := range []string{`{"args": "not-a-list"}`, `{"args": [1]}`, `{"argz": []}`, `{} {}`, `[`} {
		if status, got := e.do("POST", "/v1/tools/echo/run", []byte(body)); status != 400 {
			t.Errorf("body %s = %d %s, want 400", body, status, got)
		}
	}
	// An empty body means no arguments.
	if status, _ := e.do("POST", "/v1/tools/echo/run", nil); status != 200 {
		t.Errorf("empty body = %d", status)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	base := map[string]string{"SKILLPOD_IPC_DIR": dir, "SKILLPOD_WORKDIR": dir, "SKILLPOD_AGENT_UID": "0",
		"SKILLPOD_TOOLS": `[{"name":"x","command":["ls"]}]`}
	cases := []struct {
		name   string
		change map[string]string
		want   string // in the diagnostic: the start is refused for this reason, not another
	}{
		{"no tools", map[string]string{"SKILLPOD_TOOLS": ""}, "SKILLPOD_TOOLS is empty"},
		{"unknown field", map[string]string{"SKILLPOD_TOOLS": `[{"name":"x","command":["ls"],"policy":{}}]`}, `unknown field \"policy\"`},
		{"bad regexp", map[string]string{"SKILLPOD_TOOLS": `[{"name":"x","command":["ls"],"freeArguments":true,"argPolicy":{"deniedPatterns":["("]}}]`}, "deniedPatterns"},
		{"relative command", map[string]string{"SKILLPOD_TOOLS": `[{"name":"x","command":["./x"]}]`}, "absolute path"},
		{"bad limit", map[string]string{"SKILLPOD_MAX_CONCURRENCY": "-3"}, "SKILLPOD_MAX_CONCURRENCY"},
		{"bad connection cap", map[string]string{"SKILLPOD_MAX_CONNECTIONS": "0"}, "SKILLPOD_MAX_CONNECTIONS"},
		{"missing workdir", map[string]string{"SKILLPOD_WORKDIR": filepath.Join(dir, "none")}, "working directory"},
		{"missing agent uid", map[string]string{"SKILLPOD_AGENT_UID": ""}, "SKILLPOD_AGENT_UID is not set"},
	}
	for _, c := range cases {
		env := append([]string{"PATH=/usr/bin:/bin"}, settingsEnv(base, c.change)...)
		code, _, errOut := runCLI(t, env, nil, "", "serve", "--skill", "demo")
		if code == 0 || !strings.Contains(errOut, "invalid configuration") || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, stderr %q, want the reason %q", c.name, code, errOut, c.want)
		}
	}
	if code, _, _ := runCLI(t, settingsEnv(base), nil, "", "serve"); code != 2 {
		t.Errorf("serve without --skill: exit %d, want 2", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "demo", "exec.sock")); err == nil {
		t.Error("a refused configuration must not leave a socket")
	}
}
