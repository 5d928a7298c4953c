// @skillpod/client: list and call a SkillPack's tools through its skill executor, over HTTP/1.1 on the Unix
// socket /ipc/<pack>/exec.sock (one directory per pack, written only by that pack's sidecar). The API is
// documented in docs/ipc.md; these types mirror the executor's wire types (sidecar-images/executor/internal/wire/).
// It only ever connects to that socket, and never through a symbolic link.
import { request } from 'node:http';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export const DEFAULT_IPC_DIR = '/ipc';
/** The socket's name inside a pack's directory. */
export const SOCKET_NAME = 'exec.sock';

/** One entry of an argPolicy allowlist: the flag, and the RE2 its whole value must match (none: no value). */
export interface AllowedFlag {
  flag: string;
  value?: string;
}

/** The argument policy of a free-argument tool, as the SkillPack declares it. */
export interface ArgPolicy {
  allowedFlags?: AllowedFlag[];
  deniedFlags?: string[];
  allowedPatterns?: string[];
  deniedPatterns?: string[];
  maxArgs?: number;
  /** How the tool parses flags: getopt (default; long flags may be abbreviated) or pflag (no abbreviations). */
  parser?: 'getopt' | 'pflag';
}

/** Constraints of a string value (a string parameter, or the items of an array parameter). */
export interface StringConstraints {
  enum?: string[];
  /** RE2, searched (unanchored, as JSON Schema says). */
  pattern?: string;
  minLength?: number;
  maxLength?: number;
}

/** The items of an array parameter: always strings. */
export interface ParameterItems extends StringConstraints {
  type: 'string';
  description?: string;
}

/** One parameter of a typed tool: the JSON Schema subset the executor accepts, nothing else. */
export type Parameter =
  | ({ type: 'string'; description?: string } & StringConstraints)
  | { type: 'integer'; description?: string; minimum?: number; maximum?: number }
  | { type: 'boolean'; description?: string }
  | { type: 'array'; description?: string; items: ParameterItems; maxItems?: number };

/** A typed tool's input schema: hand it to a model as a function's parameters. */
export interface Parameters {
  type: 'object';
  properties: Record<string, Parameter>;
  required?: string[];
}

/** The input of a typed tool, checked by the executor against its Parameters. */
export type ToolInput = Record<string, string | number | boolean | string[]>;

/**
 * One tool of a pack. Typed (`parameters`: call it with `run(tool, { input })`), free-argument
 * (`freeArguments: true`: `call(tool, args)`), or without input (neither: `run(tool)`).
 */
export interface Tool {
  name: string;
  description?: string;
  command: string[];
  timeoutSeconds: number;
  /** As given in the SkillPack. */
  parameters?: Parameters;
  /** The argument template that renders the input (groups of elements with {placeholders}). */
  args?: string[][];
  freeArguments?: boolean;
  argPolicy?: ArgPolicy;
}

export interface ToolList {
  skill: string;
  /** False while the skill is switched off: calls are refused with 503. */
  enabled: boolean;
  gateReason?: string;
  tools: Tool[];
}

export interface Health {
  status: 'ok';
  skill: string;
  /** Every tool's command resolves to an executable. */
  ready: boolean;
  enabled: boolean;
  gateReason?: string;
  tools: Array<{ name: string; ok: boolean; resolved?: string; error?: string }>;
  running: number;
  maxConcurrency: number;
  orphansReaped: number;
}

/** A finished run. A non-zero exit is a normal result; only the executor's own refusals throw. */
export interface RunResult {
  tool: string;
  /** 128 + the signal number when the process was killed by a signal, -1 if its status was lost. */
  exitCode: number;
  signal?: string;
  timedOut: boolean;
  /** Stopped by a cancel, a caller that went away, a switch-off, or the executor's shutdown. */
  cancelled: boolean;
  stopReason?: 'timeout' | 'cancelled' | 'disconnected' | 'disabled' | 'shutdown';
  durationMs: number;
  /** Text, or base64 when `stdoutEncoding` is "base64" (the output was not valid UTF-8); see outputBytes. */
  stdout: string;
  stdoutEncoding?: 'base64';
  /** Bytes the tool wrote, including any beyond the cap. */
  stdoutBytes: number;
  stdoutTruncated: boolean;
  stderr: string;
  stderrEncoding?: 'base64';
  stderrBytes: number;
  stderrTruncated: boolean;
  truncated: boolean;
}

