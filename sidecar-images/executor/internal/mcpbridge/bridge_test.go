//go:build !nomcp

package mcpbridge

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"skillpod.io/executor/internal/argpolicy"
	"skillpod.io/executor/internal/wire"
)

// The transport answers lines that are not JSON-RPC messages with an error and keeps reading.
func TestLineTransportAnswersMalformedLines(t *testing.T) {
	in := strings.Join([]string{
		`garbage{`,
		`[]`,
		`{"jsonrpc":"2.0","id":"x","method":42}`,
		strings.Repeat("a", maxMCPLine+10),
		``,
		`{"jsonrpc":"2.0","id":1,"method":"ping"}`,
	}, "\n") + "\n"
	var out bytes.Buffer
	conn, err := (&lineTransport{in: strings.NewReader(in), out: &out}).Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	msg, err := conn.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if req, ok := msg.(*jsonrpc.Request); !ok || req.Method != "ping" {
		t.Fatalf("got %#v, want the ping", msg)
	}
	if _, err := conn.Read(context.Background()); err != io.EOF {
		t.Fatalf("after the input: %v, want EOF", err)
	}
	var answers []struct {
		ID    json.RawMessage `json:"id"`
		Error struct{ Code int }
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var a struct {
			ID    json.RawMessage `json:"id"`
			Error struct{ Code int }
		}
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("answer %q: %v", line, err)
		}
		answers = append(answers, a)
	}
	want := []struct {
		id   string
		code int
	}{{"null", -32700}, {"null", -32600}, {`"x"`, -32600}, {"null", -32600}}
	if len(answers) != len(want) {
		t.Fatalf("answers %s, want %d", out.String(), len(want))
	}
	for i, w := range want {
		if string(answers[i].ID) != w.id || answers[i].Error.Code != w.code {
			t.Errorf("answer %d: id %s code %d, want %s %d", i, answers[i].ID, answers[i].Error.Code, w.id, w.code)
		}
	}
}

func TestMCPToolShapes(t *testing.T) {
	tools, err := argpolicy.ParseTools(`[{"name":"get","description":"Read","command":["kubectl","get"],
	  "parameters":{"type":"object","properties":{"name":{"type":"string"}}},"args":[["{name}"]]},
	 {"name":"logs","command":["kubectl","logs"],"freeArguments":true,"argPolicy":{"maxArgs":3,"deniedFlags":["--token"]}},
	 {"name":"version","command":["kubectl","version"]}]`)
	if err != nil {
		t.Fatal(err)
	}
	typed, free, none := mcpTool("k8s", &tools[0].Tool), mcpTool("k8s", &tools[1].Tool), mcpTool("k8s", &tools[2].Tool)
	if typed.Name != "k8s__get" || string(typed.InputSchema.(json.RawMessage)) != string(tools[0].Parameters) {
		t.Errorf("typed tool: %+v", typed)
	}
	fs, _ := json.Marshal(free.InputSchema)
	if !strings.Contains(string(fs), `"maxItems":3`) || !strings.Contains(free.Description, "--token") {
		t.Errorf("free tool: %s %q", fs, free.Description)
	}
	ns, _ := json.Marshal(none.InputSchema)
	if string(ns) != `{"additionalProperties":false,"properties":{},"type":"object"}` {
		t.Errorf("tool without input: %s", ns)
	}
	if b, msg := runBody(&tools[1].Tool, json.RawMessage(`{"args":["a"],"x":1}`)); msg == "" {
		t.Errorf("free tool with an unknown key: %+v", b)
	}
	if b, msg := runBody(&tools[1].Tool, json.RawMessage(`{"args":["a","b"]}`)); msg != "" || len(b.Args) != 2 {
		t.Errorf("free tool: %+v %q", b, msg)
	}
	if b, _ := runBody(&tools[0].Tool, nil); string(b.Input) != `{}` {
		t.Errorf("typed tool without arguments: %s", b.Input)
	}
}

func TestMCPToolResult(t *testing.T) {
	r := toolResult(wire.RunResult{ExitCode: 2, Stdout: "out", Stderr: "err", StdoutTruncated: true, StdoutBytes: 10})
	b, _ := json.Marshal(r)
	for _, want := range []string{`"text":"out"`, `"text":"stderr:\nerr"`, `exit code 2, stdout truncated (3 of 10 bytes kept)`, `"isError":true`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	if toolResult(wire.RunResult{ExitCode: 0}).IsError {
		t.Error("exit 0 is not an error")
	}
	if !toolResult(wire.RunResult{TimedOut: true}).IsError {
		t.Error("a timeout is an error")
	}
}
