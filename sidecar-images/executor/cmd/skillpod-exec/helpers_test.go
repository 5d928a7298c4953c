package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"skillpod.io/executor/internal/server"
	"skillpod.io/executor/internal/wire"
)

// The end-to-end tests build the real binary once and start it on a real Unix socket in a temp dir, as the
// sidecar would run it. Nothing is mocked: runs are real processes, peers are real UIDs.

var execBin string // the binary under test

// The defaults of SKILLPOD_MAX_OUTPUT_BYTES and SKILLPOD_MAX_BODY_BYTES (docs/ipc.md), which some tests fill.
const (
	defaultMaxOutput = 1 << 20
	defaultMaxBody   = 1 << 20
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "skillpod-exec-bin-")
	if err != nil {
		panic(err)
	}
	// Readable by other users: one test runs the client as uid 65534.
	if err := os.Chmod(dir, 0o755); err != nil {
		panic(err)
	}
	execBin = filepath.Join(dir, "skillpod-exec")
	build := exec.Command("go", "build", "-trimpath", "-o", execBin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if os.Getenv("SKILLPOD_TEST_RACE") != "" {
		// The executor under the race detector (needs cgo); every test then fails on a reported race.
		build = exec.Command("go", "build", "-race", "-trimpath", "-o", execBin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=1")
	}
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the executor failed:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// toolDef builds one SKILLPOD_TOOLS entry of a free-argument tool (the kind most process-level tests need).
func toolDef(name string, command ...string) map[string]any {
	return map[string]any{"name": name, "command": command, "freeArguments": true}
}

func toolsJSON(t *testing.T, tools ...map[string]any) string {
	t.Helper()
	b, err := json.Marshal(tools)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// shTool is a tool whose command is a fixed sh script (written by the pack author, i.e. the test); the
// caller's arguments arrive as "$@".
func shTool(name, script string) map[string]any {
	return toolDef(name, "/bin/sh", "-c", script, name)
}

// opts configures one executor under test.
type opts struct {
	pack     string
	tools    string
	agentUID int               // default: this process's uid
	env      map[string]string // extra environment (limits, or variables the child should or should not see)
	pidNS    bool              // run as PID 1 of a new PID namespace
	noWait   bool              // do not wait for readiness
}

// executor is a running skillpod-exec serve.
type executor struct {
	t              *testing.T
	pack           string
	dir, ipc, work string
	podinfo, sock  string
	cmd            *exec.Cmd
	audit, diag    *syncBuffer
	exited         chan struct{}
	waitErr        error
	client         *http.Client
	baseEnv        []string
	readyIn        time.Duration
	agentUID       int
}

func startExecutor(t *testing.T, o opts) *executor {
	t.Helper()
	if o.pack == "" {
		o.pack = "demo"
	}
	if o.tools == "" {
		o.tools = toolsJSON(t, toolDef("echo", "/bin/echo"))
	}
	if o.agentUID == 0 {
		o.agentUID = os.Getuid()
	}
	// A short base path: sun_path holds 107 bytes. World-traversable: some clients run as another uid.
	dir, err := os.MkdirTemp("", "spx-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	e := &executor{t: t, pack: o.pack, dir: dir, ipc: filepath.Join(dir, "ipc"), work: filepath.Join(dir, "work"),
		podinfo: filepath.Join(dir, "annotations"), audit: &syncBuffer{}, diag: &syncBuffer{}, exited: make(chan struct{}),
		agentUID: o.agentUID}
	e.sock = filepath.Join(e.ipc, o.pack, "exec.sock")
	for _, d := range []string{dir, e.ipc, e.work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The operator mounts the podinfo file in every pod; without it the gate is closed.
	write(t, e.podinfo, "kubernetes.io/config.seen=\"2024-01-01\"\n")
	e.baseEnv = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir, "SKILLPOD_IPC_DIR=" + e.ipc}
	env := append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir}, settingsEnv(map[string]string{
		"SKILLPOD_IPC_DIR":      e.ipc,
		"SKILLPOD_TOOLS":        o.tools,
		"SKILLPOD_AGENT_UID":    strconv.Itoa(o.agentUID),
		"SKILLPOD_WORKDIR":      e.work,
		"SKILLPOD_PODINFO_FILE": e.podinfo,
	}, o.env)...)
	e.cmd = exec.Command(execBin, "serve", "--skill", o.pack)
	e.cmd.Env = env
	e.cmd.Stdout, e.cmd.Stderr = e.audit, e.diag
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if o.pidNS {
		e.cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWPID
	}
	start := time.Now()
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { e.waitErr = e.cmd.Wait(); close(e.exited) }()
	t.Cleanup(func() {
		_ = e.cmd.Process.Kill()
		<-e.exited
		if strings.Contains(e.diag.String(), "DATA RACE") {
			t.Error("the race detector reported a data race in the executor")
		}
		if t.Failed() {
			t.Logf("executor stderr:\n%s\naudit:\n%s", e.diag.String(), e.audit.String())
		}
	})
	e.client = unixHTTP(e.sock, 60*time.Second) // a hang fails the test instead of the whole run
	if !o.noWait {
		e.waitReady(10 * time.Second)
		e.readyIn = time.Since(start)
	}
	return e
}

// settingsEnv is every setting serve requires, as the operator writes them: the given values, and the empty
// string (the default) for the rest. Later maps override earlier ones.
func settingsEnv(values ...map[string]string) []string {
	merged := map[string]string{}
	for _, m := range values {
		for k, v := range m {
			merged[k] = v
		}
	}
	var env []string
	for _, k := range server.SettingKeys() {
		env = append(env, k+"="+merged[k])
		delete(merged, k)
	}
	for k, v := range merged { // variables that are not settings (the child may or may not see them)
		env = append(env, k+"="+v)
	}
	return env
}

func unixHTTP(sock string, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
		MaxIdleConnsPerHost: 64,
	}}
}

