package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Floods of connections and bodies against the real binary (issue 13: 200 connections took one sidecar from
// 7 MiB to 237 MiB, because every body was read whole before a run slot was asked for).

// floodBodies opens n connections that each send a request announcing size bytes and all of the body but
// its last byte, then stall: a reader that takes bodies eagerly holds n × size. The caller closes them.
func floodBodies(t *testing.T, sock string, n, size int) []net.Conn {
	t.Helper()
	body := `{"stdin":"` + strings.Repeat("x", size-len(`{"stdin":""}`)) + `"}`
	head := fmt.Sprintf("POST /v1/tools/cat/run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	for i := range n {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		conns[i] = c
		wg.Go(func() {
			// A write that blocks (nobody reads) or fails (refused connection) is fine: the point is the
			// executor's memory, not delivery.
			_ = c.SetWriteDeadline(time.Now().Add(3 * time.Second))
			_, _ = io.WriteString(c, head+body[:len(body)-1])
		})
	}
	wg.Wait()
	return conns
}

func TestBodyFloodStaysBounded(t *testing.T) {
	e := startExecutor(t, opts{tools: toolsJSON(t, toolDef("cat", "/bin/cat")),
		env: map[string]string{"SKILLPOD_READ_TIMEOUT": "3s"}})
	before := vmKB(t, e.pid(), "VmRSS")
	conns := floodBodies(t, e.sock, 200, defaultMaxBody-64)
	time.Sleep(500 * time.Millisecond) // let the executor take in whatever it is going to
	rss, hwm := vmKB(t, e.pid(), "VmRSS"), vmKB(t, e.pid(), "VmHWM")
	t.Logf("executor RSS %d KiB before, %d KiB (peak %d KiB) with 200 connections of near-cap bodies", before, rss, hwm)
	if hwm > 64*1024 {
		t.Fatalf("peak RSS %d KiB with 200 near-cap bodies: bodies and connections are not bounded", hwm)
	}
	for _, c := range conns {
		_ = c.Close()
	}
	// A request still waiting for the body budget notices its client has gone only at the read timeout, so
	// its connection slot comes back by then at the latest.
	eventually(t, 10*time.Second, func() bool {
		status, _, _, err := e.send(http.MethodGet, "/v1/health", nil)
		return err == nil && status == 200
	})
	e.stillServes()
	if res := e.run("cat", map[string]any{"stdin": "after"}); res.Stdout != "after" {
		t.Fatalf("after the flood: %+v", res)
	}
}

func TestConnectionCap(t *testing.T) {
	needsRoot(t, "it runs the probe as uid 65534")
	e := startExecutor(t, opts{env: map[string]string{"SKILLPOD_MAX_CONNECTIONS": "8", "SKILLPOD_READ_TIMEOUT": "20s"}})
	time.Sleep(100 * time.Millisecond) // the readiness check's connection is closed, and its slot given back
	var idle []net.Conn
	for range 8 {
		c, err := net.Dial("unix", e.sock)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	time.Sleep(200 * time.Millisecond) // accepted
	c, err := net.Dial("unix", e.sock)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	_, _ = io.WriteString(c, "GET /v1/tools HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("over the cap: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = c.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(body), "too_many_connections") || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the cap: %d %s", resp.StatusCode, body)
	}
	// Other UIDs (the startup probe runs as the sidecar's user) have a pool of their own: the agent filling
	// its connections does not fail the probe, and another container cannot take the agent's.
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	if code, out, errOut := runCLI(t, e.baseEnv, nobody, "", "probe", "--skill", "demo"); code != 0 {
		t.Fatalf("probe as another UID while the agent's pool is full: %d %s %s", code, out, errOut)
	}
	for _, c := range idle {
		_ = c.Close()
	}
	eventually(t, 3*time.Second, func() bool {
		status, _, _, err := e.send(http.MethodGet, "/v1/tools", nil)
		return err == nil && status == 200
	})
}
