package server

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"skillpod.io/executor/internal/argpolicy"
	"skillpod.io/executor/internal/setting"
	"skillpod.io/executor/internal/wire"
)

// Config is everything the server needs. It comes only from the environment (written into the pod spec by the
// operator, so nobody can change it after the pod exists) and the --skill flag; never from the caller.
type Config struct {
	pack     string
	tools    []*argpolicy.Tool
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

// LoadConfig is the configuration of pack's executor: every setting must be present in environ (see
// SettingKeys), each must be valid, and the working directory must exist.
func LoadConfig(pack string, getenv func(string) string, environ []string) (*Config, error) {
	if err := checkSettings(environ); err != nil {
		return nil, err
	}
	c, err := loadConfig(pack, getenv)
	if err != nil {
		return nil, err
	}
	if err := checkWorkdir(c.workdir); err != nil {
		return nil, err
	}
	return c, nil
}

func loadConfig(pack string, getenv func(string) string) (*Config, error) {
	if !wire.ValidName(pack, wire.MaxPackName) {
		return nil, fmt.Errorf("--skill %q: want the SkillPack name, a DNS label of at most %d characters", pack, wire.MaxPackName)
	}
	tools, err := argpolicy.ParseTools(getenv("SKILLPOD_TOOLS"))
	if err != nil {
		return nil, err
	}
	c := &Config{
		pack:    pack,
		tools:   tools,
		ipcDir:  setting.IPCDir(getenv),
		podinfo: setting.Or(getenv, "SKILLPOD_PODINFO_FILE", defaultPodinfo),
		workdir: setting.Or(getenv, "SKILLPOD_WORKDIR", defaultWorkdir),
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

	p := setting.Reader{Getenv: getenv}
	c.maxConcurrency = p.Int("SKILLPOD_MAX_CONCURRENCY", defaultMaxConcurrency, 1, 1024)
	c.maxConnections = p.Int("SKILLPOD_MAX_CONNECTIONS", defaultMaxConnections, 1, 4096)
	c.maxOutput = p.Int("SKILLPOD_MAX_OUTPUT_BYTES", defaultMaxOutput, 1, 64<<20)
	c.maxBody = int64(p.Int("SKILLPOD_MAX_BODY_BYTES", defaultMaxBody, 256, 64<<20))
	c.killGrace = p.Duration("SKILLPOD_KILL_GRACE", defaultKillGrace, 0, time.Minute)
	c.resultTTL = p.Duration("SKILLPOD_RESULT_TTL", defaultResultTTL, time.Second, 24*time.Hour)
	c.maxResults = p.Int("SKILLPOD_MAX_RESULTS", defaultMaxResults, 0, 10000)
	c.maxResultBytes = int64(p.Int("SKILLPOD_MAX_RESULT_BYTES", defaultMaxResultBytes, 0, 1<<30))
	c.readTimeout = p.Duration("SKILLPOD_READ_TIMEOUT", defaultReadTimeout, 100*time.Millisecond, 5*time.Minute)
	c.gateInterval = p.Duration("SKILLPOD_GATE_INTERVAL", defaultGateInterval, 100*time.Millisecond, time.Minute)
	if err := p.Err(); err != nil {
		return nil, err
	}
	if sock := c.socket(); len(sock) > maxSocketPath {
		return nil, fmt.Errorf("socket path %s is longer than %d bytes", sock, maxSocketPath)
	}
	return c, nil
}

// socket is where the executor listens: <ipcDir>/<pack>/exec.sock.
func (c *Config) socket() string { return wire.SocketPath(c.ipcDir, c.pack) }

// checkWorkdir fails the start early rather than every call later.
func checkWorkdir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("working directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("working directory %s is not a directory", dir)
	}
	return nil
}
