import {
  ApiException,
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  RequestContext,
  type KubeConfig,
  type ResponseContext,
} from '@kubernetes/client-node';
import { getGlobalDispatcher, type Dispatcher as UndiciDispatcher } from 'undici';
import type { RateLimiter } from './rate-limit.ts';

/**
 * Raw JSON requests to the API server with the kubeconfig's credentials, with client-node's TLS and auth handling
 * on its undici. Used where the generated clients get in the way:
 * - lists and watches of any resource path, with JSON left as JSON (the generated clients turn timestamps of
 *   built-in kinds into Date objects, so a cache fed from both would mix types);
 * - Leases, whose MicroTime fields the generated serializer does not round-trip.
 * Errors are `ApiException`s like those of the generated clients, so one classifier handles both.
 *
 * With a rate limiter (`--api-qps`), every `request` first waits for a token, as client-go's `Request.Do` does;
 * watches (`stream`) do not, as client-go's `Request.Watch` does not ("we specifically don't want to rate limit
 * watches"): a watch is one long request, and one queued behind a backlog of writes would leave a cache stale for
 * as long as the backlog lasts. The relist after a broken watch is a `request`, and waits like any other.
 */

export type QueryValue = string | number | boolean | undefined;

export interface KubeRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the server URL, e.g. `/api/v1/namespaces/a/configmaps`. */
  path: string;
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  body?: unknown;
  /** Default `application/json`; e.g. `application/merge-patch+json` for a merge patch. */
  contentType?: string;
  signal?: AbortSignal;
  /** Whole-request deadline for `request`; for `stream` only until the response headers arrive. */
  timeoutMs?: number;
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
  body: ReadableStream<Uint8Array>;
  /** Ends the stream and drops its connection. */
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** How long one shared dispatcher (its keep-alive connections) serves before a fresh one picks up rotated files. */
const DISPATCHER_MAX_AGE_MS = 5 * 60_000;
/** Idle keep-alive connections stay this long (undici's default, 4 s, closes and reopens them between bursts). */
const KEEP_ALIVE_MS = 30_000;
/** How long the authentication headers client-node computed serve requests before they are computed again. */
const AUTH_MAX_AGE_MS = 10_000;

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

export class KubeHttp {
  readonly #kc: KubeConfig;
  readonly #http = new IsomorphicFetchHttpLibrary();
  readonly #defaultTimeoutMs: number;
  readonly #rateLimiter: RateLimiter | undefined;
  readonly #hooks: KubeHttpHooks;
  /** A promise, so that requests made at once while it is being made all wait for the same one. */
  #shared: { key: string; dispatcher: Promise<Dispatcher>; created: number } | undefined;
  /** Likewise, the authentication of the last AUTH_MAX_AGE_MS. */
  #auth: { key: string; value: Promise<Authentication>; created: number } | undefined;

  constructor(kubeConfig: KubeConfig, options: KubeHttpOptions = {}) {
    this.#kc = kubeConfig;
    this.#defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#rateLimiter = options.rateLimiter;
    this.#hooks = options.hooks ?? {};
  }

  get kubeConfig(): KubeConfig {
    return this.#kc;
  }

