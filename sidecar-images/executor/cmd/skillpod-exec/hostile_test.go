package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"skillpod.io/executor/internal/wire"
)

// The hostile-caller suite: each test asserts the specific denial (or containment) and that the executor
// is still alive and serving afterwards.

// stillServes checks the executor survived: alive, and a normal call still works.
func (e *executor) stillServes() {
	e.t.Helper()
	select {
	case <-e.exited:
		e.t.Fatalf("executor died: %v\n%s", e.waitErr, e.diag.String())
	default:
	}
	if status, body := e.do(http.MethodGet, "/v1/health", nil); status != 200 {
		e.t.Fatalf("health after the attack: %d %s", status, body)
	}
}

func TestMetacharactersStayLiteral(t *testing.T) {
	e := startExecutor(t, opts{tools: toolsJSON(t, shTool("args", `for a in "$@"; do printf '[%s]\n' "$a"; done`))})
	hostile := []string{
		"$(touch pwned)", "`touch pwned`", "; touch pwned", "&& touch pwned", "| touch pwned", "> pwned",
		"$HOME", "${PATH}", "*", "'", `"`, "\\", "a\nb", "--", "-", "",
	}
	var want strings.Builder
	for _, a := range hostile {
		fmt.Fprintf(&want, "[%s]\n", a)
	}
	if res := e.run("args", map[string]any{"args": hostile}); res.Stdout != want.String() {
		t.Fatalf("arguments changed on the way:\n%s\nwant\n%s", res.Stdout, want.String())
	}
	// The same through the skill-sidecar route and the call command.
	status, body := e.do(http.MethodPost, "/skill/args", map[string]any{"args": hostile})
	var c compatResult
	mustJSON(t, body, &c)
	if status != 200 || c.Stdout != want.String() {
		t.Fatalf("compat: %d %s", status, body)
	}
	if code, out, _ := e.cli("", append([]string{"call", "demo", "args"}, hostile...)...); code != 0 || out != want.String() {
		t.Fatalf("call: %d %q", code, out)
	}
	if _, err := os.Stat(filepath.Join(e.work, "pwned")); err == nil {
		t.Fatal("a shell interpreted an argument")
	}
	e.stillServes()
}

// The kubectl-like tool prints its argv, so a refusal that slipped through would show.
func TestKubectlPolicyOverHTTP(t *testing.T) {
	e := startExecutor(t, opts{tools: toolsJSON(t, map[string]any{
		"name": "kubectl", "command": []string{"/bin/echo", "kubectl"}, "freeArguments": true,
		"argPolicy": map[string]any{
			"deniedFlags":     []string{"--kubeconfig", "--server", "-s", "--token", "--as", "--as-group", "--as-uid"},
			"allowedPatterns": []string{`[A-Za-z0-9./=:_,-]+`},
		},
	})})
	refused := [][]string{
		{"get", "pods", "--kubeconfig=/workspace/x"},
		{"get", "pods", "--kubeconfig", "/workspace/x"},
		{"get", "pods", "--kubec=/workspace/x"},
		{"get", "pods", "-kubeconfig=/workspace/x"},
		{"get", "pods", "--server=https://10.0.0.1"},
		{"get", "pods", "--server", "https://10.0.0.1"},
		{"get", "pods", "--serv=https://10.0.0.1"},
		{"get", "pods", "-s", "https://10.0.0.1"},
		{"get", "pods", "-shttps://10.0.0.1"},
		{"get", "pods", "-vs=https://10.0.0.1"},
		{"get", "pods", "--token", "abc"},
		{"get", "pods", "--token=abc"},
		{"get", "pods", "--tok=abc"},
		{"get", "pods", "--as=system:admin"},
		{"get", "pods", "--as_group=system:masters"},
		{"get", "pods", "--", "--token=abc"},
		{"get", "pods", "$(id)"}, // not in the allowed pattern
	}
	for _, args := range refused {
		ae := e.refused("kubectl", map[string]any{"args": args}, 400, "argument_refused")
		if ae.Index == nil || *ae.Index < 2 {
			t.Errorf("%q: refusal does not name the argument: %+v", args, ae)
		}
	}
	res := e.run("kubectl", map[string]any{"args": []string{"get", "pods", "-n", "kube-system", "-o", "wide", "--all-namespaces"}})
	if res.Stdout != "kubectl get pods -n kube-system -o wide --all-namespaces\n" {
		t.Fatalf("allowed call: %q", res.Stdout)
	}
	if n := len(e.waitAudit(len(refused) + 1)); n != len(refused)+1 {
		t.Fatalf("audit lines: %d", n)
	}
	e.stillServes()
}

