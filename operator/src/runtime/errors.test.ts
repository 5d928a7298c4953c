import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  ApiError,
  classifyError,
  classifyStatus,
  errorFields,
  errorSummary,
  isAlreadyExists,
  isNotFound,
  parseRetryAfter,
  type ApiErrorInfo,
} from './errors.ts';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

function status(code: number, reason: string, message: string, extra: object = {}): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message, ...extra });
}

function apiError(code: number, body: unknown, headers: Record<string, string> = {}): ApiException<unknown> {
  return new ApiException(code, 'Unknown API Status Code!', body, { 'content-type': 'application/json', ...headers });
}

function fetchFailed(code: string, message: string): TypeError {
  const cause = Object.assign(new Error(message), { code });
  return new TypeError('fetch failed', { cause });
}

describe('classifyError', () => {
  const cases: Array<[string, unknown, Partial<ApiErrorInfo>]> = [
    ['404', apiError(404, status(404, 'NotFound', 'configmaps "a" not found')),
      { kind: 'NotFound', code: 404, reason: 'NotFound', message: 'configmaps "a" not found' }],
    ['ApiError of KubeHttp', new ApiError(404, 'HTTP 404', status(404, 'NotFound', 'pods "p" not found'), {}),
      { kind: 'NotFound', code: 404, reason: 'NotFound', message: 'pods "p" not found' }],
    ['ApiError with Retry-After', new ApiError(429, 'HTTP 429', status(429, 'TooManyRequests', 'slow'), { 'retry-after': '4' }),
      { kind: 'TooManyRequests', retryAfterSeconds: 4 }],
    ['409 conflict', apiError(409, status(409, 'Conflict', 'Operation cannot be fulfilled: the object has been modified')),
      { kind: 'Conflict', code: 409, reason: 'Conflict' }],
    ['409 already exists', apiError(409, status(409, 'AlreadyExists', 'pods "p" already exists')),
      { kind: 'Conflict', reason: 'AlreadyExists' }],
    ['410 expired', apiError(410, status(410, 'Expired', 'too old resource version: 1 (200)')),
      { kind: 'Gone', code: 410, reason: 'Expired' }],
    ['422', apiError(422, status(422, 'Invalid', 'AgentRun.skillpod.io "x" is invalid: spec.task: Required value')),
      { kind: 'Invalid', code: 422, reason: 'Invalid' }],
    ['400', apiError(400, status(400, 'BadRequest', 'the server rejected our request')), { kind: 'Invalid', code: 400 }],
    ['403', apiError(403, status(403, 'Forbidden', 'pods is forbidden: User "x" cannot list resource "pods"')),
      { kind: 'Forbidden', code: 403 }],
    ['401 without body', apiError(401, undefined), { kind: 'Forbidden', code: 401, message: 'HTTP 401' }],
    ['429 with Retry-After header', apiError(429, status(429, 'TooManyRequests', 'slow down'), { 'retry-after': '7' }),
      { kind: 'TooManyRequests', code: 429, retryAfterSeconds: 7 }],
    ['429 with details.retryAfterSeconds', apiError(429, status(429, 'TooManyRequests', 'x', { details: { retryAfterSeconds: 3 } })),
      { kind: 'TooManyRequests', retryAfterSeconds: 3 }],
    ['429 with HTTP-date Retry-After', apiError(429, '', { 'Retry-After': new Date(NOW + 12_000).toUTCString() }),
      { kind: 'TooManyRequests', retryAfterSeconds: 12 }],
    ['500', apiError(500, status(500, 'InternalError', 'etcdserver: request timed out')),
      { kind: 'ServerError', code: 500, reason: 'InternalError' }],
    ['503 plain text', apiError(503, 'service unavailable\n'), { kind: 'ServerError', code: 503, message: 'service unavailable' }],
    ['504 object body', apiError(504, { code: 504, reason: 'Timeout', message: 'Timeout: request did not complete' }),
      { kind: 'ServerError', reason: 'Timeout' }],
    ['405', apiError(405, 'method not allowed'), { kind: 'Unknown', code: 405 }],
    ['Watch status error', Object.assign(new Error('Gone'), { statusCode: 410 }), { kind: 'Gone', code: 410 }],
    ['duck-typed ApiException', { code: 404, body: status(404, 'NotFound', 'gone'), headers: {} }, { kind: 'NotFound' }],
    ['ECONNREFUSED via undici', fetchFailed('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:6443'),
      { kind: 'Network', reason: 'ECONNREFUSED', message: 'fetch failed: connect ECONNREFUSED 127.0.0.1:6443' }],
    ['socket closed', Object.assign(new TypeError('terminated'), { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) }),
      { kind: 'Network', reason: 'UND_ERR_SOCKET' }],
    ['bare node error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), { kind: 'Network', reason: 'ECONNRESET' }],
    ['timeout', new DOMException('The operation was aborted due to timeout', 'TimeoutError'), { kind: 'Network', reason: 'Timeout' }],
    ['abort', new DOMException('This operation was aborted', 'AbortError'), { kind: 'Network', reason: 'Aborted' }],
    ['fetch failed without cause', new TypeError('fetch failed'), { kind: 'Network', reason: 'FetchFailed' }],
    ['programming error', new TypeError("Cannot read properties of undefined (reading 'x')"), { kind: 'Unknown' }],
    ['string', 'boom', { kind: 'Unknown', message: 'boom' }],
    ['undefined', undefined, { kind: 'Unknown' }],
  ];

  it.each(cases)('%s', (_name, err, expected) => {
    expect(classifyError(err, NOW)).toMatchObject(expected);
  });

  it('keeps messages on one bounded line', () => {
    const info = classifyError(apiError(422, status(422, 'Invalid', `a\nb ${'x'.repeat(2000)}`)));
    expect(info.message).not.toContain('\n');
    expect(info.message.length).toBeLessThanOrEqual(400);
  });
});

describe('classifyStatus', () => {
  it('reads watch ERROR objects', () => {
    expect(classifyStatus({ kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' }))
      .toEqual({ kind: 'Gone', code: 410, reason: 'Expired', message: 'too old resource version' });
    expect(classifyStatus(null)).toMatchObject({ kind: 'Unknown' });
  });
});

describe('helpers', () => {
  it('summarises in one line without the headers', () => {
    const err = apiError(409, status(409, 'AlreadyExists', 'pods "p" already exists'), { authorization: 'secret-ish' });
    expect(errorSummary(err)).toBe('Conflict 409 AlreadyExists: pods "p" already exists');
    expect(JSON.stringify(errorFields(err))).not.toContain('secret-ish');
    expect(isAlreadyExists(err)).toBe(true);
    expect(isNotFound(err)).toBe(false);
  });

  it('keeps a short stack for programming errors only', () => {
    expect(errorFields(new Error('bug')).error.stack).toBeTruthy();
    expect(errorFields(apiError(500, '')).error.stack).toBeUndefined();
  });

  it.each([
    ['5', 5],
    ['', undefined],
    ['soon', undefined],
    [new Date(NOW - 5000).toUTCString(), 0],
  ])('parseRetryAfter(%j) = %j', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });
});
