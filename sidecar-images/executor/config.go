package main

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// config is everything serve needs. It comes only from the environment (written into the pod spec by the
// operator, so nobody can change it after the pod exists) and the --skill flag; never from the caller.
type config struct {
	pack     string
	tools    []*Tool
	agentUID uint32

	ipcDir  string // SKILLPOD_IPC_DIR; the socket is <ipcDir>/<pack>/exec.sock
	podinfo string // SKILLPOD_PODINFO_FILE; the downward API annotations file read by the gate
	workdir string // SKILLPOD_WORKDIR; every run's working directory

	maxConcurrency int           // runs in flight at once; beyond: 429
	maxConnections int           // open connections from the agent at once; beyond: 503 and closed
	maxOutput      int           // bytes kept per stream per run
	maxBody        int64         // request body cap; beyond: 413
	killGrace      time.Duration // TERM → KILL
	resultTTL      time.Duration // how long finished async results are kept
	maxResults     int           // how many finished async results are kept
	maxResultBytes int64         // how many bytes of output finished async results may hold together
	readTimeout    time.Duration // for request headers, and separately for a request body
	gateInterval   time.Duration // how often running calls are checked against the gate
}

// Defaults, chosen for a sidecar with a small memory limit: at most maxConcurrency × 2 × maxOutput bytes of
// output in flight (8 MiB) plus maxResultBytes retained (32 MiB) in the worst case.
const (
	defaultIPCDir         = "/ipc"
	defaultPodinfo        = "/skillpod/podinfo/annotations"
	defaultWorkdir        = "/workspace"
	defaultMaxConcurrency = 4
	defaultMaxConnections = 64
	defaultMaxOutput      = 1 << 20
	defaultMaxBody        = 1 << 20
	defaultKillGrace      = 2 * time.Second
	defaultResultTTL      = 10 * time.Minute
	defaultMaxResults     = 32
	defaultMaxResultBytes = 32 << 20
	defaultReadTimeout    = 10 * time.Second
	defaultGateInterval   = 2 * time.Second
	maxSocketPath         = 107 // sun_path is 108 bytes with the terminating NUL
)

// ipcDir is where every subcommand looks for the packs' directories; tests move it into a temp dir.
func ipcDir(getenv func(string) string) string {
	return envOr(getenv, "SKILLPOD_IPC_DIR", defaultIPCDir)
}

func loadConfig(pack string, getenv func(string) string) (*config, error) {
	if !validName(pack, 57) {
		return nil, fmt.Errorf("--skill %q: want the SkillPack name, a DNS label of at most 57 characters", pack)
	}
	tools, err := parseTools(getenv("SKILLPOD_TOOLS"))
	if err != nil {
		return nil, err
	}
	c := &config{
		pack:    pack,
		tools:   tools,
		ipcDir:  ipcDir(getenv),
		podinfo: envOr(getenv, "SKILLPOD_PODINFO_FILE", defaultPodinfo),
		workdir: envOr(getenv, "SKILLPOD_WORKDIR", defaultWorkdir),
	}
	uid := getenv("SKILLPOD_AGENT_UID")
	if uid == "" {
		return nil, errors.New("SKILLPOD_AGENT_UID is not set: without it no caller could be authorised")
	}
	n, err := strconv.ParseUint(uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("SKILLPOD_AGENT_UID %q: want a numeric UID", uid)
	}
	c.agentUID = uint32(n)

	p := envParser{getenv: getenv}
	c.maxConcurrency = p.int("SKILLPOD_MAX_CONCURRENCY", defaultMaxConcurrency, 1, 1024)
	c.maxConnections = p.int("SKILLPOD_MAX_CONNECTIONS", defaultMaxConnections, 1, 4096)
	c.maxOutput = p.int("SKILLPOD_MAX_OUTPUT_BYTES", defaultMaxOutput, 1, 64<<20)
	c.maxBody = int64(p.int("SKILLPOD_MAX_BODY_BYTES", defaultMaxBody, 256, 64<<20))
	c.killGrace = p.duration("SKILLPOD_KILL_GRACE", defaultKillGrace, 0, time.Minute)
	c.resultTTL = p.duration("SKILLPOD_RESULT_TTL", defaultResultTTL, time.Second, 24*time.Hour)
	c.maxResults = p.int("SKILLPOD_MAX_RESULTS", defaultMaxResults, 0, 10000)
	c.maxResultBytes = int64(p.int("SKILLPOD_MAX_RESULT_BYTES", defaultMaxResultBytes, 0, 1<<30))
	c.readTimeout = p.duration("SKILLPOD_READ_TIMEOUT", defaultReadTimeout, 100*time.Millisecond, 5*time.Minute)
	c.gateInterval = p.duration("SKILLPOD_GATE_INTERVAL", defaultGateInterval, 100*time.Millisecond, time.Minute)
	if p.err != nil {
		return nil, p.err
	}
	if sock := socketPath(c.ipcDir, pack); len(sock) > maxSocketPath {
		return nil, fmt.Errorf("socket path %s is longer than %d bytes", sock, maxSocketPath)
	}
	return c, nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// envParser reads bounded numeric settings and keeps the first error, so a typo stops the start instead of
// silently falling back to a default.
type envParser struct {
	getenv func(string) string
	err    error
}

func (p *envParser) int(key string, def, lo, hi int) int {
	v := p.getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.fail(fmt.Errorf("%s=%q: want an integer between %d and %d", key, v, lo, hi))
		return def
	}
	return n
}

func (p *envParser) duration(key string, def, lo, hi time.Duration) time.Duration {
	v := p.getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		p.fail(fmt.Errorf("%s=%q: want a duration (like 2s) between %s and %s", key, v, lo, hi))
		return def
	}
	return d
}

func (p *envParser) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}