func TestToolNameTraversal(t *testing.T) {
	e := startExecutor(t, opts{tools: toolsJSON(t, toolDef("echo", "/bin/echo"))})
	for _, path := range []string{
		"/skill/..%2F..%2Fbin%2Fsh", "/skill/../../bin/sh", "/skill/%2e%2e", "/skill/%2E%2E%2Fecho", "/skill/ECHO",
		"/skill/echo%00", "/skill/a/b", "/skill/", "/skill/.echo",
		"/v1/tools/..%2F..%2Fbin%2Fsh/run", "/v1/tools/../../bin/sh/run", "/v1/tools/%2e%2e/run", "/v1/tools/a/b/run",
		"/v1/tools/echo%2F/run",
	} {
		got := e.raw("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
		if !strings.HasPrefix(got, "400 ") || !strings.Contains(got, "invalid_tool_name") {
			t.Errorf("POST %s = %s, want 400 invalid_tool_name", path, got)
		}
	}
	e.refused("nope", nil, 400, "unknown_tool")
	for _, l := range e.auditLines() {
		if l["exitCode"] != nil {
			t.Fatalf("something ran: %v", l)
		}
	}
	e.stillServes()
}

func TestCallerEnvironment(t *testing.T) {
	e := startExecutor(t, opts{
		tools: toolsJSON(t, toolDef("env", "/usr/bin/env")),
		env:   map[string]string{"SKILLPOD_SECRET_SETTING": "executor-only", "PACK_TOKEN": "for-the-tool", "SKILL_PRESET": "admin"},
	})
	res := e.run("env", map[string]any{"env": map[string]string{"SKILL_FOO": "bar"}})
	vars := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	has := func(kv string) bool {
		for _, v := range vars {
			if v == kv {
				return true
			}
		}
		return false
	}
	if !has("SKILL_FOO=bar") || !has("PACK_TOKEN=for-the-tool") || !has("SKILL_PRESET=admin") || !has("PATH=/usr/local/bin:/usr/bin:/bin") {
		t.Fatalf("child environment: %q", vars)
	}
	// The child cannot see the executor's own settings: tools, agent uid, limits, anything SKILLPOD_*.
	if strings.Contains(res.Stdout, "SKILLPOD_") || strings.Contains(res.Stdout, "executor-only") {
		t.Fatalf("executor settings leaked: %q", vars)
	}
	for _, key := range []string{"LD_PRELOAD", "PATH", "BASH_ENV", "SKILLPOD_TOOLS", "skill_foo", "SKILL_PRESET", "HOME"} {
		ae := e.refused("env", map[string]any{"env": map[string]string{key: "/tmp/evil.so"}}, 400, "env_refused")
		if !strings.Contains(ae.Message, key) {
			t.Errorf("%s: message %q", key, ae.Message)
		}
	}
	e.stillServes()
}

// needsRoot fails (never skips) where the test cannot do what it must prove.
func needsRoot(t *testing.T, why string) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Fatalf("this test must run as root: %s", why)
	}
}

func TestOtherUIDRefused(t *testing.T) {
	needsRoot(t, "it starts clients as uid 65534")
	const nobody = 65534
	// The agent is uid 65534: this test process (root) is "another UID" and is refused everything but health.
	e := startExecutor(t, opts{agentUID: nobody, tools: toolsJSON(t, toolDef("id", "/usr/bin/id", "-u"))})
	for _, req := range []struct{ method, path string }{
		{"GET", "/v1/tools"}, {"POST", "/v1/tools/id/run"}, {"POST", "/v1/runs"}, {"POST", "/skill/id"}, {"GET", "/v1/runs"},
	} {
		status, body := e.do(req.method, req.path, []byte(`{"tool":"id"}`))
		var ae wire.Error
		mustJSON(t, body, &ae)
		if status != 403 || ae.Code != "forbidden" {
			t.Errorf("%s %s from uid 0 = %d %s, want 403", req.method, req.path, status, body)
		}
	}
	if status, _ := e.do("GET", "/v1/health", nil); status != 200 {
		t.Fatalf("health must answer any local uid (the probe): %d", status)
	}
	// The agent's uid is served (the client runs as uid 65534; the tool itself runs as the executor).
	cred := &syscall.Credential{Uid: nobody, Gid: nobody}
	code, out, errOut := runCLI(t, e.baseEnv, cred, "", "call", "demo", "id")
	if code != 0 || strings.TrimSpace(out) != strconv.Itoa(os.Getuid()) {
		t.Fatalf("call as the agent uid: %d %q %q", code, out, errOut)
	}

	// And the other way round: agent uid 0, a client running as 65534 is refused.
	e2 := startExecutor(t, opts{pack: "other", tools: toolsJSON(t, toolDef("id", "/usr/bin/id", "-u"))})
	code, _, errOut = runCLI(t, e2.baseEnv, cred, "", "call", "other", "id")
	if code != 125 || !strings.Contains(errOut, "403") {
		t.Fatalf("call from another uid: %d %q", code, errOut)
	}
	lines := e2.waitAudit(1)
	if l := lines[len(lines)-1]; l["mode"] != "refused" || l["peerUid"] != float64(nobody) || l["status"] != 403.0 {
		t.Fatalf("refusal not audited: %v", l)
	}
	e.stillServes()
	e2.stillServes()
}