func (e *executor) waitReady(timeout time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	c := unixHTTP(e.sock, time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-e.exited:
			e.t.Fatalf("executor exited early: %v\n%s", e.waitErr, e.diag.String())
		default:
		}
		if resp, err := c.Get("http://x/v1/health"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				c.CloseIdleConnections() // it would hold one of the executor's connections (the cap counts them)
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("executor not ready after %s\n%s", timeout, e.diag.String())
}

// send makes one request; body may be nil, a []byte, or a value to encode as JSON. It does not fail the
// test, so goroutines can use it.
func (e *executor) send(method, path string, body any) (int, http.Header, []byte, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return 0, nil, nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, "http://skillpod"+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data, err
}

// do is send for the test goroutine: any transport error fails the test.
func (e *executor) do(method, path string, body any) (int, []byte) {
	e.t.Helper()
	status, _, data, err := e.send(method, path, body)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return status, data
}

// run calls a tool synchronously and decodes the result; it fails the test unless the answer is 200.
func (e *executor) run(tool string, req map[string]any) wire.RunResult {
	e.t.Helper()
	res, err := e.tryRun(tool, req)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

// tryRun is run without failing the test, for goroutines.
func (e *executor) tryRun(tool string, req map[string]any) (wire.RunResult, error) {
	var res wire.RunResult
	status, _, body, err := e.send(http.MethodPost, "/v1/tools/"+tool+"/run", req)
	if err != nil {
		return res, err
	}
	if status != http.StatusOK {
		return res, fmt.Errorf("run %s: %d %s", tool, status, body)
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return res, fmt.Errorf("run %s: %v: %s", tool, err, body)
	}
	return res, nil
}

// refused calls a tool and checks that the executor refuses with the given status and error code.
func (e *executor) refused(tool string, req map[string]any, status int, code string) wire.Error {
	e.t.Helper()
	got, body := e.do(http.MethodPost, "/v1/tools/"+tool+"/run", req)
	var ae wire.Error
	mustJSON(e.t, body, &ae)
	if got != status || ae.Code != code {
		e.t.Fatalf("run %s %v: got %d %s, want %d %s", tool, req, got, body, status, code)
	}
	return ae
}

// raw sends bytes on a fresh connection and returns what comes back until the server closes or 2 s pass.
func (e *executor) raw(request string) string {
	e.t.Helper()
	c, err := net.Dial("unix", e.sock)
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		e.t.Fatalf("raw %q: %v", request, err)
	}
	body, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, body)
}

// auditLines parses the audit trail written so far.
func (e *executor) auditLines() []map[string]any {
	e.t.Helper()
	var lines []map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(e.audit.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			e.t.Fatalf("audit line is not JSON: %q", l)
		}
		lines = append(lines, m)
	}
	return lines
}

// waitAudit waits until n audit lines have been written (the line of a run is written as it ends).
func (e *executor) waitAudit(n int) []map[string]any {
	e.t.Helper()
	eventually(e.t, 5*time.Second, func() bool { return len(e.auditLines()) >= n })
	return e.auditLines()
}

func (e *executor) pid() int { return e.cmd.Process.Pid }

func (e *executor) waitExit(timeout time.Duration) bool {
	select {
	case <-e.exited:
		return true
	case <-time.After(timeout):
		return false
	}
}

// cli runs the binary as a client (call, list, probe) with the executor's paths.
func (e *executor) cli(stdin string, args ...string) (int, string, string) {
	e.t.Helper()
	return runCLI(e.t, e.baseEnv, nil, stdin, args...)
}

func runCLI(t *testing.T, env []string, cred *syscall.Credential, stdin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(execBin, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return code, out.String(), errb.String()
}

func mustJSON(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("not the expected JSON (%v): %s", err, data)
	}
}

func eventually(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readPid reads a pid a tool wrote into the working directory.
func (e *executor) readPid(name string) int {
	e.t.Helper()
	var pid int
	eventually(e.t, 5*time.Second, func() bool {
		data, err := os.ReadFile(filepath.Join(e.work, name))
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(data)))
		return err == nil
	})
	return pid
}

// procState is the state letter of a process ("R", "S", "Z"…), or "" when it no longer exists.
func procState(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return ""
	}
	return s[i+2 : i+3]
}

// gone waits until pid no longer exists (a zombie still counts as existing: it must be reaped).
func gone(t *testing.T, pid int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for procState(pid) != "" {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still exists (state %q)", pid, procState(pid))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// children lists the pids whose parent is ppid, with their states.
func children(ppid int) map[int]string {
	out := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(ppid) {
			out[pid] = f[0]
		}
	}
	return out
}

// vmKB reads a memory figure (VmRSS, VmHWM) of a process in KiB.
func vmKB(t *testing.T, pid int, field string) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// syncBuffer collects a process's output while tests read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// compatResult is the skill-sidecar answer as its clients decode it.
type compatResult struct {
	Status   string `json:"status"` // ok | error | pending
	TaskID   string `json:"task_id,omitempty"`
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
	ExitCode int    `json:"exit_code"`
	TimedOut bool   `json:"timed_out,omitempty"`
	Trunc    bool   `json:"truncated,omitempty"`
}
