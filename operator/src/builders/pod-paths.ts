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

export function skillDocPath(pack: string): string {
  return `${SKILLS_DIR}/${pack}/SKILL.md`;
}

export function socketPath(pack: string): string {
  return `${IPC_DIR}/${pack}.sock`;
}

export const installCommand = (): string[] => [EXECUTOR_IMAGE_BINARY, 'install', BIN_DIR];
export const serveCommand = (pack: string): string[] => [EXECUTOR_PATH, 'serve', '--skill', pack];
export const probeCommand = (pack: string): string[] => [EXECUTOR_PATH, 'probe', '--skill', pack];
