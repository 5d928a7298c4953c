import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { errorSummary } from './errors.ts';
import { silentLogger, type Logger } from './logger.ts';
import type { MetricsAuthorizer } from './metrics-auth.ts';
import type { Metrics } from './metrics.ts';

// Not `import … from 'node:http'`: an ESM import of node:http reads every export of the module, and its lazy
// WebSocket, CloseEvent and MessageEvent getters load Node's own copy of undici (a second undici, ~4 MiB resident).
const { createServer } = process.getBuiltinModule('node:http');

/**
 * The probe and metrics endpoint, on its own port (the API the operator serves, if any, stays elsewhere):
 * - `/healthz`: the process answers (and every health check passes);
 * - `/readyz`: every readiness check passes (the manager adds one per informer: synced);
 * - `/metrics`: Prometheus exposition.
 * Failures answer 503 with the checks listed the way kube-apiserver does (`[-]informer/pods failed: …`);
 * `?verbose` lists passing ones too.
 *
 * The manager may run two: probes on one port and /metrics on another, the latter over HTTPS (`tls`) and only for
 * callers the API server authenticates and authorizes (`authorizeMetrics`: kubebuilder's secure metrics).
 */

/** A check passes by returning true (or a message); it fails by returning false, a `{ ok: false }` or throwing. */
export type Check = () => boolean | string | { ok: boolean; message?: string } | Promise<boolean | string | { ok: boolean; message?: string }>;

export interface RuntimeServerOptions {
  /** Default 0.0.0.0 (kubelet probes come from outside the pod's loopback); tests use 127.0.0.1. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  metrics?: Metrics;
  logger?: Logger;
  /** Which endpoints this server answers; default both. */
  serve?: { probes?: boolean; metrics?: boolean };
  /** HTTPS with this key and certificate (PEM) instead of HTTP. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Asked for every /metrics request with its Authorization header; only 200 serves the metrics. */
  authorizeMetrics?: MetricsAuthorizer;
}

export class RuntimeServer {
  readonly #host: string;
  readonly #port: number;
  readonly #metrics: Metrics | undefined;
  readonly #log: Logger;
  readonly #health = new Map<string, Check>();
  readonly #ready = new Map<string, Check>();
  readonly #probes: boolean;
  readonly #serveMetrics: boolean;
  readonly #tls: RuntimeServerOptions['tls'];
  readonly #authorizeMetrics: MetricsAuthorizer | undefined;
  #server: Server | undefined;

  constructor(options: RuntimeServerOptions) {
    this.#host = options.host ?? '0.0.0.0';
    this.#port = options.port;
    this.#metrics = options.metrics;
    this.#log = (options.logger ?? silentLogger).child({ component: options.serve?.probes === false ? 'metrics-server' : 'server' });
    this.#probes = options.serve?.probes ?? true;
    this.#serveMetrics = options.serve?.metrics ?? true;
    this.#tls = options.tls;
    this.#authorizeMetrics = options.authorizeMetrics;
  }

  addHealthCheck(name: string, check: Check): void {
    this.#health.set(name, check);
  }

  addReadyCheck(name: string, check: Check): void {
    this.#ready.set(name, check);
  }

  /** Starts listening; resolves with the bound address (useful with port 0). */
  async listen(): Promise<AddressInfo> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#log.error({ error: errorSummary(err), url: req.url }, 'request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    };
    const server: Server = this.#tls ? createTlsServer({ key: this.#tls.key, cert: this.#tls.cert, minVersion: 'TLSv1.2' }, handler) : createServer(handler);
    // Probes and scrapes are short; idle keep-alive sockets must not hold up shutdown.
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, this.#host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    const address = server.address() as AddressInfo;
    const what = [...(this.#probes ? ['/healthz', '/readyz'] : []), ...(this.#serveMetrics ? ['/metrics'] : [])].join(', ').replace(/, ([^,]*)$/, ' and $1');
    const how = this.#tls ? ` over HTTPS${this.#authorizeMetrics ? ' (TokenReview and SubjectAccessReview)' : ''}` : '';
    // The message of the probe server is the one tests and tools look for; unchanged.
    this.#log.info({ address: address.address, port: address.port }, this.#probes && this.#serveMetrics && !this.#tls ? 'serving /healthz, /readyz, /metrics' : `serving ${what}${how}`);
    return address;
  }

  get address(): AddressInfo | undefined {
    return (this.#server?.address() as AddressInfo | null) ?? undefined;
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const verbose = url.searchParams.has('verbose');
    switch (this.#probes || url.pathname === '/metrics' ? url.pathname : '') {
      case '/healthz':
      case '/livez':
        return send(res, await runChecks('healthz', this.#health, verbose));
      case '/readyz':
        return send(res, await runChecks('readyz', this.#ready, verbose));
      case '/metrics': {
        if (!this.#metrics || !this.#serveMetrics) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('no metrics\n');
          return;
        }
        if (this.#authorizeMetrics) {
          const access = await this.#authorizeMetrics(req.headers.authorization);
          if (access.status !== 200) {
            this.#log.debug({ status: access.status, user: access.user, reason: access.reason }, '/metrics refused');
            const text = { 401: 'Unauthorized', 403: 'Forbidden', 503: 'Service Unavailable' }[access.status];
            res.writeHead(access.status, { 'content-type': 'text/plain', ...(access.status === 401 ? { 'www-authenticate': 'Bearer' } : {}) })
              .end(`${text}${access.reason ? `: ${access.reason}` : ''}\n`);
            return;
          }
        }
        const text = await this.#metrics.text();
        res.writeHead(200, { 'content-type': this.#metrics.contentType }).end(req.method === 'HEAD' ? undefined : text);
        return;
      }
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  }
}

interface CheckReport {
  status: number;
  body: string;
}

function send(res: ServerResponse, report: CheckReport): void {
  res.writeHead(report.status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(report.body);
}

async function runChecks(kind: string, checks: Map<string, Check>, verbose: boolean): Promise<CheckReport> {
  const lines: string[] = [];
  let failed = false;
  for (const [name, check] of checks) {
    let ok: boolean;
    let message: string | undefined;
    try {
      const r = await check();
      if (typeof r === 'boolean') ok = r;
      else if (typeof r === 'string') [ok, message] = [true, r];
      else [ok, message] = [r.ok, r.message];
    } catch (err) {
      [ok, message] = [false, errorSummary(err)];
    }
    failed ||= !ok;
    lines.push(ok ? `[+]${name} ok` : `[-]${name} failed${message ? `: ${message}` : ''}`);
  }
  if (failed) return { status: 503, body: `${lines.join('\n')}\n${kind} check failed\n` };
  return { status: 200, body: verbose ? `${lines.join('\n')}\n${kind} check passed\n` : 'ok\n' };
}