export type RunState = 'running' | 'succeeded' | 'failed' | 'timedOut' | 'cancelled';

/** An asynchronous run; `result` is present once it is no longer running. */
export interface RunStatus {
  id: string;
  tool: string;
  state: RunState;
  createdAt: string;
  finishedAt?: string;
  result?: RunResult;
}

export interface CallOptions {
  /** SKILL_* variables for the tool; any other key is refused with 400. */
  env?: Record<string, string>;
  stdin?: string;
  /** Shortens the tool's own timeout; it cannot extend it. */
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

/** Options of a typed tool's run: its input, and the same options as a call. */
export interface RunOptions extends CallOptions {
  input?: ToolInput;
}

/** The executor's JSON error body. */
export interface ErrorBody {
  error: string;
  message: string;
  /** For argument_refused: which argument (0-based). */
  index?: number;
  /** For input_refused: which parameter. */
  parameter?: string;
}

/** The executor refused or failed a request. `status` is the HTTP status, `code` the executor's error code. */
export class ExecutorError extends Error {
  readonly status: number;
  readonly code: string;
  readonly body: ErrorBody | undefined;

  constructor(status: number, body: ErrorBody | undefined, fallback: string) {
    super(body ? `${status} ${body.error}: ${body.message}` : `${status}: ${fallback}`);
    this.name = 'ExecutorError';
    this.status = status;
    this.code = body?.error ?? 'http_error';
    this.body = body;
  }
}

export interface ClientOptions {
  /** Parent of the packs' directories (<ipcDir>/<pack>/exec.sock); default /ipc. */
  ipcDir?: string;
  /** The socket itself, overriding ipcDir (and the layout checks). */
  socketPath?: string;
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const maxAnswerBytes = 256 * 1024 * 1024;

function checkName(kind: string, name: string, max: number): void {
  if (name.length > max || !dnsLabel.test(name)) {
    throw new TypeError(`${kind} ${JSON.stringify(name)} is not a DNS label`);
  }
}

/** A client for one pack's executor. */
export class SkillClient {
  readonly skill: string;
  readonly socketPath: string;
  private readonly checkLayout: boolean;

  constructor(skill: string, options: ClientOptions = {}) {
    checkName('skill', skill, 57);
    this.skill = skill;
    this.checkLayout = options.socketPath === undefined;
    this.socketPath = options.socketPath ?? join(options.ipcDir ?? DEFAULT_IPC_DIR, skill, SOCKET_NAME);
  }

  /** The executor's health; open to any local user. */
  health(): Promise<Health> {
    return this.send<Health>('GET', '/v1/health');
  }

  /** The pack's tools and whether the skill is switched on. */
  list(): Promise<ToolList> {
    return this.send<ToolList>('GET', '/v1/tools');
  }

  /** Runs a typed tool (or one without input) with `input` and waits for it to end. */
  run(tool: string, options: RunOptions = {}): Promise<RunResult> {
    checkName('tool', tool, 63);
    return this.send<RunResult>('POST', `/v1/tools/${tool}/run`, runBody(undefined, options), options.signal);
  }

  /** Starts a typed tool and returns at once with its run id (state "running"). */
  runAsync(tool: string, options: RunOptions = {}): Promise<RunStatus> {
    checkName('tool', tool, 63);
    return this.send<RunStatus>('POST', '/v1/runs', { tool, ...runBody(undefined, options) }, options.signal);
  }

  /** Runs a free-argument tool with `args` and waits for it to end. */
  call(tool: string, args: string[] = [], options: CallOptions = {}): Promise<RunResult> {
    checkName('tool', tool, 63);
    return this.send<RunResult>('POST', `/v1/tools/${tool}/run`, runBody(args, options), options.signal);
  }

  /** Starts a free-argument tool and returns at once with its run id (state "running"). */
  callAsync(tool: string, args: string[] = [], options: CallOptions = {}): Promise<RunStatus> {
    checkName('tool', tool, 63);
    return this.send<RunStatus>('POST', '/v1/runs', { tool, ...runBody(args, options) }, options.signal);
  }

