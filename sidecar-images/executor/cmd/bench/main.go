// Command bench measures the skill executor against running the same command directly, in one bounded run,
// and writes the figures as the "## Skill executor" section of docs/benchmarks.md (the rest of the file is
// kept). Usage: go run ./cmd/bench -exec <skillpod-exec binary> -out <benchmarks.md>
//
// With -compare <other binary> it measures only what a change to the binary itself moves, its size and its
// start to ready, for both binaries with their starts interleaved, and prints the comparison (docs untouched).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type settings struct {
	bin        string
	out        string
	sequential int // calls per latency series
	cliCalls   int // calls through the call subcommand
	parallel   int // callers in the throughput run
	throughput int // calls in each throughput run
	starts     int // start-to-ready samples
	bigOutput  int // bytes written by the large-output call
	compare    string
}

func main() {
	var s settings
	flag.StringVar(&s.bin, "exec", "", "the skillpod-exec binary")
	flag.StringVar(&s.out, "out", "", "docs/benchmarks.md to update (empty: print only)")
	flag.IntVar(&s.sequential, "n", 500, "calls per sequential latency series")
	flag.IntVar(&s.cliCalls, "cli", 100, "calls through `skillpod-exec call`")
	flag.IntVar(&s.parallel, "p", 8, "parallel callers")
	flag.IntVar(&s.throughput, "t", 2000, "calls per throughput run")
	flag.IntVar(&s.starts, "starts", 50, "start-to-ready samples")
	flag.IntVar(&s.bigOutput, "big", 256<<20, "bytes of output for the large-output call")
	flag.StringVar(&s.compare, "compare", "", "another skillpod-exec binary: compare size and start to ready only")
	flag.Parse()
	if s.bin == "" {
		fail(fmt.Errorf("-exec is required"))
	}
	if s.compare != "" {
		table, err := compare(s)
		if err != nil {
			fail(err)
		}
		fmt.Print(table)
		return
	}
	section, err := measure(s)
	if err != nil {
		fail(err)
	}
	fmt.Print(section)
	if s.out != "" {
		if err := updateDoc(s.out, section); err != nil {
			fail(err)
		}
		fmt.Fprintln(os.Stderr, "updated", s.out)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// figures collects everything the report shows.
type figures struct {
	direct, viaHTTP, viaCLI  []time.Duration
	directRate, execRate     float64
	binSize                  int64
	accept, ready            []time.Duration // start → the socket accepts; start → health answers
	rssIdle, rssLoad, bigHWM int             // KiB
	bigDur                   time.Duration
	loadAvg                  string
}

func measure(s settings) (string, error) {
	var f figures
	fi, err := os.Stat(s.bin)
	if err != nil {
		return "", err
	}
	f.binSize = fi.Size()
	f.loadAvg = loadAverage()

	dir, err := os.MkdirTemp("", "spx-bench-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(dir) }()

	for range s.starts {
		ex, err := startExecutor(s, s.bin, dir)
		if err != nil {
			return "", err
		}
		f.accept = append(f.accept, ex.accept)
		f.ready = append(f.ready, ex.ready)
		ex.stop()
	}

	ex, err := startExecutor(s, s.bin, dir)
	if err != nil {
		return "", err
	}
	defer ex.stop()
	time.Sleep(200 * time.Millisecond) // let the start settle before reading idle memory
	f.rssIdle = vm(ex.cmd.Process.Pid, "VmRSS")

	// Warm both paths (page cache, connection) before timing them.
	for range 20 {
		_ = exec.Command("/bin/true").Run()
		if err := ex.call("true"); err != nil {
			return "", err
		}
	}
	// Interleaved, so that both paths meet the same background load: direct, executor, and every
	// sequential/cliCalls-th round the call command.
	cliEvery := max(1, s.sequential/max(1, s.cliCalls))
	for i := range s.sequential {
		t0 := time.Now()
		if err := exec.Command("/bin/true").Run(); err != nil {
			return "", err
		}
		f.direct = append(f.direct, time.Since(t0))
		t0 = time.Now()
		if err := ex.call("true"); err != nil {
			return "", err
		}
		f.viaHTTP = append(f.viaHTTP, time.Since(t0))
		if i%cliEvery != 0 || len(f.viaCLI) == s.cliCalls {
			continue
		}
		t0 = time.Now()
		cmd := exec.Command(s.bin, "call", "bench", "true")
		cmd.Env = ex.env
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("call: %v: %s", err, out)
		}
		f.viaCLI = append(f.viaCLI, time.Since(t0))
	}

	f.directRate, err = rate(s, func() error { return exec.Command("/bin/true").Run() })
	if err != nil {
		return "", err
	}
	pid := ex.cmd.Process.Pid
	stopSampling := sampleRSS(pid, &f.rssLoad)
	f.execRate, err = rate(s, func() error { return ex.call("true") })
	stopSampling()
	if err != nil {
		return "", err
	}
	// The kernel updates VmHWM lazily, and 5 ms samples can miss a peak: report the larger of the two.
	f.rssLoad = max(f.rssLoad, vm(pid, "VmHWM"))

	stopSampling = sampleRSS(pid, &f.bigHWM)
	t0 := time.Now()
	err = ex.call("big")
	f.bigDur = time.Since(t0)
	stopSampling()
	if err != nil {
		return "", err
	}
	f.bigHWM = max(f.bigHWM, vm(pid, "VmHWM"))
	return report(s, f), nil
}

// rate runs s.throughput calls from s.parallel goroutines and returns calls per second.
func rate(s settings, call func() error) (float64, error) {
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	t0 := time.Now()
	for range s.parallel {
		wg.Go(func() {
			for next.Add(1) <= int64(s.throughput) {
				if err := call(); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return float64(s.throughput) / time.Since(t0).Seconds(), firstErr
}

// sampleRSS records the largest VmRSS seen every 5 ms until the returned function is called.
func sampleRSS(pid int, peak *int) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				*peak = max(*peak, vm(pid, "VmRSS"))
			}
		}
	}()
	return func() { close(done); <-stopped }
}

type executor struct {
	cmd    *exec.Cmd
	env    []string
	client *http.Client
	accept time.Duration // from exec to the first connection the socket accepts
	ready  time.Duration // from exec to the first 200 of GET /v1/health
}

// startExecutor starts bin as `serve` and waits until it is ready, timing both steps.
func startExecutor(s settings, bin, dir string) (*executor, error) {
	ipc, work := filepath.Join(dir, "ipc"), filepath.Join(dir, "work")
	for _, d := range []string{ipc, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	tools, _ := json.Marshal([]map[string]any{
		{"name": "true", "command": []string{"/bin/true"}},
		{"name": "big", "command": []string{"head", "-c", strconv.Itoa(s.bigOutput), "/dev/zero"}},
	})
	base := []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "SKILLPOD_IPC_DIR=" + ipc}
	podinfo := filepath.Join(dir, "annotations")
	if err := os.WriteFile(podinfo, nil, 0o644); err != nil { // without it every tool is switched off
		return nil, err
	}
	// serve requires every setting it reads to be present, as the operator writes them; ask the binary which.
	out, err := exec.Command(bin, "settings").Output()
	var keys []string
	if err == nil {
		err = json.Unmarshal(out, &keys)
	}
	if err != nil {
		return nil, fmt.Errorf("skillpod-exec settings: %w", err)
	}
	values := map[string]string{
		"SKILLPOD_IPC_DIR":         ipc,
		"SKILLPOD_TOOLS":           string(tools),
		"SKILLPOD_AGENT_UID":       strconv.Itoa(os.Getuid()),
		"SKILLPOD_WORKDIR":         work,
		"SKILLPOD_PODINFO_FILE":    podinfo,
		"SKILLPOD_MAX_CONCURRENCY": strconv.Itoa(s.parallel),
	}
	ex := &executor{env: base}
	ex.cmd = exec.Command(bin, "serve", "--skill", "bench")
	ex.cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir}
	for _, k := range keys {
		ex.cmd.Env = append(ex.cmd.Env, k+"="+values[k]) // empty: the default
	}
	ex.cmd.Stdout = io.Discard // the audit trail: one line per call
	ex.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	sock := filepath.Join(ipc, "bench", "exec.sock")
	ex.client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
		MaxIdleConnsPerHost: s.parallel,
	}}
	t0 := time.Now()
	if err := ex.cmd.Start(); err != nil {
		return nil, err
	}
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			_ = c.Close()
			if ex.accept == 0 {
				ex.accept = time.Since(t0)
			}
			resp, err := ex.client.Get("http://bench/v1/health")
			if err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ex.ready = time.Since(t0)
					return ex, nil
				}
			}
		}
		if time.Since(t0) > 10*time.Second {
			ex.stop()
			return nil, fmt.Errorf("executor not ready after 10 s")
		}
		time.Sleep(200 * time.Microsecond)
	}
}