  /**
   * Sends a request and returns the parsed JSON body; throws `ApiException` on any status outside 2xx. Goes by
   * undici's `Dispatcher.request` on the shared keep-alive dispatcher, not by fetch: fetch's WHATWG streams and
   * per-request Agent cost more CPU than the request itself (docs/benchmarks.md).
   */
  async request<T = unknown>(req: KubeRequest): Promise<T> {
    // Before the deadline starts: time spent waiting for a token is the client's own queue, not the server's
    // slowness (client-go throttles before it sets up the request timeout, for the same reason).
    await this.#throttle(req);
    const signals = [AbortSignal.timeout(req.timeoutMs ?? this.#defaultTimeoutMs)];
    if (req.signal) signals.push(req.signal);
    const url = this.#url(req);
    const signal = AbortSignal.any(signals);
    let auth = await this.#authentication();
    const read = (r: UndiciDispatcher.ResponseData) => (r.statusCode === 401 && auth.reused ? r.body.dump().then(() => undefined) : r.body.text());
    let { res, value: text } = await this.#attempt(url, req, auth, signal, read);
    if (res.statusCode === 401 && auth.reused) {
      // Credentials kept past their expiry (an exec plugin's token, say): computed anew and tried once more, as
      // client-go's exec authenticator refreshes on a 401.
      this.#forgetAuthentication(auth);
      auth = await this.#authentication();
      ({ res, value: text } = await this.#attempt(url, req, auth, signal, (r) => r.body.text()));
    }
    text ??= '';
    if (res.statusCode < 200 || res.statusCode > 299) throw new ApiException(res.statusCode, `HTTP ${res.statusCode}`, text, flatHeaders(res.headers));
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  async #send(url: URL, req: KubeRequest, auth: Authentication, signal: AbortSignal): Promise<UndiciDispatcher.ResponseData> {
    const dispatcher = auth.dispatcher ? await this.#share(auth.dispatcher) : getGlobalDispatcher();
    const headers: Record<string, string> = { ...auth.headers, accept: 'application/json' };
    if (req.body !== undefined) headers['content-type'] = req.contentType ?? 'application/json';
    return await dispatcher.request({
      origin: url.origin, path: url.pathname + url.search, method: req.method ?? 'GET', headers,
      ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
      signal,
    });
  }

  /** One attempt, observed (status code and latency, the body read or dropped by `consume`) as client-go does. */
  async #attempt<R>(url: URL, req: KubeRequest, auth: Authentication, signal: AbortSignal,
    consume: (res: UndiciDispatcher.ResponseData) => Promise<R>): Promise<{ res: UndiciDispatcher.ResponseData; value: R }> {
    const started = performance.now();
    const observe = (code: string) => this.#hooks.requested?.({ method: req.method ?? 'GET', code, host: url.host, seconds: (performance.now() - started) / 1000 });
    let res: UndiciDispatcher.ResponseData;
    try {
      res = await this.#send(url, req, auth, signal);
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

  /**
   * Opens a streaming GET (a watch). Throws `ApiException` if the status is not 200. Never waits for the rate
   * limiter (see above).
   */
  async stream(req: KubeRequest): Promise<KubeStream> {
    const abort = new AbortController();
    const connectTimeout = AbortSignal.timeout(req.timeoutMs ?? this.#defaultTimeoutMs);
    const signals = [abort.signal];
    if (req.signal) signals.push(req.signal);
    const { ctx, auth } = await this.#context(req, AbortSignal.any(signals));
    const onConnectTimeout = (): void => abort.abort(connectTimeout.reason);
    connectTimeout.addEventListener('abort', onConnectTimeout, { once: true });
    // Aborting drops the stream's connection (a half-read response cannot go back to the pool).
    const close = (): void => abort.abort(new Error('stream closed'));
    try {
      let res: ResponseContext;
      try {
        res = await this.#http.send(ctx).toPromise();
      } catch (err) {
        this.#hooks.requested?.({ method: req.method ?? 'GET', code: '<error>', host: this.#url(req).host });
        throw err;
      }
      this.#hooks.requested?.({ method: req.method ?? 'GET', code: String(res.httpStatusCode), host: this.#url(req).host });
      connectTimeout.removeEventListener('abort', onConnectTimeout);
      if (res.httpStatusCode !== 200) {
        // The watch is retried by its informer: with credentials computed anew if these were refused.
        if (res.httpStatusCode === 401) this.#forgetAuthentication(auth);
        throw apiException(res, await res.body.text());
      }
      const body = res.body.stream();
      if (!body) throw new Error(`empty response body from ${req.path}`);
      return { body, close };
    } catch (err) {
      connectTimeout.removeEventListener('abort', onConnectTimeout);
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

  #url(req: KubeRequest): URL {
    const cluster = this.#kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/+$/, '') + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  /** client-node's request context for its fetch (watches), with the same authentication and shared dispatcher. */
  async #context(req: KubeRequest, signal: AbortSignal): Promise<{ ctx: RequestContext; auth: UsedAuthentication }> {
    const ctx = new RequestContext(this.#url(req).toString(), HttpMethod[req.method ?? 'GET']);
    const auth = await this.#authentication();
    for (const [name, value] of Object.entries(auth.headers)) ctx.setHeaderParam(name, value);
    ctx.setHeaderParam('Accept', 'application/json');
    if (req.body !== undefined) {
      ctx.setHeaderParam('Content-Type', req.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(req.body));
    }
    if (auth.dispatcher) ctx.setDispatcher(await this.#share(auth.dispatcher));
    ctx.setSignal(signal);
    return { ctx, auth };
  }

  /**
   * The headers that authenticate a request (bearer token from the kubeconfig, a token file or an exec plugin,
   * basic auth, impersonation), as client-node's `applySecurityAuthentication` computes them, and the dispatcher
   * it would use. client-node computes them anew for every request: it reads the CA, certificate and key files
   * synchronously and builds a new undici Agent each time. Kept AUTH_MAX_AGE_MS instead, as client-go keeps a
   * token file's contents for a minute: tokens are rotated long before they expire (the kubelet at 80% of their
   * life), and a changed kubeconfig context or user is seen at once.
   */
  async #authentication(): Promise<UsedAuthentication> {
    const key = JSON.stringify([this.#kc.getCurrentCluster(), this.#kc.getCurrentUser()]);
    const now = Date.now();
    const cached = this.#auth;
    if (cached && cached.key === key && now - cached.created < AUTH_MAX_AGE_MS) {
      return { ...(await cached.value), reused: true, source: cached.value };
    }
    const value = (async (): Promise<Authentication> => {
      const ctx = new RequestContext(this.#kc.getCurrentCluster()?.server ?? '', HttpMethod.GET);
      await this.#kc.applySecurityAuthentication(ctx);
      const dispatcher = ctx.getDispatcher();
      return { headers: ctx.getHeaders(), ...(dispatcher ? { dispatcher } : {}) };
    })();
    this.#auth = { key, value, created: now };
    // A failure (a token file unreadable, say) fails the requests waiting for it and is not remembered.
    value.catch(() => { if (this.#auth?.value === value) this.#auth = undefined; });
    return { ...(await value), reused: false, source: value };
  }

  /** Drops the kept authentication if it is still the one `used` came from (a request beside it may have renewed it). */
  #forgetAuthentication(used: UsedAuthentication): void {
    if (this.#auth?.value === used.source) this.#auth = undefined;
  }

  /**
   * client-node makes a new undici Agent for every request (applySecurityAuthentication), so every request would
   * pay a TCP and TLS handshake: at a thousand runs that was most of the operator's CPU. Instead one Agent serves
   * every request (keep-alive, one pool per server) while the kubeconfig's cluster and user stay the same; after
   * DISPATCHER_MAX_AGE_MS a new one takes over, so certificate files rewritten in place are read again. The Agent
   * client-node made (`fresh`) only tells which kind to make, and is never used.
   */
  async #share(fresh: Dispatcher): Promise<Dispatcher> {
    const key = JSON.stringify([this.#kc.getCurrentCluster(), this.#kc.getCurrentUser()]);
    const now = Date.now();
    let shared = this.#shared;
    if (!shared || shared.key !== key || now - shared.created >= DISPATCHER_MAX_AGE_MS) {
      // The old one finishes what runs on it (open watches included) and takes nothing new.
      void shared?.dispatcher.then((d) => d.close()).catch(() => undefined);
      const dispatcher = this.#keepAliveDispatcher(fresh);
      shared = this.#shared = { key, dispatcher, created: now };
      // A failure (a certificate file unreadable, say) fails this request and is not remembered.
      dispatcher.catch(() => { if (this.#shared?.dispatcher === dispatcher) this.#shared = undefined; });
    }
    // `fresh` never connected: it holds nothing, and closing it would only cost an error object. Left to the GC.
    return await shared.dispatcher;
  }

  /**
   * The same Agent client-node would make (its class, its TLS options from the public createDispatcherOptions),
   * with a longer keep-alive. For an HTTP or SOCKS proxy, client-node's own dispatcher as it is.
   */
  async #keepAliveDispatcher(fresh: Dispatcher): Promise<Dispatcher> {
    const tls: { ca?: unknown; cert?: unknown; key?: unknown; pfx?: unknown; passphrase?: string; rejectUnauthorized?: boolean; servername?: string } = {};
    await this.#kc.applyToHTTPSOptions(tls as Parameters<KubeConfig['applyToHTTPSOptions']>[0]);
    const agentOptions = Object.fromEntries(['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername']
      .flatMap((k) => (tls[k as keyof typeof tls] !== undefined ? [[k, tls[k as keyof typeof tls]]] : [])));
    const options = this.#kc.createDispatcherOptions(this.#kc.getCurrentCluster(), agentOptions);
    if (options.type !== 'agent') return fresh;
    const Agent = fresh.constructor as new (o: { connect: unknown; keepAliveTimeout: number; allowH2: boolean }) => Dispatcher;
    // HTTP/1.1 as client-node's own Agent speaks: undici's HTTP/2 client let a socket closed by a stopping API
    // server escape as an unhandled error.
    return new Agent({ connect: options.connect, keepAliveTimeout: KEEP_ALIVE_MS, allowH2: false });
  }

  /** Closes the shared connections (the process stays up otherwise while keep-alive sockets idle). */
  async close(): Promise<void> {
    const shared = this.#shared;
    this.#shared = undefined;
    await shared?.dispatcher.then((d) => d.destroy()).catch(() => undefined);
  }
}

interface Authentication {
  headers: Record<string, string>;
  dispatcher?: Dispatcher;
}

interface UsedAuthentication extends Authentication {
  /** Taken from what an earlier request computed, rather than computed for this one. */
  reused: boolean;
  source: Promise<Authentication>;
}

/** undici's response headers (a repeated header is an array) as ApiException wants them. */
function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
  return flat;
}

function apiException(res: ResponseContext, text: string): ApiException<string> {
  return new ApiException(res.httpStatusCode, `HTTP ${res.httpStatusCode}`, text, res.headers);
}
