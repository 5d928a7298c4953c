// A TLS-terminating proxy on loopback in front of kube-apiserver, for resilience tests and the benchmark:
// - it counts and logs every request (method, path, verb, answer, times), so a test can assert how a client behaved
//   (requests per verb, gaps after a 429) and the benchmark can count the operator's requests by verb;
// - a fault rule can answer requests itself (429 with Retry-After, 500, …) instead of forwarding them;
// - `dropStreams()` cuts every open watch, so that clients must reconnect (through the faults).
// It serves the API server's own certificate (same CA, valid for 127.0.0.1) and forwards the client's bearer token,
// so a client authenticated by token (a ServiceAccount) sees the same identity through it. Client certificates
// cannot pass a TLS-terminating proxy: do not point admin (client-certificate) kubeconfigs at it.
import { Agent, createServer, request as httpsRequest, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** How the API server would name the request (`kubectl get --raw /metrics | grep apiserver_request_total`). */
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'apply' | 'delete' | 'deletecollection' | 'other';

export interface ParsedPath {
  group: string;
  version: string;
  namespace?: string;
  resource?: string;
  name?: string;
  subresource?: string;
}

export interface ProxiedRequest {
  /** Sequence number, from 0. */
  id: number;
  /** Which TCP connection from the client carried it (client-node opens one per request). */
  connection: number;
  method: string;
  path: string;
  query: URLSearchParams;
  verb: Verb;
  parsed: ParsedPath;
  /** `metadata.name` of a JSON request body (a POST names its object only there). */
  bodyName?: string;
  /** ms (performance.now() timeline of this process) when the request headers arrived. */
  at: number;
  /** ms just before the answer's headers were sent (forwarded or injected); absent while in flight. */
  answeredAt?: number;
  /** ms when the exchange ended (for a watch: when the stream closed). */
  endedAt?: number;
  status?: number;
  /** Set when the proxy answered itself. */
  injected?: boolean;
  retryAfterSeconds?: number;
}

export interface Fault {
  status: number;
  retryAfterSeconds?: number;
  message?: string;
  /** Hold the answer this long (a slow failure; also makes requests a client sent together visibly concurrent). */
  delayMs?: number;
}

/** Decides, per request, whether the proxy answers it with a fault instead of forwarding it. */
export type FaultRule = (req: ProxiedRequest) => Fault | undefined;

export interface FaultProxyOptions {
  /** `https://127.0.0.1:<port>` of kube-apiserver. */
  upstream: string;
  /** PEM of the CA that signed the API server's certificate. */
  ca: Buffer;
  /** Serving certificate and key for the proxy (the API server's own do: they cover 127.0.0.1). */
  cert: Buffer;
  key: Buffer;
  /** Keep every request in `log` (default true). Counting by verb happens either way. */
  keepLog?: boolean;
}

const reasons: Record<number, string> = { 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout' };

export class FaultProxy {
  readonly log: ProxiedRequest[] = [];
  /** Requests per verb and resource: `counts.get('create pods')`. */
  readonly counts = new Map<string, number>();
  readonly #server: Server;
  readonly #agent: Agent;
  readonly #upstream: URL;
  readonly #keepLog: boolean;
  readonly #streams = new Set<{ req: ProxiedRequest; destroy: () => void }>();
  readonly #sockets = new Set<Socket>();
  #rule: FaultRule | undefined;
  #nextId = 0;
  #nextConnection = 0;
  #port = 0;

  private constructor(options: FaultProxyOptions) {
    this.#upstream = new URL(options.upstream);
    this.#keepLog = options.keepLog ?? true;
    this.#agent = new Agent({ ca: options.ca, keepAlive: true, maxFreeSockets: 64 });
    this.#server = createServer({ cert: options.cert, key: options.key }, (req, res) => this.#handle(req, res));
    this.#server.keepAliveTimeout = 30_000;
    this.#server.on('secureConnection', (socket: Socket) => {
      (socket as Socket & { proxyConnection?: number }).proxyConnection = this.#nextConnection++;
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = proxy.#server.address();
    proxy.#port = address && typeof address === 'object' ? address.port : 0;
    return proxy;
  }

  get url(): string {
    return `https://127.0.0.1:${this.#port}`;
  }

  /** Connections accepted so far. */
  get connections(): number {
    return this.#nextConnection;
  }

  /** Sets (or, with undefined, clears) the fault rule. */
  setFault(rule: FaultRule | undefined): void {
    this.#rule = rule;
  }

  /** Cuts every open watch (the client sees its stream end abruptly and must reconnect). */
  dropStreams(): number {
    const streams = [...this.#streams];
    for (const s of streams) s.destroy();
    return streams.length;
  }

  /** Requests per verb, summed over resources. */
  verbCounts(filter: (key: { verb: string; resource: string }) => boolean = () => true): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, n] of this.counts) {
      const [verb = '', resource = ''] = key.split(' ');
      if (filter({ verb, resource })) out[verb] = (out[verb] ?? 0) + n;
    }
    return out;
  }

  resetCounts(): void {
    this.counts.clear();
    this.log.length = 0;
  }

  async stop(): Promise<void> {
    this.dropStreams();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#agent.destroy();
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'https://proxy');
      const parsed = parseKubePath(url.pathname);
      const record: ProxiedRequest = {
        id: this.#nextId++,
        connection: (req.socket as Socket & { proxyConnection?: number }).proxyConnection ?? -1,
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        verb: verbOf(req.method ?? 'GET', parsed, url.searchParams, req.headers['content-type']),
        parsed,
        at: performance.now(),
      };
      if (record.method === 'POST' && body.length > 0 && body.length < 1_000_000) {
        try {
          const name = (JSON.parse(body.toString('utf8')) as { metadata?: { name?: unknown } }).metadata?.name;
          if (typeof name === 'string') record.bodyName = name;
        } catch {
          // not JSON: nothing to name
        }
      }
      const countKey = `${record.verb} ${parsed.resource ?? ''}${parsed.subresource ? `/${parsed.subresource}` : ''}`;
      this.counts.set(countKey, (this.counts.get(countKey) ?? 0) + 1);
      if (this.#keepLog) this.log.push(record);

      const fault = this.#rule?.(record);
      if (fault) {
        if (fault.delayMs) setTimeout(() => this.#answerFault(record, res, fault), fault.delayMs);
        else this.#answerFault(record, res, fault);
        return;
      }
      this.#forward(req, res, record, body);
    });
  }

  #answerFault(record: ProxiedRequest, res: ServerResponse, fault: Fault): void {
    const reason = reasons[fault.status] ?? 'InternalError';
    const status = {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: fault.status, reason,
      message: fault.message ?? `injected by the fault proxy: ${fault.status}`,
      ...(fault.retryAfterSeconds !== undefined ? { details: { retryAfterSeconds: fault.retryAfterSeconds } } : {}),
    };
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (fault.retryAfterSeconds !== undefined) headers['Retry-After'] = String(fault.retryAfterSeconds);
    record.injected = true;
    record.status = fault.status;
    if (fault.retryAfterSeconds !== undefined) record.retryAfterSeconds = fault.retryAfterSeconds;
    // Taken before sending: the client cannot have the answer earlier, so a gap measured from here is never too short.
    record.answeredAt = performance.now();
    res.writeHead(fault.status, headers);
    res.end(JSON.stringify(status), () => { record.endedAt = performance.now(); });
  }

  #forward(req: IncomingMessage, res: ServerResponse, record: ProxiedRequest, body: Buffer): void {
    const headers: Record<string, string | string[] | undefined> = { ...req.headers, host: this.#upstream.host };
    delete headers.connection;
    delete headers['keep-alive'];
    if (body.length > 0 || headers['content-length'] !== undefined) headers['content-length'] = String(body.length);
    const upstream = httpsRequest({
      host: this.#upstream.hostname, port: this.#upstream.port, method: req.method, path: req.url, headers, agent: this.#agent,
    }, (up) => {
      record.status = up.statusCode ?? 0;
      record.answeredAt = performance.now();
      const h = { ...up.headers };
      delete h.connection;
      delete h['keep-alive'];
      delete h['transfer-encoding'];
      res.writeHead(up.statusCode ?? 502, h);
      const stream = record.verb === 'watch' ? { req: record, destroy: () => { up.destroy(); res.destroy(); } } : undefined;
      if (stream) this.#streams.add(stream);
      const done = (): void => {
        if (stream) this.#streams.delete(stream);
        record.endedAt ??= performance.now();
      };
      up.on('end', done);
      up.on('close', done);
      up.on('error', () => { done(); res.destroy(); });
      res.on('close', () => { done(); up.destroy(); });
      up.pipe(res);
    });
    upstream.on('error', (err) => {
      record.status = 502;
      record.answeredAt = record.endedAt = performance.now();
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' }).end(`fault proxy: upstream error: ${err.message}`);
      else res.destroy();
    });
    res.on('close', () => upstream.destroy());
    upstream.end(body);
  }
}

