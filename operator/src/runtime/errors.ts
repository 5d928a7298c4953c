/**
 * One classifier for everything an API call can throw: `ApiError` from our own requests (`kube-http.ts`),
 * `ApiException` from client-node's generated clients (tests and tools; the same fields, so recognised by shape),
 * the status-coded errors of client-node's `Watch`, `Status` objects from watch ERROR events, and the network
 * errors of undici and node. Callers decide on the kind; nobody parses status codes elsewhere.
 */
export type ApiErrorKind =
  | 'NotFound'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'Forbidden'
  | 'TooManyRequests'
  | 'ServerError'
  | 'Network'
  | 'Unknown';

export interface ApiErrorInfo {
  kind: ApiErrorKind;
  /** HTTP status; absent for network errors and non-API errors. */
  code?: number;
  /** `Status.reason` (AlreadyExists, Expired, …) or the network error code (ECONNREFUSED, UND_ERR_SOCKET, …). */
  reason?: string;
  /** One line, bounded: safe to log. */
  message: string;
  /** From the `Retry-After` header or `Status.details.retryAfterSeconds`. */
  retryAfterSeconds?: number;
}

const MAX_MESSAGE = 400;

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * A response outside 2xx: `code` the HTTP status, `body` the response text (a `metav1.Status` as JSON, usually),
 * `headers` lower-case. The same fields as client-node's `ApiException`, without importing that package (whose
 * index loads every generated model). The message is short: the body stays out of it, so it is safe to log.
 */
export class ApiError extends Error {
  readonly code: number;
  readonly body: string;
  readonly headers: Record<string, string>;

  constructor(code: number, message: string, body: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.body = body;
    this.headers = headers;
  }
}

export function kindForStatus(code: number): ApiErrorKind {
  if (code === 404) return 'NotFound';
  if (code === 409) return 'Conflict';
  if (code === 410) return 'Gone';
  if (code === 400 || code === 422 || code === 413) return 'Invalid';
  if (code === 401 || code === 403) return 'Forbidden';
  if (code === 429) return 'TooManyRequests';
  if (code >= 500 && code <= 599) return 'ServerError';
  return 'Unknown';
}

/** Classifies a `metav1.Status` object, e.g. the object of a watch ERROR event. */
export function classifyStatus(status: unknown): ApiErrorInfo {
  const s = asStatus(status);
  const code = s?.code;
  const info: ApiErrorInfo = {
    kind: code === undefined ? 'Unknown' : kindForStatus(code),
    message: oneLine(s?.message ?? s?.reason ?? 'unknown status'),
  };
  if (code !== undefined) info.code = code;
  if (s?.reason) info.reason = s.reason;
  if (s?.retryAfterSeconds !== undefined) info.retryAfterSeconds = s.retryAfterSeconds;
  return info;
}

export function classifyError(err: unknown, now: number = Date.now()): ApiErrorInfo {
  if (err === null || err === undefined) return { kind: 'Unknown', message: String(err) };
  const code = httpCode(err);
  if (code !== undefined) return classifyHttp(err, code, now);
  const netCode = networkCode(err);
  if (netCode !== undefined) return { kind: 'Network', reason: netCode, message: oneLine(messageOf(err)) };
  return { kind: 'Unknown', message: oneLine(messageOf(err)) };
}

/** `Conflict 409 AlreadyExists: configmaps "x" already exists` — one short line for logs and events. */
export function errorSummary(errOrInfo: unknown): string {
  const info = isInfo(errOrInfo) ? errOrInfo : classifyError(errOrInfo);
  const head = [info.kind, info.code, info.reason].filter((p) => p !== undefined && p !== '').join(' ');
  return `${head}: ${info.message}`;
}

/**
 * Fields for a pino log line. Never hand client-node's ApiException to pino as `err`: its message embeds the whole
 * body and every header. Programming errors (kind Unknown) keep a few stack lines, since that is how they get fixed.
 */
