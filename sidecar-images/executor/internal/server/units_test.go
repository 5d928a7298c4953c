package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"skillpod.io/executor/internal/argpolicy"
	"skillpod.io/executor/internal/wire"
)

func TestSidecarEnv(t *testing.T) {
	e := newSidecarEnv([]string{"PATH=/bin", "SKILLPOD_TOOLS=[]", "SKILLPOD_AGENT_UID=1000", "SKILL_PRESET=admin", "HOME=/tmp"})
	got, err := e.build(map[string]string{"SKILL_FOO": "bar"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"PATH=/bin", "SKILL_PRESET=admin", "HOME=/tmp", "SKILL_FOO=bar"}
	if !slices.Equal(got, want) {
		t.Fatalf("env = %q, want %q", got, want)
	}
	for _, key := range []string{"LD_PRELOAD", "PATH", "SKILLPOD_TOOLS", "skill_foo", "SKILL_", "SKILL_PRESET", "SKILL_A-B", ""} {
		if _, err := e.build(map[string]string{key: "x"}); err == nil {
			t.Errorf("key %q accepted, want refused", key)
		}
	}
	if _, err := e.build(map[string]string{"SKILL_X": "a\x00b"}); err == nil {
		t.Error("NUL in a value accepted")
	}
	// Concurrent builds must not share a backing array.
	a, _ := e.build(map[string]string{"SKILL_A": "1"})
	b, _ := e.build(map[string]string{"SKILL_B": "2"})
	if a[len(a)-1] != "SKILL_A=1" || b[len(b)-1] != "SKILL_B=2" {
		t.Fatalf("builds interfere: %q %q", a, b)
	}
}

func TestDisabledPacks(t *testing.T) {
	file := "app=\"x\"\nskillpod.io/disabled-skills=\"k8s, github ,,\"\nother=\"a\\nb\"\n"
	packs, err := disabledPacks([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(packs, []string{"k8s", "github"}) {
		t.Fatalf("packs = %q", packs)
	}
	if packs, err := disabledPacks([]byte("a=\"b\"\n")); err != nil || packs != nil {
		t.Fatalf("no annotation: %q %v", packs, err)
	}
	if _, err := disabledPacks([]byte("skillpod.io/disabled-skills=k8s\n")); err == nil {
		t.Fatal("an unquoted value must be an error (the gate then fails closed)")
	}
}

func TestGateFile(t *testing.T) {
	dir := t.TempDir()
	g := gate{path: dir + "/annotations", pack: "k8s"}
	if closed, why := g.closed(); !closed || !strings.Contains(why, "missing") {
		t.Fatalf("a missing file must close the gate, saying why: %v %q", closed, why)
	}
	write(t, g.path, "")
	if closed, _ := g.closed(); closed {
		t.Fatal("an empty annotations file leaves the gate open")
	}
	write(t, g.path, `skillpod.io/disabled-skills="k8s"`+"\n")
	if closed, why := g.closed(); !closed || !strings.Contains(why, "switched off") {
		t.Fatalf("closed=%v why=%q", closed, why)
	}
	write(t, g.path, `skillpod.io/disabled-skills="k8s-extra"`+"\n")
	if closed, _ := g.closed(); closed {
		t.Fatal("another pack's name must not close the gate")
	}
	write(t, g.path, `skillpod.io/disabled-skills="broken`+"\n")
	if closed, _ := g.closed(); !closed {
		t.Fatal("an unparsable annotation must close the gate")
	}
}

func TestJobStoreEviction(t *testing.T) {
	s := newJobStore(time.Hour, 2, 100)
	mk := func(id string) *job { j := &job{id: id, created: time.Now()}; s.add(j); return j }
	a, b, c := mk("a"), mk("b"), mk("c")
	if s.get("a") == nil {
		t.Fatal("a running job must be kept")
	}
	s.finish(a, 10)
	s.finish(b, 10)
	s.finish(c, 10)
	if s.get("a") != nil || s.get("b") == nil || s.get("c") == nil {
		t.Fatal("count bound: the oldest finished job should be gone, the others kept")
	}
	d := mk("d")
	s.finish(d, 95) // over the byte budget: older results go first
	if s.get("b") != nil || s.get("c") != nil || s.get("d") == nil {
		t.Fatal("byte bound: older results should be evicted before the newest")
	}
	s.ttl = time.Nanosecond
	time.Sleep(time.Millisecond)
	if s.get("d") != nil {
		t.Fatal("ttl bound: an expired result must be gone")
	}
}

func TestLoadConfig(t *testing.T) {
	env := map[string]string{
		"SKILLPOD_TOOLS":     `[{"name":"ls","command":["ls"]}]`,
		"SKILLPOD_AGENT_UID": "1000",
		"SKILLPOD_IPC_DIR":   "/tmp/ipc",
	}
	getenv := func(k string) string { return env[k] }
	c, err := loadConfig("k8s", getenv)
	if err != nil {
		t.Fatal(err)
	}
	if c.agentUID != 1000 || c.maxConcurrency != defaultMaxConcurrency || c.workdir != defaultWorkdir {
		t.Fatalf("config = %+v", c)
	}
	for key, val := range map[string]string{
		"SKILLPOD_AGENT_UID":        "agent",
		"SKILLPOD_MAX_CONCURRENCY":  "0",
		"SKILLPOD_MAX_OUTPUT_BYTES": "lots",
		"SKILLPOD_KILL_GRACE":       "2",
	} {
		old := env[key]
		env[key] = val
		if _, err := loadConfig("k8s", getenv); err == nil {
			t.Errorf("%s=%q accepted", key, val)
		}
		env[key] = old
	}
	delete(env, "SKILLPOD_AGENT_UID")
	if _, err := loadConfig("k8s", getenv); err == nil {
		t.Error("a missing SKILLPOD_AGENT_UID must stop the start")
	}
	if _, err := loadConfig("../k8s", getenv); err == nil {
		t.Error("a pack name that is not a DNS label must be refused")
	}
}

func TestMissingSettings(t *testing.T) {
	if m := missingSettings(nil); !slices.Equal(m, settingKeys) {
		t.Fatalf("missingSettings(nil) = %q, want every key", m)
	}
	if err := checkSettings(nil); err == nil || !strings.Contains(err.Error(), "SKILLPOD_TOOLS") {
		t.Fatalf("checkSettings(nil) = %v", err)
	}
	if keys := SettingKeys(); !slices.IsSorted(keys) || len(keys) != len(settingKeys) {
		t.Fatalf("SettingKeys() = %q", keys)
	}
}

func TestAuditInput(t *testing.T) {
	got, _ := json.Marshal(auditInput(json.RawMessage(`{"b":"` + strings.Repeat("x", 400) + `","a":[1,2]}`)))
	if !strings.HasPrefix(string(got), `{"a":[1,2],"b":"\"xxx`) || !strings.Contains(string(got), "(402 bytes)") {
		t.Fatalf("audit input: %s", got)
	}
	if auditInput(nil) != nil || auditInput(json.RawMessage("null")) != nil {
		t.Fatal("no input, no field")
	}
}

// The refusals of argpolicy become 400s with the code that names the rule; anything else is a 500.
func TestRefusal(t *testing.T) {
	tools, err := argpolicy.ParseTools(`[{"name":"free","command":["echo"],"freeArguments":true,"argPolicy":{"deniedFlags":["--token"]}},
	 {"name":"typed","command":["echo"],"parameters":{"type":"object","properties":{"n":{"type":"integer"}}},"args":[["{n}"]]}]`)
	if err != nil {
		t.Fatal(err)
	}
	free, typed := tools[0], tools[1]
	at := func(args []string, input string) *wire.Error {
		t.Helper()
		var raw json.RawMessage
		if input != "" {
			raw = json.RawMessage(input)
		}
		tool := free
		if args == nil {
			tool = typed
		}
		_, err := tool.Arguments(args, raw)
		if err == nil {
			t.Fatalf("%q %s accepted", args, input)
		}
		return refusal(err)
	}
	if e := at([]string{"a", "--token=x"}, ""); e.Status != 400 || e.Code != "argument_refused" || e.Index == nil || *e.Index != 1 {
		t.Errorf("argument: %+v", e)
	}
	if e := at([]string{}, `{"n":1}`); e.Code != "input_not_accepted" {
		t.Errorf("input to a free tool: %+v", e)
	}
	if e := at(nil, `{"n":"x"}`); e.Status != 400 || e.Code != "input_refused" || e.Param != "n" ||
		!strings.HasPrefix(e.Message, `input refused: parameter "n"`) {
		t.Errorf("input: %+v", e)
	}
	if _, err := typed.Arguments([]string{"x"}, nil); refusal(err).Code != "args_not_accepted" {
		t.Errorf("args to a typed tool: %v", err)
	}
	cause := errors.New("boom")
	if e := answer(fmt.Errorf("wrapped: %w", cause)); e.Status != 500 || !errors.Is(e, cause) {
		t.Errorf("other errors: %+v", e)
	}
	if e := errorf(400, "bad_request", "reading body: %w", cause); e.Message != "reading body: boom" || !errors.Is(e, cause) {
		t.Errorf("errorf: %+v", e)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
