// Tools for driving many AgentRuns through their lives against a real control plane, shared by the resilience tests
// and the benchmark (test/bench/): a small keep-alive JSON client, a supervised list+watch that records what it
// sees, a fake kubelet that moves pods through their phases, and the operator as a separate OS process (so it can
// be SIGKILLed, and its memory and CPU read from /proc). Nothing here imports vitest: the benchmark runs outside it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Agent, request as httpsRequest } from 'node:https';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { startWatchdog } from './processes.ts';

export const repoRoot = resolve(import.meta.dirname, '../..');
/** The Node 24 the repository installs (the machine's own may be older). */
export const nodeBinary = join(repoRoot, 'node_modules/.bin/node');

// ---------------------------------------------------------------------------------------------------------------
// A keep-alive JSON client. client-node opens a TLS connection per request; a load generator must not pay that.

export interface KubeClientOptions {
  server: string;
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  maxSockets?: number;
}

export class KubeError extends Error {
  readonly status: number;
  readonly body: string;
  constructor(method: string, path: string, status: number, body: string) {
    super(`${method} ${path}: HTTP ${status}: ${body.slice(0, 300)}`);
    this.status = status;
    this.body = body;
  }
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class KubeClient {
  readonly server: URL;
  readonly #agent: Agent;
  readonly #token: string | undefined;
  /** Requests sent, by method. */
  readonly sent = new Map<string, number>();

  constructor(options: KubeClientOptions) {
    this.server = new URL(options.server);
    this.#token = options.token;
    this.#agent = new Agent({
      ca: options.ca, keepAlive: true, maxSockets: options.maxSockets ?? 64, maxFreeSockets: options.maxSockets ?? 64,
      ...(options.cert && options.key ? { cert: options.cert, key: options.key } : {}),
    });
  }

  /** The admin identity of a kubeconfig file that names its certificate files (the harness writes such files). */
  static fromKubeconfigFile(path: string, server?: string): KubeClient {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    const cluster = kc.getCurrentCluster();
    const user = kc.getCurrentUser();
    if (!cluster?.caFile || !user?.certFile || !user.keyFile) throw new Error(`${path}: expected certificate files`);
    return new KubeClient({ server: server ?? cluster.server, ca: readFileSync(cluster.caFile), cert: readFileSync(user.certFile), key: readFileSync(user.keyFile) });
  }

  close(): void {
    this.#agent.destroy();
  }

  #url(path: string, query?: RequestOptions['query']): string {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url.pathname + url.search;
  }

  #send(method: string, path: string, options: RequestOptions) {
    this.sent.set(method, (this.sent.get(method) ?? 0) + 1);
    const headers: Record<string, string> = { Accept: 'application/json' };
    let payload: string | undefined;
    if (options.body !== undefined) {
      payload = JSON.stringify(options.body);
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    if (this.#token) headers.Authorization = `Bearer ${this.#token}`;
    const req = httpsRequest({
      host: this.server.hostname, port: this.server.port, method, path: this.#url(path, options.query), headers, agent: this.#agent,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    req.setTimeout(options.timeoutMs ?? 30_000, () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.end(payload);
    return req;
  }

  /** Any HTTP status resolves; only network errors reject. */
  raw(method: string, path: string, options: RequestOptions = {}): Promise<{ status: number; text: string }> {
    return new Promise((resolvePromise, reject) => {
      const req = this.#send(method, path, options);
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      });
    });
  }

  /** JSON in, JSON out; a status outside 2xx throws `KubeError`. */
  async json<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const { status, text } = await this.raw(method, path, options);
    if (status < 200 || status > 299) throw new KubeError(method, path, status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T = unknown>(path: string, query?: RequestOptions['query']): Promise<T> {
    return this.json<T>('GET', path, query ? { query } : {});
  }

  /** Opens a watch; `onLine` gets each event line. Resolves when the server ends the stream. */
  watch(path: string, query: RequestOptions['query'], onLine: (line: string) => void, signal: AbortSignal): Promise<void> {
    return new Promise((resolvePromise, reject) => {
      const req = this.#send('GET', path, { query: { ...query, watch: true }, signal, timeoutMs: 15 * 60_000 });
      req.on('error', reject);
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reject(new KubeError('WATCH', path, res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
          return;
        }
        let rest = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          rest += chunk;
          const lines = rest.split('\n');
          rest = lines.pop() ?? '';
          for (const line of lines) if (line.trim()) onLine(line);
        });
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('watch aborted')));
        res.on('end', () => resolvePromise());
      });
    });
  }
}

