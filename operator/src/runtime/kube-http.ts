import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Agent, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Cluster, KubeConfig as ClientNodeKubeConfig, User } from '@kubernetes/client-node';
import { ApiError } from './errors.ts';
import type { ExecConfig, KubeCluster, KubeConfigSource, KubeUser } from './kubeconfig.ts';
import type { RateLimiter } from './rate-limit.ts';

// Taken with process.getBuiltinModule, not `import … from 'node:http'`: an ESM import reads every export of the
// module, and node:http's lazy WebSocket getters would load Node's own copy of undici.
const http = process.getBuiltinModule('node:http');
const https = process.getBuiltinModule('node:https');

/**
 * The operator's one HTTP client of the API server: JSON requests and watch streams, both by Node's own HTTP client
 * (native parser, already in the binary: undici's Agent cost 19 MiB of memory after start, see runtime/README.md)
 * on one keep-alive Agent that this module builds from the kubeconfig's public data (server, CA, client
 * certificate and key, insecure-skip-tls-verify, tls-server-name, proxy-url) and with its credentials
 * (bearer token, token file, exec plugin, basic auth, impersonation; legacy auth providers through client-node,
 * loaded only for them). JSON stays JSON (client-node's generated clients turn timestamps of built-in kinds into
 * Date objects, so a cache fed from both would mix types; and their serializer does not round-trip a Lease's
 * MicroTime). Errors are `ApiError`s (errors.ts), which the runtime's classifier reads.
 *
 * With a rate limiter (`--api-qps`), every `request` first waits for a token, as client-go's `Request.Do` does;
 * watches (`stream`) do not, as client-go's `Request.Watch` does not ("we specifically don't want to rate limit
 * watches"): a watch is one long request, and one queued behind a backlog of writes would leave a cache stale for
 * as long as the backlog lasts. The relist after a broken watch is a `request`, and waits like any other.
 */

export type QueryValue = string | number | boolean | undefined;

export interface KubeRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the server URL, e.g. `/api/v1/namespaces/a/configmaps`; built by resource.ts, names encoded. */
  path: string;
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  body?: unknown;
  /** Default `application/json`; e.g. `application/merge-patch+json` for a merge patch. */
  contentType?: string;
  signal?: AbortSignal;
  /** Whole-request deadline for `request`; for `stream` only until the response headers arrive. */
  timeoutMs?: number;
  /** `request` reads a successful answer to its end and resolves to undefined, without parsing it. */
  discardBody?: boolean;
}

export interface KubeHttpOptions {
  /** Default whole-request deadline (`KubeRequest.timeoutMs`). */
  defaultTimeoutMs?: number;
  /** Client-side QPS/Burst limit on `request`; none by default. */
  rateLimiter?: RateLimiter;
  hooks?: KubeHttpHooks;
}

export interface KubeHttpHooks {
  /** Seconds a request waited for the rate limiter (only with one), by HTTP method. */
  rateLimited?(method: string, seconds: number): void;
  /**
   * One request sent (each attempt: the retry after a 401 too), as client-go counts them: `code` is the HTTP status
   * or `<error>` when no response came; `seconds` from sending to the whole response (absent for watches, whose
   * response lasts as long as the watch).
   */
  requested?(request: { method: string; code: string; host: string; seconds?: number }): void;
}

