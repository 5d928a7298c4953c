package main

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"skillpod.io/executor/internal/wire"
)

// Typed tools through the real binary: every route, the call and list commands, and the audit trail. The
// tool prints its argv one per line, so what the template rendered is exactly what the test sees.

const printArgs = `for a in "$@"; do printf '[%s]\n' "$a"; done`

// kubectlGet is the contract's example tool, as argpolicy's tests use it.
func kubectlGet(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("../../internal/argpolicy/testdata/kubectl-get.json")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func typedExecutor(t *testing.T) *executor {
	t.Helper()
	var get map[string]any
	if err := json.Unmarshal(kubectlGet(t), &get); err != nil {
		t.Fatal(err)
	}
	get["command"] = []string{"/bin/sh", "-c", printArgs, "kubectl"}
	return startExecutor(t, opts{tools: toolsJSON(t, get,
		map[string]any{"name": "version", "command": []string{"/bin/echo", "v1"}},
		shTool("free", printArgs),
	)})
}

func TestTypedToolOverHTTP(t *testing.T) {
	e := typedExecutor(t)
	res := e.run("get", map[string]any{"input": map[string]any{"resource": "pods", "name": "web-0", "allContainers": true,
		"headers": []string{"a", "b"}, "tail": 5}})
	if res.ExitCode != 0 || res.Stdout != "[pods]\n[web-0]\n[--all-containers]\n[--tail]\n[5]\n[-H]\n[a]\n[-H]\n[b]\n" {
		t.Fatalf("typed run: %+v", res)
	}
	ae := e.refused("get", map[string]any{"input": map[string]any{"resource": "pods", "name": "--kubeconfig"}}, 400, "input_refused")
	if ae.Param != "name" || !strings.Contains(ae.Message, "read it as a flag") {
		t.Fatalf("flag in a bare position: %+v", ae)
	}
	ae = e.refused("get", map[string]any{"input": map[string]any{"resource": "pods", "kuberc": "/workspace/rc"}}, 400, "input_refused")
	if ae.Param != "kuberc" {
		t.Fatalf("unknown input key: %+v", ae)
	}
	e.refused("get", map[string]any{"args": []string{"pods", "--kuberc=/workspace/rc"}}, 400, "args_not_accepted")
	e.refused("free", map[string]any{"input": map[string]any{"a": "b"}}, 400, "input_not_accepted")
	e.refused("version", map[string]any{"args": []string{"--client"}}, 400, "args_not_accepted")
	if res := e.run("version", map[string]any{"input": map[string]any{}}); res.Stdout != "v1\n" {
		t.Fatalf("tool without input: %+v", res)
	}
	// The asynchronous form takes "input" the same way, and refuses the same way.
	status, body := e.do(http.MethodPost, "/v1/runs", map[string]any{"tool": "get", "input": map[string]any{"resource": "services"}})
	var v wire.RunView
	mustJSON(t, body, &v)
	if status != 202 {
		t.Fatalf("async typed: %d %s", status, body)
	}
	_, body = e.do(http.MethodGet, "/v1/runs/"+v.ID+"?wait=10", nil)
	mustJSON(t, body, &v)
	if v.Result == nil || v.Result.Stdout != "[services]\n" {
		t.Fatalf("async typed result: %s", body)
	}
	status, body = e.do(http.MethodPost, "/v1/runs", map[string]any{"tool": "get", "input": map[string]any{"resource": "secrets"}})
	var ae2 wire.Error
	mustJSON(t, body, &ae2)
	if status != 400 || ae2.Code != "input_refused" || ae2.Param != "resource" {
		t.Fatalf("async refused input: %d %s", status, body)
	}
	// The skill-sidecar route takes "input" too.
	var c compatResult
	status, body = e.do(http.MethodPost, "/skill/get", map[string]any{"input": map[string]any{"resource": "pods", "output": "json"}})
	mustJSON(t, body, &c)
	if status != 200 || c.Stdout != "[pods]\n[--output]\n[json]\n" {
		t.Fatalf("compat typed: %d %s", status, body)
	}
	if status, body = e.do(http.MethodPost, "/skill/get", map[string]any{"args": []string{"pods"}}); status != 400 {
		t.Fatalf("compat args to a typed tool: %d %s", status, body)
	}
	e.stillServes()
}

func TestToolListShowsParameters(t *testing.T) {
	e := typedExecutor(t)
	_, body := e.do(http.MethodGet, "/v1/tools", nil)
	var raw struct {
		Tools []map[string]json.RawMessage `json:"tools"`
	}
	mustJSON(t, body, &raw)
	var want map[string]json.RawMessage
	mustJSON(t, kubectlGet(t), &want)
	if got := raw.Tools[0]["parameters"]; compactJSON(t, got) != compactJSON(t, want["parameters"]) {
		t.Fatalf("parameters not as given:\n%s\nwant\n%s", got, want["parameters"])
	}
	if string(raw.Tools[2]["freeArguments"]) != "true" || raw.Tools[0]["freeArguments"] != nil || raw.Tools[0]["args"] == nil {
		t.Fatalf("freeArguments/args: %s", body)
	}
	code, out, _ := e.cli("", "list")
	for _, s := range []string{"skillpod-exec call demo get --input '<json>'", "- resource (string, required, enum [",
		"- headers (array of string, maxLength 100, maxItems 3)", "skillpod-exec call demo version  (takes no input",
		"skillpod-exec call demo free [args…]"} {
		if !strings.Contains(out, s) {
			t.Errorf("list: %q missing from\n%s", s, out)
		}
	}
	if code != 0 {
		t.Fatalf("list: exit %d", code)
	}
}

func compactJSON(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v any
	mustJSON(t, raw, &v)
	b, _ := json.Marshal(v)
	return string(b)
}

func TestCallWithInput(t *testing.T) {
	e := typedExecutor(t)
	code, out, errOut := e.cli("", "call", "demo", "get", "--input", `{"resource":"pods","name":"web-0"}`)
	if code != 0 || out != "[pods]\n[web-0]\n" {
		t.Fatalf("call --input after the tool: %d %q %q", code, out, errOut)
	}
	if code, out, _ = e.cli("", "call", "--input", `{"resource":"pods"}`, "demo", "get"); code != 0 || out != "[pods]\n" {
		t.Fatalf("call --input as an option: %d %q", code, out)
	}
	if code, out, _ = e.cli("", "call", "demo", "get", `--input={"resource":"services"}`); code != 0 || out != "[services]\n" {
		t.Fatalf("call --input=: %d %q", code, out)
	}
	code, _, errOut = e.cli("", "call", "demo", "get", "--input", `{"resource":"pods","name":"-A"}`)
	if code != 125 || !strings.Contains(errOut, "input_refused") || !strings.Contains(errOut, `parameter "name"`) {
		t.Fatalf("refused input: %d %q", code, errOut)
	}
	if code, _, errOut = e.cli("", "call", "demo", "get", "--input", `{bad`); code != 125 || !strings.Contains(errOut, "not valid JSON") {
		t.Fatalf("invalid JSON: %d %q", code, errOut)
	}
	if code, _, errOut = e.cli("", "call", "demo", "get", "pods"); code != 125 || !strings.Contains(errOut, "args_not_accepted") {
		t.Fatalf("args to a typed tool: %d %q", code, errOut)
	}
	// For a free-argument tool, "--input x" after the tool name is the tool's own: passed through verbatim.
	if code, out, _ = e.cli("", "call", "demo", "free", "--input", "file.txt"); code != 0 || out != "[--input]\n[file.txt]\n" {
		t.Fatalf("free tool with its own --input: %d %q", code, out)
	}
	if code, out, _ = e.cli("", "call", "demo", "version"); code != 0 || out != "v1\n" {
		t.Fatalf("tool without input: %d %q", code, out)
	}
}

func TestAuditRecordsInput(t *testing.T) {
	e := typedExecutor(t)
	e.run("get", map[string]any{"input": map[string]any{"resource": "pods", "selector": "app=web"}})
	e.refused("get", map[string]any{"input": map[string]any{"resource": "pods", "name": "-oyaml"}}, 400, "input_refused")
	lines := e.waitAudit(2)
	ran, refused := lines[0], lines[1]
	in, _ := ran["input"].(map[string]any)
	args, _ := ran["args"].([]any)
	if in["resource"] != "pods" || in["selector"] != "app=web" || len(args) != 2 || args[1] != "--selector=app=web" {
		t.Fatalf("audit of a typed run (input, and the rendered arguments): %v", ran)
	}
	in, _ = refused["input"].(map[string]any)
	if in["name"] != "-oyaml" || refused["error"] != "input_refused" || !strings.Contains(refused["reason"].(string), `"name"`) {
		t.Fatalf("audit of a refused input: %v", refused)
	}
}