export const isStatus = (err: unknown, status: number) => err instanceof KubeError && err.status === status;

/** Runs `fn` over `items` with at most `limit` at once. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return out;
}

/** Retries `fn` while it throws (API server restarting, a 409 from a stale read), within `timeoutMs`. */
export async function retrying<T>(fn: () => Promise<T>, timeoutMs = 60_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(intervalMs);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// A supervised list+watch that reports every object it sees, written independently of the operator's informer so
// that a bug there cannot hide itself here. After any break it relists: objects that appeared are reported as
// ADDED and objects that vanished as DELETED, so a consumer never misses an object that lived across the break.

export interface WatchedObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid: string; resourceVersion?: string; labels?: Record<string, string>; creationTimestamp?: string;
    annotations?: Record<string, string> };
  [field: string]: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export class ObjectWatcher {
  readonly #client: KubeClient;
  readonly #path: string;
  readonly #labelSelector: string | undefined;
  readonly #onEvent: (type: WatchEventType, object: WatchedObject, at: number) => void;
  /** uid → the object's metadata as last seen (enough to report a DELETED that a relist found out). */
  readonly #known = new Map<string, WatchedObject['metadata']>();
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #synced!: () => void;
  readonly synced: Promise<void> = new Promise((r) => (this.#synced = r));
  /** How often the watch broke and was re-established by a relist. */
  relists = 0;

  constructor(client: KubeClient, path: string, onEvent: (type: WatchEventType, object: WatchedObject, at: number) => void, labelSelector?: string) {
    this.#client = client;
    this.#path = path;
    this.#onEvent = onEvent;
    this.#labelSelector = labelSelector;
  }

  start(): this {
    this.#loop ??= this.#run();
    return this;
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    let resourceVersion: string | undefined;
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await this.#list();
          this.#synced();
        }
        let expired = false;
        await this.#client.watch(this.#path, { resourceVersion, allowWatchBookmarks: true, labelSelector: this.#labelSelector, timeoutSeconds: 600 }, (line) => {
          if (expired) return;
          const event = JSON.parse(line) as { type: string; object: WatchedObject & { code?: number } };
          if (event.type === 'ERROR') {
            expired = true; // 410 or anything else: relist
            return;
          }
          resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
          if (event.type === 'BOOKMARK') return;
          this.#see(event.type as WatchEventType, event.object);
        }, signal);
        if (expired) resourceVersion = undefined;
      } catch {
        if (signal.aborted) break;
        resourceVersion = undefined;
        this.relists++;
        await sleep(300, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  async #list(): Promise<string> {
    const items = new Map<string, WatchedObject>();
    let continueToken: string | undefined;
    let rv: string;
    do {
      const page = await this.#client.get<{ metadata: { resourceVersion: string; continue?: string }; items: WatchedObject[]; kind: string; apiVersion: string }>(
        this.#path, { limit: 1000, continue: continueToken, labelSelector: this.#labelSelector });
      for (const item of page.items) items.set(item.metadata.uid, { apiVersion: page.apiVersion, kind: page.kind.replace(/List$/, ''), ...item });
      rv = page.metadata.resourceVersion;
      continueToken = page.metadata.continue || undefined;
    } while (continueToken);
    for (const [uid, metadata] of this.#known) {
      if (!items.has(uid)) this.#see('DELETED', { metadata });
    }
    for (const [uid, item] of items) {
      const old = this.#known.get(uid);
      if (old?.resourceVersion === item.metadata.resourceVersion) continue;
      this.#see(old === undefined ? 'ADDED' : 'MODIFIED', item);
    }
    return rv;
  }

  #see(type: WatchEventType, object: WatchedObject): void {
    const uid = object.metadata.uid;
    if (type === 'DELETED') {
      if (!this.#known.delete(uid)) return;
    } else {
      if (!this.#known.has(uid) && type === 'MODIFIED') type = 'ADDED';
      else if (this.#known.has(uid) && type === 'ADDED') type = 'MODIFIED';
      const { name, namespace, resourceVersion, labels } = object.metadata;
      this.#known.set(uid, { name, uid, ...(namespace ? { namespace } : {}), ...(resourceVersion ? { resourceVersion } : {}), ...(labels ? { labels } : {}) });
    }
    this.#onEvent(type, object, performance.now());
  }
}

/** Every pod UID ever seen per run (label `skillpod.io/run`), with when it was first seen. */
export class PodRecorder {
  readonly uidsByRun = new Map<string, Set<string>>();
  readonly firstSeen = new Map<string, number>();
  readonly #watcher: ObjectWatcher;

  constructor(client: KubeClient, namespace: string | undefined, onAdded?: (run: string, pod: WatchedObject, at: number) => void) {
    const path = namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods';
    this.#watcher = new ObjectWatcher(client, path, (type, pod, at) => {
      if (type !== 'ADDED') return;
      const run = `${pod.metadata.namespace}/${pod.metadata.labels?.['skillpod.io/run'] ?? '?'}`;
      let uids = this.uidsByRun.get(run);
      if (!uids) this.uidsByRun.set(run, (uids = new Set()));
      uids.add(pod.metadata.uid);
      if (!this.firstSeen.has(run)) this.firstSeen.set(run, at);
      onAdded?.(run, pod, at);
    }, 'app.kubernetes.io/managed-by=skillpod');
  }

  start(): Promise<void> {
    this.#watcher.start();
    return this.#watcher.synced;
  }

  stop(): Promise<void> {
    return this.#watcher.stop();
  }

  get relists(): number {
    return this.#watcher.relists;
  }

  /** Runs for which more than one pod was ever seen. */
  duplicates(): Array<[string, string[]]> {
    return [...this.uidsByRun].filter(([, uids]) => uids.size > 1).map(([run, uids]) => [run, [...uids]]);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The kubelet this control plane lacks: a pod that appears is moved to Running (every sidecar ready, the agent
// running), and later its agent terminates as the plan says. Writes are retried until they land, so the kubelet
// keeps going through API server restarts.

export interface AgentEnd {
  exitCode: number;
  message: string;
  /** The pod phase written with the agent's end: `Running` (sidecars linger), `Succeeded` or `Failed`. */
  podPhase: 'Running' | 'Succeeded' | 'Failed';
}

export interface KubeletOptions {
  /** Delay from seeing a pod to writing it Running. */
  startAfterMs: number | (() => number);
  /** Delay from Running to the agent's end. */
  runForMs: number | (() => number);
  /** How the agent of this run ends. */
  end: (run: string, pod: WatchedObject) => AgentEnd;
  /** Status writes in flight at once. Default 16. */
  concurrency?: number;
}

interface PodSpecLite {
  spec?: { initContainers?: Array<{ name: string }> };
  status?: { containerStatuses?: Array<{ name: string; state?: { running?: unknown; terminated?: unknown } }> };
}

export class FakeKubelet {
  /** performance.now() when the Running status was written, and when the agent's end was written, per run key. */
  readonly started = new Map<string, number>();
  readonly ended = new Map<string, number>();
  readonly #client: KubeClient;
  readonly #options: KubeletOptions;
  readonly #watcher: ObjectWatcher;
  readonly #handled = new Set<string>();
  readonly #stop = new AbortController();
  readonly #timers = new Set<NodeJS.Timeout>();
  #inflight = 0;
  readonly #waiting: Array<() => void> = [];
  paused = false;

  constructor(client: KubeClient, namespace: string | undefined, options: KubeletOptions) {
    this.#client = client;
    this.#options = options;
    const path = namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods';
    this.#watcher = new ObjectWatcher(client, path, (type, pod) => { if (type !== 'DELETED') this.#saw(pod); }, 'app.kubernetes.io/managed-by=skillpod');
  }

  start(): Promise<void> {
    this.#watcher.start();
    return this.#watcher.synced;
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    for (const t of this.#timers) clearTimeout(t);
    await this.#watcher.stop();
  }

  #later(ms: number, fn: () => void): void {
    const t = setTimeout(() => { this.#timers.delete(t); fn(); }, ms);
    this.#timers.add(t);
  }

  #saw(pod: WatchedObject): void {
    const uid = pod.metadata.uid;
    if (this.#handled.has(uid)) return;
    this.#handled.add(uid);
    const run = `${pod.metadata.namespace}/${pod.metadata.labels?.['skillpod.io/run'] ?? '?'}`;
    const agent = (pod as PodSpecLite).status?.containerStatuses?.find((c) => c.name === 'agent');
    if (agent?.state?.terminated) return; // ended before a restart of ours
    const sidecars = ((pod as PodSpecLite).spec?.initContainers ?? []).map((c) => c.name).filter((n) => n.startsWith('skill-'));
    const delay = (d: number | (() => number)) => (typeof d === 'function' ? d() : d);
    const end = () => this.#write(pod, sidecars, this.#options.end(run, pod)).then(() => this.ended.set(run, performance.now()));
    if (agent?.state?.running) {
      this.#later(delay(this.#options.runForMs), () => void end());
      return;
    }
    this.#later(delay(this.#options.startAfterMs), () => {
      void this.#write(pod, sidecars, undefined).then(() => {
        this.started.set(run, performance.now());
        this.#later(delay(this.#options.runForMs), () => void end());
      });
    });
  }

  /** Writes the pod's status: running (end undefined) or the agent's end. Retries until it lands or the pod is gone. */
  async #write(pod: WatchedObject, sidecars: string[], end: AgentEnd | undefined): Promise<void> {
    const now = new Date().toISOString();
    const cs = (name: string, state: object, ready: boolean) => ({ name, image: 'img', imageID: '', ready, restartCount: 0, started: ready, state });
    const status = {
      phase: end ? end.podPhase : 'Running',
      startTime: now,
      conditions: [],
      initContainerStatuses: [
        cs('skillpod-install', { terminated: { exitCode: 0, reason: 'Completed' } }, false),
        ...sidecars.map((n) => cs(n, { running: { startedAt: now } }, true)),
      ],
      containerStatuses: [end
        ? cs('agent', { terminated: { exitCode: end.exitCode, message: end.message, reason: end.exitCode ? 'Error' : 'Completed', startedAt: now, finishedAt: now } }, false)
        : cs('agent', { running: { startedAt: now } }, true)],
    };
    const path = `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/status`;
    for (let attempt = 0; !this.#stop.signal.aborted; attempt++) {
      while (this.paused && !this.#stop.signal.aborted) await sleep(100);
      await this.#slot();
      try {
        await this.#client.json('PATCH', path, { body: { status }, contentType: 'application/merge-patch+json' });
        return;
      } catch (err) {
        if (isStatus(err, 404)) return;
        if (attempt > 600) throw err;
      } finally {
        this.#release();
      }
      await sleep(250);
    }
  }

  async #slot(): Promise<void> {
    if (this.#inflight < (this.#options.concurrency ?? 16)) {
      this.#inflight++;
      return;
    }
    await new Promise<void>((r) => this.#waiting.push(r));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#inflight--;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The operator as an OS process.

/** A kubeconfig for a bearer token (the operator's ServiceAccount), pointing at `server`. */
export async function writeTokenKubeconfig(path: string, server: string, caFile: string, token: string): Promise<string> {
  await writeFile(path, `apiVersion: v1
kind: Config
clusters:
- name: skillpod
  cluster:
    server: ${server}
    certificate-authority: ${caFile}
users:
- name: skillpod-operator
  user:
    token: ${token}
contexts:
- name: skillpod
  context:
    cluster: skillpod
    user: skillpod-operator
current-context: skillpod
`, { mode: 0o600 });
  return path;
}

/** A token of the operator's ServiceAccount from the TokenRequest API. */
export async function operatorToken(admin: KubeClient, namespace = 'skillpod-system', name = 'skillpod-operator'): Promise<string> {
  const review = await admin.json<{ status: { token: string } }>('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [], expirationSeconds: 7200 } } });
  return review.status.token;
}

export interface ProcStats {
  /** VmHWM: the peak resident set size, bytes. */
  peakRssBytes: number;
  rssBytes: number;
  /** utime + stime, seconds. */
  cpuSeconds: number;
}

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

export function procStats(pid: number): ProcStats | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    return { peakRssBytes: kb('VmHWM'), rssBytes: kb('VmRSS'), cpuSeconds: ticks / CLOCK_TICKS };
  } catch {
    return undefined;
  }
}

export interface OperatorProcessOptions {
  kubeconfig: string;
  args?: string[];
  /** Appends the process's output here. */
  logFile: string;
  /** The entry point, default operator/src/main.ts. */
  entry?: string;
  /** Node's own flags, before the entry (the image's, for the compiled operator: see operatorNodeFlags). */
  nodeArgs?: string[];
  env?: Record<string, string>;
}

/**
 * Node's flags in the operator image's ENTRYPOINT (sidecar-images/operator/Dockerfile), between `node` and the entry:
 * whatever runs the compiled operator to measure it runs it as the image does.
 */
export function operatorNodeFlags(): string[] {
  const dockerfile = readFileSync(join(repoRoot, 'sidecar-images/operator/Dockerfile'), 'utf8');
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
  if (!entrypoint) throw new Error('sidecar-images/operator/Dockerfile has no ENTRYPOINT [...] line');
  const argv = JSON.parse(entrypoint) as string[];
  return argv.slice(1, -1);
}

/**
 * Every operator process started here runs in its own process group, listed in a pid file that a watchdog reads:
 * if this process dies (even by SIGKILL) the watchdog kills them, as the harness does for the control plane.
 */
const live = new Set<ChildProcess>();
const pidFile = join(tmpdir(), `skillpod-operators-${process.pid}`);
let watchdogStarted = false;

function trackLive(): void {
  writeFileSync(pidFile, [...live].map((c) => c.pid).join('\n') + '\n');
  if (!watchdogStarted) {
    watchdogStarted = true;
    startWatchdog(process.pid, pidFile);
    process.once('exit', () => { for (const c of live) c.kill('SIGKILL'); });
  }
}

export class OperatorProcess {
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];
  #lastStats: ProcStats | undefined;
  #exitedFlag = false;

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.pid = child.pid ?? 0;
    this.exited = new Promise((resolvePromise) => child.once('exit', (code, signal) => {
      this.#exitedFlag = true;
      live.delete(child);
      trackLive();
      resolvePromise({ code, signal });
    }));
  }

  static start(options: OperatorProcessOptions): OperatorProcess {
    const entry = options.entry ?? join(repoRoot, 'operator/src/main.ts');
    const child = spawn(nodeBinary, [...(options.nodeArgs ?? []), entry, ...(options.args ?? [])], {
      cwd: repoRoot,
      env: { ...process.env, ...options.env, KUBECONFIG: options.kubeconfig },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    if (child.pid === undefined) throw new Error('failed to start the operator');
    live.add(child);
    trackLive();
    const proc = new OperatorProcess(child);
    const log = createWriteStream(options.logFile, { flags: 'a' });
    log.write(`--- operator pid ${child.pid} started ${new Date().toISOString()} ${options.args?.join(' ') ?? ''}\n`);
    let rest = '';
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      rest += chunk.toString('utf8');
      const lines = rest.split('\n');
      rest = lines.pop() ?? '';
      proc.#lines.push(...lines);
      if (proc.#lines.length > 20_000) proc.#lines.splice(0, proc.#lines.length - 10_000);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void proc.exited.then(({ code, signal }) => log.end(`--- operator pid ${child.pid} exited code=${code} signal=${signal}\n`));
    return proc;
  }

  get alive(): boolean {
    return !this.#exitedFlag;
  }

  /** Log lines whose JSON has `msg` (pino). */
  logged(msg: string): Array<Record<string, unknown>> {
    return this.#lines.filter((l) => l.includes(msg)).flatMap((l) => {
      try {
        const o = JSON.parse(l) as Record<string, unknown>;
        return o.msg === msg ? [o] : [];
      } catch {
        return [];
      }
    });
  }

  /** Waits for an output line containing `text`. */
  async waitForOutput(text: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.#lines.some((l) => l.includes(text))) return;
      if (!this.alive) break;
      await sleep(50);
    }
    throw new Error(`process ${this.pid}: no line with ${JSON.stringify(text)}\n${this.#lines.slice(-20).join('\n')}`);
  }

  /** The leader-election identity (from its `waiting for leadership` line). */
  async identity(timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const line = this.logged('waiting for leadership')[0];
      if (typeof line?.identity === 'string') return line.identity;
      if (!this.alive) break;
      await sleep(100);
    }
    throw new Error(`operator ${this.pid}: no leader-election identity logged\n${this.#lines.slice(-20).join('\n')}`);
  }

  /** Memory and CPU from /proc (the last reading once the process is gone). */
  stats(): ProcStats | undefined {
    const s = this.alive ? procStats(this.pid) : undefined;
    if (s) this.#lastStats = s;
    return this.#lastStats;
  }

  tail(n = 30): string {
    return this.#lines.slice(-n).join('\n');
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.alive) this.#child.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.alive) return;
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// What a finished workload must look like.