export interface KubeStream {
  /** The response body as it arrives (iterate with `for await`). */
  body: AsyncIterable<Uint8Array>;
  /** Ends the stream and drops its connection. */
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** How long one Agent (its keep-alive connections) serves before a fresh one takes over. */
const AGENT_MAX_AGE_MS = 5 * 60_000;
/**
 * Idle keep-alive connections are closed after this long (kube-apiserver closes them after 90 s: closing first
 * avoids sending on a connection the server is closing), and TCP keep-alive probes start after it.
 */
const KEEP_ALIVE_MS = 30_000;
/** How long computed credentials (files read, headers) serve requests before they are computed again. */
const AUTH_MAX_AGE_MS = 10_000;

export class KubeHttp {
  readonly #kc: KubeConfigSource;
  readonly #defaultTimeoutMs: number;
  readonly #rateLimiter: RateLimiter | undefined;
  readonly #hooks: KubeHttpHooks;
  /** A promise, so that requests made at once while it is being computed all wait for the same one. */
  #auth: { key: string; value: Promise<Credentials>; created: number } | undefined;
  #shared: { key: string; agent: Agent; created: number } | undefined;
  #server: { source: string; url: URL; prefix: string } | undefined;
  /** Exec plugin output by plugin (command, arguments, environment), until its expiry or a 401. */
  readonly #execCache = new Map<string, ExecCredentialStatus>();
  #legacy: ClientNodeKubeConfig | undefined;

  constructor(kubeConfig: KubeConfigSource, options: KubeHttpOptions = {}) {
    this.#kc = kubeConfig;
    this.#defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#rateLimiter = options.rateLimiter;
    this.#hooks = options.hooks ?? {};
  }

  get kubeConfig(): KubeConfigSource {
    return this.#kc;
  }

  /** Sends a request and returns the parsed JSON body; throws `ApiError` on any status outside 2xx. */
  async request<T = unknown>(req: KubeRequest): Promise<T> {
    // Before the deadline starts: time spent waiting for a token is the client's own queue, not the server's
    // slowness (client-go throttles before it sets up the request timeout, for the same reason).
    await this.#throttle(req);
    const abort = new Abort(req.timeoutMs ?? this.#defaultTimeoutMs, req.signal);
    try {
      const url = this.#url(req);
      let auth = await this.#credentials();
      // A success the caller discards is drained unread; every failure is read, for its Status.
      const read = (r: Response) => (req.discardBody && isSuccess(r) ? drain(r.body, abort).then(() => undefined) : text(r.body, abort));
      let { res, value: body } = await this.#attempt(url, req, auth, abort,
        (r) => (r.statusCode === 401 && auth.reused ? drain(r.body, abort).then(() => undefined) : read(r)));
      if (res.statusCode === 401 && auth.reused) {
        // Credentials kept past their expiry (an exec plugin's token, say): computed anew and tried once more, as
        // client-go's exec authenticator refreshes on a 401.
        this.#forget(auth);
        auth = await this.#credentials();
        ({ res, value: body } = await this.#attempt(url, req, auth, abort, read));
      }
      body ??= '';
      if (!isSuccess(res)) throw apiError(res, body);
      return (body === '' ? undefined : JSON.parse(body)) as T;
    } finally {
      abort.dispose();
    }
  }

  /** One attempt, observed (status code and latency, the body read or dropped by `consume`) as client-go does. */
  async #attempt<R>(url: Target, req: KubeRequest, auth: UsedCredentials, abort: Abort,
    consume: (res: Response) => Promise<R>): Promise<{ res: Response; value: R }> {
    const started = performance.now();
    const observe = (code: string) => this.#hooks.requested?.({ method: req.method ?? 'GET', code, host: url.host, seconds: (performance.now() - started) / 1000 });
    let res: Response;
    try {
      res = await this.#send(url, req, auth, abort);
    } catch (err) {
      observe('<error>');
      throw err;
    }
    try {
      return { res, value: await consume(res) };
    } finally {
      observe(String(res.statusCode));
    }
  }

