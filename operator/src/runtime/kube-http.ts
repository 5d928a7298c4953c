import {
  ApiException,
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  RequestContext,
  type KubeConfig,
  type ResponseContext,
} from '@kubernetes/client-node';

/**
 * Raw JSON requests to the API server with the kubeconfig's credentials, through client-node's own HTTP stack
 * (its undici, its TLS and auth handling). Used where the generated clients get in the way:
 * - lists and watches of any resource path, with JSON left as JSON (the generated clients turn timestamps of
 *   built-in kinds into Date objects, so a cache fed from both would mix types);
 * - Leases, whose MicroTime fields the generated serializer does not round-trip.
 * Errors are `ApiException`s like those of the generated clients, so one classifier handles both.
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

export interface KubeStream {
  body: ReadableStream<Uint8Array>;
  /** Ends the stream and drops its connection. */
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 60_000;

export class KubeHttp {
  readonly #kc: KubeConfig;
  readonly #http = new IsomorphicFetchHttpLibrary();
  readonly #defaultTimeoutMs: number;

  constructor(kubeConfig: KubeConfig, options: { defaultTimeoutMs?: number } = {}) {
    this.#kc = kubeConfig;
    this.#defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  get kubeConfig(): KubeConfig {
    return this.#kc;
  }

  /** Sends a request and returns the parsed JSON body; throws `ApiException` on any status outside 2xx. */
  async request<T = unknown>(req: KubeRequest): Promise<T> {
    const signals = [AbortSignal.timeout(req.timeoutMs ?? this.#defaultTimeoutMs)];
    if (req.signal) signals.push(req.signal);
    const ctx = await this.#context(req, AbortSignal.any(signals));
    try {
      const res = await this.#http.send(ctx).toPromise();
      const text = await res.body.text();
      if (res.httpStatusCode < 200 || res.httpStatusCode > 299) throw apiException(res, text);
      return (text === '' ? undefined : JSON.parse(text)) as T;
    } finally {
      closeDispatcher(ctx);
    }
  }

  /** Opens a streaming GET (a watch). Throws `ApiException` if the status is not 200. */
  async stream(req: KubeRequest): Promise<KubeStream> {
    const abort = new AbortController();
    const connectTimeout = AbortSignal.timeout(req.timeoutMs ?? this.#defaultTimeoutMs);
    const signals = [abort.signal];
    if (req.signal) signals.push(req.signal);
    const ctx = await this.#context(req, AbortSignal.any(signals));
    const onConnectTimeout = (): void => abort.abort(connectTimeout.reason);
    connectTimeout.addEventListener('abort', onConnectTimeout, { once: true });
    const close = (): void => {
      abort.abort(new Error('stream closed'));
      closeDispatcher(ctx, true);
    };
    try {
      const res = await this.#http.send(ctx).toPromise();
      connectTimeout.removeEventListener('abort', onConnectTimeout);
      if (res.httpStatusCode !== 200) throw apiException(res, await res.body.text());
      const body = res.body.stream();
      if (!body) throw new Error(`empty response body from ${req.path}`);
      return { body, close };
    } catch (err) {
      connectTimeout.removeEventListener('abort', onConnectTimeout);
      close();
      throw err;
    }
  }

  async #context(req: KubeRequest, signal: AbortSignal): Promise<RequestContext> {
    const cluster = this.#kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/+$/, '') + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const ctx = new RequestContext(url.toString(), HttpMethod[req.method ?? 'GET']);
    ctx.setHeaderParam('Accept', 'application/json');
    if (req.body !== undefined) {
      ctx.setHeaderParam('Content-Type', req.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(req.body));
    }
    await this.#kc.applySecurityAuthentication(ctx);
    ctx.setSignal(signal);
    return ctx;
  }
}

function apiException(res: ResponseContext, text: string): ApiException<string> {
  return new ApiException(res.httpStatusCode, `HTTP ${res.httpStatusCode}`, text, res.headers);
}

/**
 * client-node makes a new undici Agent for every request (see applySecurityAuthentication). Closing it once the
 * response is read frees its socket now instead of after the keep-alive timeout; `destroy` also cuts a stream.
 */
function closeDispatcher(ctx: RequestContext, destroy = false): void {
  const d = ctx.getDispatcher();
  if (!d) return;
  const p = destroy ? d.destroy() : d.close();
  p.catch(() => undefined);
}