func TestTimeoutKillsGrandchildren(t *testing.T) {
	e := startExecutor(t, opts{
		tools: toolsJSON(t,
			map[string]any{"freeArguments": true, "name": "forker", "timeoutSeconds": 1, "command": []string{"/bin/sh", "-c",
				`sleep 300 & echo $! > grandchild.pid; sleep 300`}},
			map[string]any{"freeArguments": true, "name": "stubborn", "timeoutSeconds": 1, "command": []string{"/bin/sh", "-c",
				`trap "" TERM; sleep 300 & echo $! > stubborn.pid; wait; wait`}},
		),
		env: map[string]string{"SKILLPOD_KILL_GRACE": "500ms"},
	})
	start := time.Now()
	res := e.run("forker", nil)
	if !res.TimedOut || res.ExitCode != 143 || res.Signal != "SIGTERM" || time.Since(start) > 4*time.Second {
		t.Fatalf("forker: %+v after %s", res, time.Since(start))
	}
	gone(t, e.readPid("grandchild.pid"), 3*time.Second) // killed with its group, and reaped

	// A tool that ignores TERM is killed after the grace period, grandchildren too.
	start = time.Now()
	res = e.run("stubborn", nil)
	if !res.TimedOut || res.Signal != "SIGKILL" || time.Since(start) < 1500*time.Millisecond {
		t.Fatalf("stubborn: %+v after %s", res, time.Since(start))
	}
	gone(t, e.readPid("stubborn.pid"), 3*time.Second)
	e.stillServes()
}

func TestLeaderExitSweepsItsGroup(t *testing.T) {
	e := startExecutor(t, opts{tools: toolsJSON(t, shTool("bg", `sleep 300 & echo $! > bg.pid; echo done`))})
	start := time.Now()
	res := e.run("bg", nil)
	if res.Stdout != "done\n" || res.ExitCode != 0 || time.Since(start) > 3*time.Second {
		t.Fatalf("a background process must not hold the call open: %+v after %s", res, time.Since(start))
	}
	gone(t, e.readPid("bg.pid"), 3*time.Second)
}

func TestHugeOutputIsTruncatedInBoundedMemory(t *testing.T) {
	e := startExecutor(t, opts{tools: toolsJSON(t,
		map[string]any{"freeArguments": true, "name": "flood", "timeoutSeconds": 300, "command": []string{"/bin/sh", "-c",
			`head -c 1073741824 /dev/zero; head -c 3000000 /dev/zero >&2`}})})
	before := vmKB(t, e.pid(), "VmHWM")
	res := e.run("flood", nil)
	hwm := vmKB(t, e.pid(), "VmHWM")
	t.Logf("executor VmHWM: %d KiB before, %d KiB after 1 GiB of output", before, hwm)
	if !res.Truncated || !res.StdoutTruncated || res.StdoutBytes != 1<<30 || len(res.Stdout) != defaultMaxOutput ||
		!res.StderrTruncated || res.StderrBytes != 3000000 || len(res.Stderr) != defaultMaxOutput || res.ExitCode != 0 {
		t.Fatalf("flood: exit %d, stdout %d of %d bytes (truncated %v), stderr %d of %d", res.ExitCode, len(res.Stdout),
			res.StdoutBytes, res.StdoutTruncated, len(res.Stderr), res.StderrBytes)
	}
	// 1 GiB went through; the executor held at most the caps (2 × 1 MiB) and a streaming buffer. Measured
	// as growth, so that the race detector's own overhead (SKILLPOD_TEST_RACE) does not count.
	if hwm-before > 24*1024 {
		t.Fatalf("executor peak RSS grew by %d KiB: output was not bounded", hwm-before)
	}
	lines := e.waitAudit(1)
	if l := lines[0]; l["truncated"] != true || l["stdoutBytes"] != float64(1<<30) {
		t.Fatalf("audit: %v", l)
	}
	e.stillServes()
}