  /** Resolves once the response head has arrived; rejects with the abort's reason if it aborts before. */
  #send(url: Target, req: KubeRequest, auth: Credentials, abort: Abort): Promise<Response> {
    const headers: Record<string, string> = { ...auth.headers, accept: 'application/json' };
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    if (body !== undefined) {
      headers['content-type'] = req.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const agent = this.#agent(auth, url);
    return new Promise<Response>((resolve, reject) => {
      if (abort.reason) {
        reject(abort.reason);
        return;
      }
      const request = (url.protocol === 'http:' ? http : https).request({
        protocol: url.protocol, hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, path: url.path,
        method: req.method ?? 'GET', headers, agent,
      }, (res) => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: res }));
      // Aborting destroys the request, and with it the response and its connection.
      abort.onAbort = (reason) => request.destroy(reason);
      // Aborted: the abort's reason (a TimeoutError, the caller's), as the caller gave it, rather than Node's error.
      request.on('error', (err) => reject(abort.reason ?? err));
      request.end(body);
    });
  }

  /**
   * Opens a streaming GET (a watch) on the same Agent as requests. Throws `ApiError` if the status is not 200.
   * Never waits for the rate limiter (see above).
   */
  async stream(req: KubeRequest): Promise<KubeStream> {
    // The deadline holds until the response head; the caller's signal, and close(), for as long as the stream lasts.
    const abort = new Abort(req.timeoutMs ?? this.#defaultTimeoutMs, req.signal);
    // Aborting drops the stream's connection (a half-read response cannot go back to the pool).
    const close = (): void => {
      abort.abort(new Error('stream closed'));
      abort.dispose();
    };
    const url = this.#url(req);
    const observe = (code: string) => this.#hooks.requested?.({ method: req.method ?? 'GET', code, host: url.host });
    try {
      const auth = await this.#credentials();
      let res: Response;
      try {
        // No body timeout: a watch may be quiet for minutes, and its informer's watchdog judges that.
        res = await this.#send(url, req, auth, abort);
      } catch (err) {
        observe('<error>');
        throw err;
      }
      observe(String(res.statusCode));
      abort.clearDeadline();
      if (res.statusCode !== 200) {
        // The watch is retried by its informer: with credentials computed anew if these were refused.
        if (res.statusCode === 401) this.#forget(auth);
        throw apiError(res, await text(res.body, abort));
      }
      return { body: res.body, close };
    } catch (err) {
      close();
      throw err;
    }
  }

  /** Waits for a token of the rate limiter, if there is one; rejects if `req.signal` aborts meanwhile. */
  async #throttle(req: KubeRequest): Promise<void> {
    if (!this.#rateLimiter) return;
    const started = performance.now();
    try {
      await this.#rateLimiter.wait(req.signal);
    } finally {
      // Aborted waits too, as client-go observes every wait.
      this.#hooks.rateLimited?.(req.method ?? 'GET', (performance.now() - started) / 1000);
    }
  }

  /** Where a request goes: the cluster's server (parsed once per server) and the path with its query. */
  #url(req: KubeRequest): Target {
    const server = this.#cluster().server;
    if (this.#server?.source !== server) {
      const url = new URL(server.replace(/\/+$/, ''));
      this.#server = { source: server, url, prefix: url.pathname.replace(/\/+$/, '') };
    }
    const { url, prefix } = this.#server;
    let query = '';
    for (const [k, v] of Object.entries(req.query ?? {})) {
      if (v !== undefined) query += `${query ? '&' : '?'}${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`;
    }
    return { protocol: url.protocol, hostname: url.hostname, port: url.port, host: url.host, path: prefix + req.path + query };
  }


  #cluster(): KubeCluster {
    const cluster = this.#kc.getCurrentCluster();
    if (!cluster?.server) throw new Error('kubeconfig has no current cluster');
    return cluster;
  }

  /**
   * The credentials of the current cluster and user: the headers that authenticate a request and the TLS material
   * of the connection. Computed anew every AUTH_MAX_AGE_MS, as client-go keeps a token file's contents for a
   * minute: tokens are rotated long before they expire (the kubelet at 80% of their life). A changed kubeconfig
   * context or user is seen at once.
   */
  async #credentials(): Promise<UsedCredentials> {
    const cluster = this.#cluster();
    const user = this.#kc.getCurrentUser() ?? {};
    const key = JSON.stringify([cluster, user]);
    const now = Date.now();
    const cached = this.#auth;
    if (cached && cached.key === key && now - cached.created < AUTH_MAX_AGE_MS) {
      return { ...(await cached.value), reused: true, source: cached.value };
    }
    const value = this.#compute(cluster, user);
    this.#auth = { key, value, created: now };
    // A failure (a token file unreadable, say) fails the requests waiting for it and is not remembered.
    value.catch(() => { if (this.#auth?.value === value) this.#auth = undefined; });
    return { ...(await value), reused: false, source: value };
  }

  async #compute(cluster: KubeCluster, user: KubeUser): Promise<Credentials> {
    const tls: TlsOptions = {};
    if (cluster.skipTLSVerify) tls.rejectUnauthorized = false;
    if (cluster.tlsServerName) tls.servername = cluster.tlsServerName;
    const [ca, cert, key] = await Promise.all([
      fileOrData(cluster.caFile, cluster.caData), fileOrData(user.certFile, user.certData), fileOrData(user.keyFile, user.keyData),
    ]);
    if (ca) tls.ca = ca;
    if (cert) tls.cert = cert;
    if (key) tls.key = key;
    // Precedence as client-node's: basic auth, then what a plugin or token file gives, then a token in the kubeconfig.
    const headers: Record<string, string> = {};
    if (user.username) headers.authorization = `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`;
    let execKey: string | undefined;
    const exec = user.exec ?? (user.authProvider?.config?.exec as ExecConfig | undefined);
    const tokenFile = user.tokenFile ?? (typeof user.authProvider?.config?.tokenFile === 'string' ? user.authProvider.config.tokenFile : undefined);
    if (exec) {
      execKey = JSON.stringify(exec);
      const status = await this.#execCredential(execKey, exec, cluster);
      if (status.token) headers.authorization = `Bearer ${status.token}`;
      if (status.clientCertificateData) tls.cert = status.clientCertificateData;
      if (status.clientKeyData) tls.key = status.clientKeyData;
    } else if (tokenFile) {
      headers.authorization = `Bearer ${(await readFile(tokenFile, 'utf8')).trim()}`;
    } else if (user.authProvider) {
      Object.assign(headers, await this.#legacyAuthProvider(cluster, user));
    }
    if (user.token) headers.authorization = `Bearer ${user.token}`;
    if (user.impersonateUser) headers['impersonate-user'] = user.impersonateUser;
    const proxyUrl = cluster.proxyUrl ?? undefined;
    // What a connection depends on: a change (a rotated certificate file, say) takes a new Agent at once.
    const agentKey = createHash('sha256').update(JSON.stringify([new URL(cluster.server).origin, proxyUrl ?? '', tls.rejectUnauthorized ?? true,
      tls.servername ?? '', String(tls.ca ?? ''), String(tls.cert ?? ''), String(tls.key ?? '')])).digest('base64url');
    return { headers, tls, agentKey, ...(proxyUrl ? { proxyUrl } : {}), ...(execKey ? { execKey } : {}) };
  }

  /**
   * Runs an exec credential plugin as client-go does (its env added to ours, KUBERNETES_EXEC_INFO describing the
   * request) and keeps its answer until `expirationTimestamp`, or for good without one, or until a 401.
   */
  async #execCredential(key: string, exec: ExecConfig, cluster: KubeCluster): Promise<ExecCredentialStatus> {
    const cached = this.#execCache.get(key);
    if (cached && (cached.expirationTimestamp === undefined || Date.parse(cached.expirationTimestamp) > Date.now())) return cached;
    const apiVersion = exec.apiVersion ?? 'client.authentication.k8s.io/v1';
    const info = { apiVersion, kind: 'ExecCredential', spec: { interactive: false,
      ...(exec.provideClusterInfo ? { cluster: { server: cluster.server, 'tls-server-name': cluster.tlsServerName ?? undefined,
        'insecure-skip-tls-verify': cluster.skipTLSVerify ?? false, 'certificate-authority-data': cluster.caData ?? undefined } } : {}) } };
    const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
    for (const { name, value } of exec.env ?? []) env[name] = value;
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = spawn(exec.command, exec.args ?? [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.on('error', (e) => reject(new Error(`exec plugin ${exec.command}: ${e.message}`, { cause: e })));
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exec plugin ${exec.command} exited with ${code}: ${err.trim().slice(0, 300)}`))));
    });
    let status: ExecCredentialStatus | undefined;
    try {
      status = (JSON.parse(stdout) as { status?: ExecCredentialStatus }).status;
    } catch {
      throw new Error(`exec plugin ${exec.command} printed no ExecCredential JSON`);
    }
    if (!status || (!status.token && !(status.clientCertificateData && status.clientKeyData))) {
      throw new Error(`exec plugin ${exec.command} gave neither a token nor a client certificate and key`);
    }
    this.#execCache.set(key, status);
    return status;
  }

  /** oidc, azure, gcp and the like: client-node's authenticators compute the headers (and only then is it loaded). */
  async #legacyAuthProvider(cluster: KubeCluster, user: KubeUser): Promise<Record<string, string>> {
    if (!this.#legacy) {
      const { KubeConfig } = await import('@kubernetes/client-node');
      this.#legacy = new KubeConfig();
    }
    this.#legacy.loadFromClusterAndUser({ ...cluster, name: cluster.name ?? 'cluster', skipTLSVerify: cluster.skipTLSVerify ?? false } as Cluster,
      { ...user, name: user.name ?? 'user' } as User);
    const opts: { headers?: Record<string, string> } = {};
    await this.#legacy.applyToHTTPSOptions(opts);
    return Object.fromEntries(Object.entries(opts.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
  }

  /** Drops what `used` was computed from, if it is still kept (a request beside it may have renewed it). */
  #forget(used: UsedCredentials): void {
    if (this.#auth?.value === used.source) this.#auth = undefined;
    if (used.execKey) this.#execCache.delete(used.execKey);
  }

  /**
   * One Agent serves every request and watch (keep-alive connections) while the connection's inputs stay the same:
   * a changed server, proxy, CA, client certificate or key (files are read again with the credentials) takes a
   * new one at once. Besides, an Agent serves at most AGENT_MAX_AGE_MS, so that connections are spread again over
   * API servers behind a load balancer. The old one finishes what runs on it (open watches included): its idle
   * connections are closed, the busy ones when their response ends.
   */
  #agent(auth: Credentials, url: Target): Agent {
    const now = Date.now();
    let shared = this.#shared;
    if (!shared || shared.key !== auth.agentKey || now - shared.created >= AGENT_MAX_AGE_MS) {
      if (shared) retire(shared.agent);
      shared = this.#shared = { key: auth.agentKey, agent: newAgent(auth, url), created: now };
    }
    return shared.agent;
  }

  /** Closes the shared connections, busy ones included (the process stays up otherwise while keep-alive sockets idle). */
  async close(): Promise<void> {
    const shared = this.#shared;
    this.#shared = undefined;
    shared?.agent.destroy();
    await Promise.resolve();
  }
}

interface Target {
  protocol: string;
  hostname: string;
  port: string;
  host: string;
  /** Path below the host, with the query. */
  path: string;
}

/** A response whose head has arrived; `body` is read by `text`, `drain` or iteration. */
interface Response {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
}

const isSuccess = (res: Response) => res.statusCode >= 200 && res.statusCode <= 299;

/** The whole body as text; rejects if the connection breaks (or `abort` fires) before its end. */
function text(body: IncomingMessage, abort: Abort): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    body.on('data', (chunk: Buffer) => chunks.push(chunk));
    body.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    body.on('error', (err) => reject(abort.reason ?? err));
    body.on('close', () => {
      if (!body.complete) reject(abort.reason ?? Object.assign(new Error('the connection closed before the response ended'), { code: 'ECONNRESET' }));
    });
  });
}

/** Reads the body to its end and drops it, so that the connection can serve again. */
function drain(body: IncomingMessage, abort: Abort): Promise<void> {
  return new Promise((resolve, reject) => {
    body.on('end', () => resolve());
    body.on('error', (err) => reject(abort.reason ?? err));
    body.on('close', () => {
      if (!body.complete) reject(abort.reason ?? Object.assign(new Error('the connection closed before the response ended'), { code: 'ECONNRESET' }));
    });
    body.resume();
  });
}

/**
 * A request's deadline and the caller's signal, as one abort with the first reason. A plain timer, cleared when the
 * request ends: `AbortSignal.timeout` keeps its timer (and signal) for the whole timeout after the request is done,
 * and `AbortSignal.any` and `signal` options cost event-target listeners on every request; at thousands of
 * requests a minute both showed in the profile (docs/benchmarks.md).
 */
class Abort {
  reason: Error | undefined;
  /** What aborting does to the request in flight (destroys it). */
  onAbort: ((reason: Error) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #forward = (): void => this.abort(this.#signal?.reason as Error);

  constructor(timeoutMs: number, signal: AbortSignal | undefined) {
    this.#timer = setTimeout(() => this.abort(new DOMException(`the request did not finish within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
    this.#signal = signal;
    if (signal?.aborted) this.abort(signal.reason as Error);
    else signal?.addEventListener('abort', this.#forward, { once: true });
  }

  abort(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    this.clearDeadline();
    this.onAbort?.(reason);
  }

  clearDeadline(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  dispose(): void {
    this.clearDeadline();
    this.#signal?.removeEventListener('abort', this.#forward);
  }
}

interface TlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
}

interface Credentials {
  headers: Record<string, string>;
  tls: TlsOptions;
  proxyUrl?: string;
  /** Identifies what a connection depends on (digest of server, proxy and TLS material). */
  agentKey: string;
  /** The exec plugin whose output these are, if any. */
  execKey?: string;
}

interface UsedCredentials extends Credentials {
  /** Taken from what an earlier request computed, rather than computed for this one. */
  reused: boolean;
  source: Promise<Credentials>;
}

interface ExecCredentialStatus {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  expirationTimestamp?: string;
}

/**
 * A keep-alive Agent (HTTP/1.1, as client-node's spoke) with the kubeconfig's TLS material; an http(s) proxy-url by
 * Node's own proxy support. Most recently used connections first, so that the ones beyond the load after a burst
 * go idle and close.
 */
function newAgent(auth: Credentials, url: Pick<Target, 'protocol'>): Agent {
  const proxy = auth.proxyUrl;
  if (proxy && !/^https?:\/\//.test(proxy)) throw new Error(`unsupported proxy-url ${proxy}: http and https proxies are supported`);
  const options = {
    ...auth.tls, keepAlive: true, keepAliveMsecs: KEEP_ALIVE_MS, timeout: KEEP_ALIVE_MS, scheduling: 'lifo' as const,
    ...(proxy ? { proxyEnv: { HTTP_PROXY: proxy, HTTPS_PROXY: proxy } } : {}),
  };
  return url.protocol === 'http:' ? new http.Agent(options) : new https.Agent(options);
}

/** An Agent replaced by a new one: idle connections close now, busy ones (a watch) when their response ends. */
function retire(agent: Agent): void {
  for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
  agent.on('free', (socket: Socket) => socket.destroy());
}

async function fileOrData(file: string | null | undefined, data: string | null | undefined): Promise<Buffer | undefined> {
  if (file) return await readFile(file);
  if (data) return Buffer.from(data, 'base64');
  return undefined;
}

function apiError(res: Response, body: string): ApiError {
  const headers: Record<string, string> = {};
  // A repeated header is an array in Node's response.
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  return new ApiError(res.statusCode, `HTTP ${res.statusCode}`, body, headers);
}
