// Paths and commands shared by the pod builder and the skill executor (contract, design.md section 4).

/** Where the executor image holds the binary. */
export const EXECUTOR_IMAGE_BINARY = '/skillpod-exec';
/** The emptyDir the install container copies it into; read-only in every other container. */
export const BIN_DIR = '/skillpod/bin';
export const EXECUTOR_PATH = `${BIN_DIR}/skillpod-exec`;
export const WORKSPACE_DIR = '/workspace';
export const IPC_DIR = '/ipc';
export const TMP_DIR = '/tmp';
/** Downward API directory of the sidecars; its file `annotations` carries `skillpod.io/disabled-skills`. */
export const PODINFO_DIR = '/skillpod/podinfo';
export const PODINFO_ANNOTATIONS_FILE = 'annotations';
export const TASK_FILE = '/skillpod/task';
export const SKILLS_DIR = '/skills';
export const TOKEN_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
export const TERMINATION_MESSAGE_PATH = '/dev/termination-log';

/** Environment variables (contract). */
export const ENV_TASK = 'SKILLPOD_TASK';
export const ENV_TOOLS = 'SKILLPOD_TOOLS';
export const ENV_AGENT_UID = 'SKILLPOD_AGENT_UID';

/**
 * Every setting the executor reads (`skillpod-exec settings` prints the same keys; a test compares them), written
 * explicitly into each sidecar so that a skill image's own `ENV` can never supply one: explicit container env wins
 * over the image's, and `skillpod-exec serve` refuses to start when a key is missing. An empty value means the
 * executor's default (docs/ipc.md, "Settings").
 */
export function executorSettings(tools: string, agentUid: number): Record<string, string> {
  return {
    [ENV_AGENT_UID]: String(agentUid),
    SKILLPOD_GATE_INTERVAL: '',
    SKILLPOD_IPC_DIR: IPC_DIR,
    SKILLPOD_KILL_GRACE: '',
    SKILLPOD_MAX_BODY_BYTES: '',
    SKILLPOD_MAX_CONCURRENCY: '',
    SKILLPOD_MAX_CONNECTIONS: '',
    SKILLPOD_MAX_OUTPUT_BYTES: '',
    SKILLPOD_MAX_RESULT_BYTES: '',
    SKILLPOD_MAX_RESULTS: '',
    SKILLPOD_PODINFO_FILE: `${PODINFO_DIR}/${PODINFO_ANNOTATIONS_FILE}`,
    SKILLPOD_READ_TIMEOUT: '',
    SKILLPOD_RESULT_TTL: '',
    [ENV_TOOLS]: tools,
    SKILLPOD_WORKDIR: WORKSPACE_DIR,
  };
}

export function skillDocPath(pack: string): string {
  return `${SKILLS_DIR}/${pack}/SKILL.md`;
}

/** The directory only `skill-<pack>` writes (its own emptyDir; read-only in the agent, absent elsewhere). */
export function packIpcDir(pack: string): string {
  return `${IPC_DIR}/${pack}`;
}

export function socketPath(pack: string): string {
  return `${packIpcDir(pack)}/exec.sock`;
}

export const installCommand = (): string[] => [EXECUTOR_IMAGE_BINARY, 'install', BIN_DIR];
export const serveCommand = (pack: string): string[] => [EXECUTOR_PATH, 'serve', '--skill', pack];
export const probeCommand = (pack: string): string[] => [EXECUTOR_PATH, 'probe', '--skill', pack];