export function errorFields(err: unknown): { error: ApiErrorInfo & { stack?: string } } {
  const info: ApiErrorInfo & { stack?: string } = classifyError(err);
  if (info.kind === 'Unknown' && err instanceof Error && err.stack && httpCode(err) === undefined) {
    info.stack = err.stack.split('\n').slice(1, 8).map((l) => l.trim()).join(' | ');
  }
  return { error: info };
}

export const isNotFound = (err: unknown): boolean => classifyError(err).kind === 'NotFound';
export const isConflict = (err: unknown): boolean => classifyError(err).kind === 'Conflict';
export const isGone = (err: unknown): boolean => classifyError(err).kind === 'Gone';
export const isAlreadyExists = (err: unknown): boolean => {
  const info = classifyError(err);
  return info.kind === 'Conflict' && info.reason === 'AlreadyExists';
};

// ---- internals

interface HttpLikeError {
  body?: unknown;
  headers?: Record<string, string | undefined>;
  message?: string;
}

interface StatusFields {
  code?: number;
  reason?: string;
  message?: string;
  retryAfterSeconds?: number;
}

function isInfo(v: unknown): v is ApiErrorInfo {
  return typeof v === 'object' && v !== null && 'kind' in v && 'message' in v && !(v instanceof Error);
}

function httpCode(err: unknown): number | undefined {
  if (err instanceof ApiError) return err.code;
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown; body?: unknown };
  // Duck-typed too: a second copy of client-node, or a Watch error (`statusCode`), is still an API error.
  if (typeof e.code === 'number' && e.code >= 100 && e.code <= 599 && 'body' in e) return e.code;
  if (typeof e.statusCode === 'number' && e.statusCode >= 100 && e.statusCode <= 599) return e.statusCode;
  return undefined;
}

function classifyHttp(err: unknown, code: number, now: number): ApiErrorInfo {
  const e = err as HttpLikeError;
  const status = asStatus(parseBody(e.body));
  const info: ApiErrorInfo = { kind: kindForStatus(code), code, message: '' };
  if (status?.reason) info.reason = status.reason;
  info.message = oneLine(status?.message ?? bodyText(e.body) ?? `HTTP ${code}`);
  const retryAfter = parseRetryAfter(header(e.headers, 'retry-after'), now) ?? status?.retryAfterSeconds;
  if (retryAfter !== undefined) info.retryAfterSeconds = retryAfter;
  return info;
}

function header(headers: Record<string, string | undefined> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

function parseBody(body: unknown): unknown {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (Buffer.isBuffer(body)) return parseBody(body.toString('utf8'));
  return body;
}

function bodyText(body: unknown): string | undefined {
  if (typeof body === 'string' && body.trim() !== '') return body;
  if (Buffer.isBuffer(body) && body.length > 0) return body.toString('utf8');
  return undefined;
}

function asStatus(v: unknown): StatusFields | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as { code?: unknown; reason?: unknown; message?: unknown; details?: { retryAfterSeconds?: unknown } };
  const s: StatusFields = {};
  if (typeof o.code === 'number') s.code = o.code;
  if (typeof o.reason === 'string' && o.reason !== '') s.reason = o.reason;
  if (typeof o.message === 'string' && o.message !== '') s.message = o.message;
  const ra = o.details?.retryAfterSeconds;
  if (typeof ra === 'number' && ra > 0) s.retryAfterSeconds = ra;
  return s;
}

/** Walks the `cause` chain (undici wraps socket errors in `TypeError: fetch failed`). */
function networkCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 6 && typeof cur === 'object' && cur !== null; depth++) {
    const e = cur as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
    if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || e.code.startsWith('UND_ERR_'))) return e.code;
    if (e.name === 'TimeoutError') return 'Timeout';
    if (e.name === 'AbortError') return 'Aborted';
    if (e.name === 'TypeError' && (e.message === 'fetch failed' || e.message === 'terminated') && e.cause === undefined) {
      return 'FetchFailed';
    }
    cur = e.cause;
  }
  return undefined;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error && cause.message && cause.message !== err.message ? `${err.message}: ${cause.message}` : err.message;
  }
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_MESSAGE ? `${flat.slice(0, MAX_MESSAGE - 1)}…` : flat;
}