  /** The state of a run; with waitSeconds (at most 60) it answers as soon as the run ends. */
  poll(id: string, options: { waitSeconds?: number; signal?: AbortSignal } = {}): Promise<RunStatus> {
    const wait = options.waitSeconds === undefined ? '' : `?wait=${options.waitSeconds}`;
    return this.send<RunStatus>('GET', `/v1/runs/${encodeURIComponent(id)}${wait}`, undefined, options.signal);
  }

  /** Polls until the run is no longer running. */
  async wait(id: string, options: { signal?: AbortSignal } = {}): Promise<RunStatus> {
    for (;;) {
      const status = await this.poll(id, { waitSeconds: 30, ...options });
      if (status.state !== 'running') return status;
    }
  }

  /** Cancels a run (TERM to its process group, KILL after a grace period) and returns its final state. */
  cancel(id: string): Promise<RunStatus> {
    return this.send<RunStatus>('POST', `/v1/runs/${encodeURIComponent(id)}/cancel`);
  }

  /** The stored runs, newest first, without their results. */
  async runs(): Promise<RunStatus[]> {
    return (await this.send<{ runs: RunStatus[] }>('GET', '/v1/runs')).runs;
  }

  private async send<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    if (this.checkLayout) await checkSocket(this.socketPath);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          path,
          method,
          agent: false, // one connection per call: nothing lingers to keep the process alive
          headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
          ...(signal ? { signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxAnswerBytes) {
              req.destroy(new Error(`answer from ${this.socketPath} exceeds ${maxAnswerBytes} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = undefined;
            }
            if (status >= 200 && status < 300 && parsed !== undefined) {
              resolve(parsed as T);
            } else {
              reject(new ExecutorError(status, isErrorBody(parsed) ? parsed : undefined, text.slice(0, 200)));
            }
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
}

function runBody(args: string[] | undefined, options: RunOptions): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (args !== undefined && args.length > 0) body.args = args;
  if (options.input !== undefined) body.input = options.input;
  if (options.env !== undefined) body.env = options.env;
  if (options.stdin !== undefined) body.stdin = options.stdin;
  if (options.timeoutSeconds !== undefined) body.timeoutSeconds = options.timeoutSeconds;
  return body;
}

function isErrorBody(v: unknown): v is ErrorBody {
  return typeof v === 'object' && v !== null && typeof (v as { error?: unknown }).error === 'string';
}

/** The bytes of a result's stream, decoding base64 when the executor had to use it. */
export function outputBytes(result: RunResult, stream: 'stdout' | 'stderr'): Buffer {
  const encoding = stream === 'stdout' ? result.stdoutEncoding : result.stderrEncoding;
  return Buffer.from(result[stream], encoding === 'base64' ? 'base64' : 'utf8');
}

/**
 * Refuses a socket that is not where the layout puts it: the pack's directory must be a directory (not a
 * symbolic link, which another pack could have placed) and exec.sock a socket. Errors carry code ENOENT when
 * something is missing, like a failed connect.
 */
async function checkSocket(socketPath: string): Promise<void> {
  const packDir = join(socketPath, '..');
  const dirStat = await lstat(packDir);
  if (!dirStat.isDirectory()) throw Object.assign(new Error(`${packDir} is not a directory (symbolic links are not followed)`), { code: 'ENOTDIR' });
  const sockStat = await lstat(socketPath);
  if (!sockStat.isSocket()) throw Object.assign(new Error(`${socketPath} is not a socket`), { code: 'ENOTSOCK' });
}

/** The packs with an executor socket in ipcDir: <ipcDir>/<pack>/exec.sock, symbolic links skipped. */
export async function listSkills(ipcDir: string = DEFAULT_IPC_DIR): Promise<string[]> {
  const entries = await readdir(ipcDir, { withFileTypes: true });
  const packs: string[] = [];
  for (const entry of entries) {
    // Dirent types come from the directory itself: a symbolic link is never reported as a directory.
    if (!entry.isDirectory() || !dnsLabel.test(entry.name) || entry.name.length > 57) continue;
    try {
      if ((await lstat(join(ipcDir, entry.name, SOCKET_NAME))).isSocket()) packs.push(entry.name);
    } catch {
      // no socket: not a pack (yet)
    }
  }
  return packs.sort();
}