export interface RunLite {
  metadata: { name: string; namespace: string; uid: string; finalizers?: string[] };
  status?: {
    phase?: string; podName?: string; result?: string;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
}

export async function listRuns(client: KubeClient, namespace: string): Promise<RunLite[]> {
  const list = await client.get<{ items: RunLite[] }>(`/apis/skillpod.io/v1alpha1/namespaces/${namespace}/agentruns`);
  return list.items;
}

const GRANT_KINDS = [
  { kind: 'ServiceAccount', path: (ns: string) => `/api/v1/namespaces/${ns}/serviceaccounts` },
  { kind: 'Role', path: (ns: string) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles` },
  { kind: 'RoleBinding', path: (ns: string) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings` },
  { kind: 'NetworkPolicy', path: (ns: string) => `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies` },
] as const;

/**
 * Every run-scoped grant the operator made in `namespace` that still exists: ServiceAccounts, Roles, RoleBindings,
 * NetworkPolicies that allow anything, and ClusterRoles and ClusterRoleBindings labelled with the namespace.
 * `kind/name` each. A deny-all NetworkPolicy grants nothing: it is what confines a finished run's pod whose sidecars
 * still linger (it goes with the pod).
 */
export function deniesAll(o: WatchedObject): boolean {
  const spec = o.spec as { egress?: unknown[]; ingress?: unknown[] } | undefined;
  return (spec?.egress?.length ?? 0) === 0 && (spec?.ingress?.length ?? 0) === 0;
}

export async function grantsLeft(client: KubeClient, namespace: string): Promise<string[]> {
  const selector = 'app.kubernetes.io/managed-by=skillpod';
  const left: string[] = [];
  for (const { kind, path } of GRANT_KINDS) {
    const list = await client.get<{ items: WatchedObject[] }>(path(namespace), { labelSelector: selector });
    left.push(...list.items.filter((o) => kind !== 'NetworkPolicy' || !deniesAll(o)).map((o) => `${kind}/${o.metadata.name}`));
  }
  for (const kind of ['clusterroles', 'clusterrolebindings']) {
    const list = await client.get<{ items: WatchedObject[] }>(`/apis/rbac.authorization.k8s.io/v1/${kind}`,
      { labelSelector: `${selector},skillpod.io/run-namespace=${namespace}` });
    left.push(...list.items.map((o) => `${kind}/${o.metadata.name}`));
  }
  return left;
}

/** Creates an AgentRun; returns its UID. Retries through API server restarts (409 means a retry already landed). */
export async function createAgentRun(client: KubeClient, namespace: string, name: string, spec: Record<string, unknown>): Promise<string> {
  const path = `/apis/skillpod.io/v1alpha1/namespaces/${namespace}/agentruns`;
  return await retrying(async () => {
    try {
      const run = await client.json<RunLite>('POST', path, { body: {
        apiVersion: 'skillpod.io/v1alpha1', kind: 'AgentRun', metadata: { name },
        spec: { task: 'do the thing', agent: { image: 'agent:test' }, ...spec },
      } });
      return run.metadata.uid;
    } catch (err) {
      if (!isStatus(err, 409)) throw err;
      return (await client.get<RunLite>(`${path}/${name}`)).metadata.uid;
    }
  });
}