func (ex *executor) call(tool string) error {
	resp, err := ex.client.Post("http://bench/v1/tools/"+tool+"/run", "application/json", strings.NewReader("{}"))
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"exitCode":0`)) {
		return fmt.Errorf("%s: %d %.200s", tool, resp.StatusCode, body)
	}
	return nil
}

func (ex *executor) stop() {
	_ = ex.cmd.Process.Signal(syscall.SIGTERM)
	_ = ex.cmd.Wait()
	ex.client.CloseIdleConnections()
}

func vm(pid int, field string) int {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for l := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n
		}
	}
	return 0
}

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func size(bytes int64) string {
	return fmt.Sprintf("%s bytes (%.1f MiB)", thousands(bytes), float64(bytes)/(1<<20))
}

func thousands(n int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return sign + s
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func mib(kib int) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

func report(s settings, f figures) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("## Skill executor\n\n")
	w("Measured by `make -C sidecar-images/executor bench` (`sidecar-images/executor/cmd/bench`) on %s: %s, %d CPUs, "+
		"Linux %s, %s. Load average when it started: %s (other builds were running on this machine, so "+
		"treat the figures as upper bounds).\n\n",
		time.Now().UTC().Format("2006-01-02"), cpuModel(), runtime.NumCPU(), kernel(), runtime.Version(), f.loadAvg)
	w("| trivial tool (`/bin/true`) | direct exec | via the executor | overhead |\n|---|---|---|---|\n")
	w("| per call, p50 (%d sequential calls) | %s | %s | %s |\n", s.sequential, ms(pct(f.direct, 50)), ms(pct(f.viaHTTP, 50)),
		ms(pct(f.viaHTTP, 50)-pct(f.direct, 50)))
	w("| per call, p99 | %s | %s | %s |\n", ms(pct(f.direct, 99)), ms(pct(f.viaHTTP, 99)), ms(pct(f.viaHTTP, 99)-pct(f.direct, 99)))
	w("| per call through `skillpod-exec call` (a client process each time), p50 / p99 (%d calls) | %s / %s | %s / %s | %s / %s |\n",
		s.cliCalls, ms(pct(f.direct, 50)), ms(pct(f.direct, 99)), ms(pct(f.viaCLI, 50)), ms(pct(f.viaCLI, 99)),
		ms(pct(f.viaCLI, 50)-pct(f.direct, 50)), ms(pct(f.viaCLI, 99)-pct(f.direct, 99)))
	w("| throughput, %d parallel callers, %d calls | %.0f calls/s | %.0f calls/s | %.0f%% of direct |\n\n",
		s.parallel, s.throughput, f.directRate, f.execRate, 100*f.execRate/f.directRate)
	w("| the executor itself | |\n|---|---|\n")
	w("| binary size (static, stripped, as `make build` builds it) | %s |\n", size(f.binSize))
	w("| start to accept (exec of `serve` → the socket accepts a connection), median / p99 of %d starts | %s / %s |\n",
		len(f.accept), ms(pct(f.accept, 50)), ms(pct(f.accept, 99)))
	w("| start to ready (exec of `serve` → `GET /v1/health` answers 200, what the startup probe asks), median / p99 | %s / %s |\n",
		ms(pct(f.ready, 50)), ms(pct(f.ready, 99)))
	w("| resident memory idle (VmRSS after start) | %s |\n", mib(f.rssIdle))
	w("| resident memory under load (peak during the parallel run: VmRSS sampled every 5 ms, or VmHWM if higher) | %s |\n",
		mib(f.rssLoad))
	w("| peak resident memory during one call writing %d MiB to stdout (1 MiB kept, truncated) | %s (the call took %s) |\n\n",
		s.bigOutput>>20, mib(f.bigHWM), ms(f.bigDur))
	w("Start to ready is timed from the exec of `skillpod-exec serve` (with the settings the operator writes) by " +
		"dialling the socket every 0.2 ms until it accepts, then asking `GET /v1/health` until it answers 200; " +
		"each start is stopped (SIGTERM) before the next.\n\n")
	w("Method: the sequential series are interleaved (a direct call, then a call through the executor, and every " +
		"few rounds one through `skillpod-exec call`), so that all three meet the same background load. " +
		"\"Direct\" is Go's `exec.Command(\"/bin/true\").Run()` from the benchmark process; \"via the executor\" " +
		"is `POST /v1/tools/true/run` over the Unix socket with a keep-alive HTTP client, so it adds the HTTP round " +
		"trip, the argument policy, the environment build, three pipes, its own process group, the reaper hand-off, " +
		"the JSON answer and the audit line. `skillpod-exec call` adds starting the client binary and a new " +
		"connection per call, which is what an agent using the CLI pays. Throughput runs the same number of calls " +
		"from the same number of goroutines on both paths, with the executor's concurrency cap equal to the number " +
		"of callers. The executor's memory is read from `/proc/<pid>/status`.\n")
	return b.String()
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for l := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
		}
	}
	return "unknown CPU"
}