func TestFloodGets429(t *testing.T) {
	e := startExecutor(t, opts{tools: toolsJSON(t, toolDef("nap", "sleep", "1"), toolDef("echo", "/bin/echo")),
		env: map[string]string{"SKILLPOD_MAX_CONCURRENCY": "2"}})
	const callers = 60
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			path, body := "/v1/tools/nap/run", []byte(`{}`)
			if i%3 == 0 {
				path, body = "/v1/runs", []byte(`{"tool":"nap"}`)
			}
			status, hdr, data, err := e.send(http.MethodPost, path, body)
			if err != nil {
				t.Errorf("caller %d: %v", i, err)
				return
			}
			if status == 429 && (!bytes.Contains(data, []byte("too_many_runs")) || hdr.Get("Retry-After") == "") {
				t.Errorf("429 without JSON error or Retry-After: %s", data)
			}
			mu.Lock()
			counts[status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	ok := counts[200] + counts[202]
	if ok < 2 || ok > 6 || counts[429] < callers-6 || ok+counts[429] != callers {
		t.Fatalf("status counts %v: want 2 (a few more if earlier ones finished) accepted, the rest 429", counts)
	}
	e.stillServes()
	// Once the slots are free again, calls go through.
	eventually(t, 5*time.Second, func() bool {
		status, _ := e.do(http.MethodPost, "/v1/tools/echo/run", nil)
		return status == 200
	})
}

func TestSlowClientsCannotBlockOthers(t *testing.T) {
	e := startExecutor(t, opts{
		tools: toolsJSON(t, toolDef("echo", "/bin/echo"), shTool("big", `head -c 4000000 /dev/zero`)),
		env:   map[string]string{"SKILLPOD_READ_TIMEOUT": "1s", "SKILLPOD_MAX_CONCURRENCY": "1", "SKILLPOD_MAX_OUTPUT_BYTES": "4000000"},
	})
	dial := func() net.Conn {
		c, err := net.Dial("unix", e.sock)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	var stalled []net.Conn
	for range 10 { // headers that never end
		c := dial()
		_, _ = io.WriteString(c, "POST /v1/tools/echo/run HTTP/1.1\r\nHost: x\r\n")
		stalled = append(stalled, c)
	}
	for range 10 { // a body that never arrives (half-open)
		c := dial()
		_, _ = io.WriteString(c, "POST /v1/tools/echo/run HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"args\":")
		stalled = append(stalled, c)
	}
	for _, path := range []string{"/nope", "/v1/tools", "/v1/runs/" + strings.Repeat("0", 32) + "/cancel"} {
		// A stalled body on a route that answers without reading it (404, 405, unknown run): the server's
		// discard of the body must not wait forever either.
		c := dial()
		_, _ = io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
		stalled = append(stalled, c)
	}
	// A caller that asks for a big answer and never reads it: it must not hold the only run slot.
	reader := dial()
	_, _ = io.WriteString(reader, "POST /v1/tools/big/run HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
	time.Sleep(300 * time.Millisecond)

	start := time.Now()
	for range 5 {
		if res := e.run("echo", map[string]any{"args": []string{"fine"}}); res.Stdout != "fine\n" {
			t.Fatalf("echo: %+v", res)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("normal calls took %s next to stalled clients", d)
	}
	// The server drops the stalled connections after its read timeout.
	for i, c := range stalled {
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		data, err := io.ReadAll(c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("stalled connection %d still open after the read timeout", i)
		}
		if i >= 10 && i < 20 && !bytes.Contains(data, []byte("400 Bad Request")) {
			t.Errorf("half-open body %d: answer %q, want a 400", i, data)
		}
		if i >= 20 && !bytes.Contains(data, []byte(" 40")) {
			t.Errorf("half-open body on an early answer %d: answer %q, want a 4xx", i, data)
		}
	}
	e.stillServes()
}

func TestBodyCap(t *testing.T) {
	e := startExecutor(t, opts{tools: toolsJSON(t, toolDef("cat", "/bin/cat")),
		env: map[string]string{"SKILLPOD_MAX_BODY_BYTES": "4096"}})
	big := fmt.Sprintf(`{"stdin":%q}`, strings.Repeat("x", 8192))
	status, body := e.do(http.MethodPost, "/v1/tools/cat/run", []byte(big))
	if status != 413 || !bytes.Contains(body, []byte("body_too_large")) {
		t.Fatalf("over the cap with Content-Length: %d %s", status, body)
	}
	// Chunked, so the size is only known while reading.
	got := e.raw("POST /v1/runs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
		fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(big), big))
	if !strings.HasPrefix(got, "413 ") || !strings.Contains(got, "body_too_large") {
		t.Fatalf("over the cap, chunked: %s", got)
	}
	got = e.raw("POST /skill/cat HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
	if !strings.HasPrefix(got, "413 ") {
		t.Fatalf("announced 100 MB: %s", got)
	}
	if res := e.run("cat", map[string]any{"stdin": "small"}); res.Stdout != "small" {
		t.Fatalf("under the cap: %+v", res)
	}
	e.stillServes()
}

func TestSIGTERMDuringRun(t *testing.T) {
	e := startExecutor(t, opts{
		tools: toolsJSON(t, shTool("hang", `sleep 300 & echo $! > "$1.pid"; sleep 300`)),
		env:   map[string]string{"SKILLPOD_KILL_GRACE": "500ms"},
	})
	_, body := e.do(http.MethodPost, "/v1/runs", map[string]any{"tool": "hang", "args": []string{"async"}})
	var v wire.RunView
	mustJSON(t, body, &v)
	syncDone := make(chan wire.RunResult, 1)
	go func() {
		res, err := e.tryRun("hang", map[string]any{"args": []string{"sync"}})
		if err != nil {
			t.Errorf("in-flight call: %v", err)
		}
		syncDone <- res
	}()
	asyncPid, syncPid := e.readPid("async.pid"), e.readPid("sync.pid")

	start := time.Now()
	if err := e.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !e.waitExit(5 * time.Second) {
		t.Fatal("executor did not exit within 5 s of SIGTERM")
	}
	t.Logf("exited %s after SIGTERM", time.Since(start))
	if e.waitErr != nil {
		t.Fatalf("exit status after SIGTERM: %v", e.waitErr)
	}
	gone(t, asyncPid, 2*time.Second)
	gone(t, syncPid, 2*time.Second)
	// The synchronous caller was answered before the executor went: stopped by the shutdown.
	select {
	case res := <-syncDone:
		if res.StopReason != "shutdown" {
			t.Errorf("in-flight call answered %+v, want stopReason shutdown", res)
		}
	case <-time.After(2 * time.Second):
		t.Error("in-flight call got no answer")
	}
	if _, err := os.Stat(e.sock); err == nil {
		t.Error("socket left behind")
	}
}

// As PID 1 (a new PID namespace, as in a container) the executor reaps orphans that escaped their run's
// group, without stealing the exit status of any run it waits for, and still exits promptly on SIGTERM.
func TestPID1ReapsOrphansWithoutStealingExitStatus(t *testing.T) {
	needsRoot(t, "it starts the executor in a new PID namespace")
	for _, pidNS := range []bool{true, false} {
		t.Run(fmt.Sprintf("pid1=%v", pidNS), func(t *testing.T) {
			e := startExecutor(t, opts{pidNS: pidNS,
				tools: toolsJSON(t, shTool("orphaner", `setsid sleep 0.2 & exit "$1"`)),
				env:   map[string]string{"SKILLPOD_MAX_CONCURRENCY": "8"}})
			// A stolen exit status would leave its call hanging: fail within seconds, not minutes.
			e.client = unixHTTP(e.sock, 10*time.Second)
			var wg sync.WaitGroup
			for round := range 5 {
				for i := range 8 {
					code := (round*8 + i) % 200
					wg.Go(func() {
						res, err := e.tryRun("orphaner", map[string]any{"args": []string{strconv.Itoa(code)}})
						if err != nil {
							t.Error(err)
						} else if res.ExitCode != code {
							t.Errorf("exit status %d, want %d: stolen or mixed up", res.ExitCode, code)
						}
					})
				}
				wg.Wait()
				if t.Failed() {
					return
				}
			}
			// The escaped sleeps end on their own and must not stay zombies of the executor.
			eventually(t, 5*time.Second, func() bool {
				for _, state := range children(e.pid()) {
					if state == "Z" {
						return false
					}
				}
				return true
			})
			var h wire.Health
			_, body := e.do(http.MethodGet, "/v1/health", nil)
			mustJSON(t, body, &h)
			if h.Orphans < 30 {
				t.Fatalf("orphans reaped: %d, want about 40", h.Orphans)
			}
			if err := e.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if !e.waitExit(3*time.Second) || e.waitErr != nil {
				t.Fatalf("no prompt clean exit on SIGTERM: %v", e.waitErr)
			}
		})
	}
}