/** `/apis/rbac.authorization.k8s.io/v1/namespaces/a/roles/x` → group, version, namespace, resource, name, subresource. */
export function parseKubePath(path: string): ParsedPath {
  const s = path.split('/').filter(Boolean).map(decodeURIComponent);
  let rest: string[];
  let out: ParsedPath;
  if (s[0] === 'api') {
    out = { group: '', version: s[1] ?? '' };
    rest = s.slice(2);
  } else if (s[0] === 'apis') {
    out = { group: s[1] ?? '', version: s[2] ?? '' };
    rest = s.slice(3);
  } else {
    return { group: '', version: '', resource: path };
  }
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    out.namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest[0] !== undefined) out.resource = rest[0];
  if (rest[1] !== undefined) out.name = rest[1];
  if (rest[2] !== undefined) out.subresource = rest[2];
  return out;
}

export function verbOf(method: string, parsed: ParsedPath, query: URLSearchParams, contentType: string | undefined): Verb {
  const watch = query.get('watch');
  switch (method) {
    case 'GET':
      if (watch === 'true' || watch === '1') return 'watch';
      return parsed.name === undefined ? 'list' : 'get';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return contentType?.startsWith('application/apply-patch') ? 'apply' : 'patch';
    case 'DELETE':
      return parsed.name === undefined ? 'deletecollection' : 'delete';
    default:
      return 'other';
  }
}