func kernel() string {
	data, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(data))
}

func loadAverage() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// updateDoc replaces the "## Skill executor" section of path (up to the next "## " heading), or appends it;
// everything else in the file stays as it is.
func updateDoc(path, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	doc := string(old)
	if doc == "" {
		doc = "# Benchmarks\n"
	}
	const heading = "## Skill executor\n"
	start := strings.Index(doc, heading)
	if start < 0 {
		doc = strings.TrimRight(doc, "\n") + "\n\n" + section
	} else {
		end := len(doc)
		if i := strings.Index(doc[start+len(heading):], "\n## "); i >= 0 {
			end = start + len(heading) + i + 1
		}
		tail := doc[end:]
		if tail != "" {
			section += "\n"
		}
		doc = doc[:start] + section + tail
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}

// compare measures s.bin and s.compare: their sizes, and s.starts starts of each, interleaved (in alternating
// order, so that neither always starts second) so that both meet the same background load.
func compare(s settings) (string, error) {
	bins := []string{s.compare, s.bin}
	sizes := make([]int64, len(bins))
	for i, bin := range bins {
		fi, err := os.Stat(bin)
		if err != nil {
			return "", err
		}
		sizes[i] = fi.Size()
	}
	dir, err := os.MkdirTemp("", "spx-bench-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	accept := make([][]time.Duration, len(bins))
	ready := make([][]time.Duration, len(bins))
	for round := range s.starts {
		for k := range bins {
			i := (k + round) % len(bins)
			ex, err := startExecutor(s, bins[i], dir)
			if err != nil {
				return "", fmt.Errorf("%s: %w", bins[i], err)
			}
			accept[i] = append(accept[i], ex.accept)
			ready[i] = append(ready[i], ex.ready)
			ex.stop()
		}
	}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("Measured %s on %s, %d CPUs, Linux %s, %s; load average at the start: %s. %d starts of each, interleaved.\n\n",
		time.Now().UTC().Format("2006-01-02"), cpuModel(), runtime.NumCPU(), kernel(), runtime.Version(), loadAverage(), s.starts)
	w("| | %s | %s |\n|---|---|---|\n", s.compare, s.bin)
	delta := thousands(sizes[1] - sizes[0])
	if sizes[1] >= sizes[0] {
		delta = "+" + delta
	}
	w("| binary size | %s | %s, %s bytes |\n", size(sizes[0]), size(sizes[1]), delta)
	w("| start to accept, median / p99 | %s / %s | %s / %s |\n", ms(pct(accept[0], 50)), ms(pct(accept[0], 99)),
		ms(pct(accept[1], 50)), ms(pct(accept[1], 99)))
	w("| start to ready (health 200), median / p99 | %s / %s | %s / %s |\n", ms(pct(ready[0], 50)), ms(pct(ready[0], 99)),
		ms(pct(ready[1], 50)), ms(pct(ready[1], 99)))
	return b.String(), nil
}
