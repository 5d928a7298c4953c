import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { KubeConfig, type User } from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, classifyError } from './errors.ts';
import { KubeHttp } from './kube-http.ts';
import { KubeConfigData, type KubeCluster, type KubeUser } from './kubeconfig.ts';
import type { RateLimiter } from './rate-limit.ts';
import { selfSignedCertificate } from './self-signed.ts';

/** A rate limiter the test opens by hand: every `wait` is held until `release()`. */
class GateLimiter implements RateLimiter {
  readonly waits: Array<{ release: () => void; signal: AbortSignal | undefined }> = [];
  wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise((resolve, reject) => {
      signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      this.waits.push({ release: resolve, signal });
    });
  }
}

// A plain HTTP server on loopback stands in for the API server: what is tested is when KubeHttp sends, not what
// the server answers.
let server: Server | undefined;
let http: KubeHttp | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await http?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = http = undefined;
});

/** Starts the stand-in API server; returns a kubeconfig for it with one context per user (`as-<name>`), the first current. */
async function listen(handler: RequestListener, users: User[] = [{ name: 'u' }]): Promise<KubeConfig> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users,
    contexts: users.map((user) => ({ name: `as-${user.name}`, cluster: 'c', user: user.name })),
    currentContext: `as-${users[0]!.name}`,
  });
  return kc;
}

describe('KubeHttp with a rate limiter', () => {

  async function start(limiter: RateLimiter, observed: Array<[string, number]> = []): Promise<{ received: string[] }> {
    const received: string[] = [];
    const kc = await listen((req, res) => {
      received.push(`${req.method} ${req.url}`);
      if (req.url?.includes('watch=true')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('{"type":"BOOKMARK","object":{}}\n');
        return; // left open, as a watch
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"kind":"Status"}');
    });
    http = new KubeHttp(kc, { rateLimiter: limiter, hooks: { rateLimited: (verb, s) => observed.push([verb, s]) } });
    return { received };
  }

  it('sends a request only once it has a token, and the wait does not count against its timeout', async () => {
    const limiter = new GateLimiter();
    const observed: Array<[string, number]> = [];
    const { received } = await start(limiter, observed);
    const answer = http!.request({ method: 'POST', path: '/api/v1/namespaces/a/configmaps', body: {}, timeoutMs: 100 });
    await new Promise((r) => setTimeout(r, 300));
    expect(received).toEqual([]);
    expect(limiter.waits).toHaveLength(1);
    limiter.waits[0]!.release();
    await expect(answer).resolves.toEqual({ kind: 'Status' });
    expect(received).toEqual(['POST /api/v1/namespaces/a/configmaps']);
    expect(observed).toHaveLength(1);
    expect(observed[0]![0]).toBe('POST');
    expect(observed[0]![1]).toBeGreaterThanOrEqual(0.25);
  });

  it('rejects, sending nothing, when the signal aborts while it waits', async () => {
    const limiter = new GateLimiter();
    const { received } = await start(limiter);
    const abort = new AbortController();
    const answer = http!.request({ path: '/api/v1/pods', signal: abort.signal });
    await new Promise((r) => setTimeout(r, 20));
    const reason = new Error('stopping');
    abort.abort(reason);
    await expect(answer).rejects.toBe(reason);
    await expect(http!.request({ path: '/api/v1/pods', signal: abort.signal })).rejects.toBe(reason);
    expect(received).toEqual([]);
  });

  it('opens watches without waiting for a token (as client-go)', async () => {
    const limiter = new GateLimiter();
    const { received } = await start(limiter);
    const stream = await http!.stream({ path: '/api/v1/pods', query: { watch: true } });
    stream.close();
    expect(received).toEqual(['GET /api/v1/pods?watch=true']);
    expect(limiter.waits).toEqual([]);
  });
});

describe('KubeHttp authentication', () => {

  it('sends the current user\'s token, the body and the query; a switch of user is seen at the next request', async () => {
    const seen: Array<{ auth?: string; method?: string; url?: string; type?: string; body: string }> = [];
    const kc = await listen((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ auth: req.headers.authorization, method: req.method, url: req.url, type: req.headers['content-type'], body });
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
      });
    }, [{ name: 'a', token: 'token-a' }, { name: 'b', token: 'token-b' }]);
    http = new KubeHttp(kc);
    expect(await http.request({ method: 'PATCH', path: '/x', query: { fieldManager: 'm', skip: undefined }, body: { a: 1 }, contentType: 'application/merge-patch+json' })).toEqual({ ok: true });
    await http.request({ path: '/y' });
    kc.setCurrentContext('as-b');
    await http.request({ path: '/z' });
    expect(seen).toEqual([
      { auth: 'Bearer token-a', method: 'PATCH', url: '/x?fieldManager=m', type: 'application/merge-patch+json', body: '{"a":1}' },
      { auth: 'Bearer token-a', method: 'GET', url: '/y', type: undefined, body: '' },
      { auth: 'Bearer token-b', method: 'GET', url: '/z', type: undefined, body: '' },
    ]);
  });

  it('encodes the query, drops an answer it was told to discard, and still says a failure with its body', async () => {
    const urls: string[] = [];
    const kc = await listen((req, res) => {
      urls.push(req.url ?? '');
      if (req.url?.startsWith('/fail')) res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"kind":"Status","reason":"NotFound","code":404}');
      else res.writeHead(200, { 'Content-Type': 'application/json' }).end(`{"big":"${'x'.repeat(100_000)}"}`);
    });
    http = new KubeHttp(kc);
    expect(await http.request({ path: '/ok', query: { labelSelector: 'a=b,c in (d e)', n: 1 }, discardBody: true })).toBeUndefined();
    expect((await http.request<{ big: string }>({ path: '/ok' })).big).toHaveLength(100_000);
    const failed = await http.request({ path: '/fail', discardBody: true }).then(() => undefined, (err: unknown) => err as ApiError);
    expect(failed).toBeInstanceOf(ApiError);
    expect([failed?.code, failed?.body]).toEqual([404, '{"kind":"Status","reason":"NotFound","code":404}']);
    expect(urls[0]).toBe('/ok?labelSelector=a%3Db%2Cc%20in%20(d%20e)&n=1');
  });

  it('throws the API server\'s status as an ApiError with its headers', async () => {
    const kc = await listen((_req, res) => {
      res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '3' })
        .end('{"kind":"Status","code":429,"reason":"TooManyRequests","message":"slow down"}');
    });
    http = new KubeHttp(kc);
    const err = await http.request({ path: '/busy' }).catch((e: unknown) => e) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.message).toBe('HTTP 429');
    expect(err.code).toBe(429);
    expect(err.headers['retry-after']).toBe('3');
    expect(JSON.parse(err.body)).toMatchObject({ reason: 'TooManyRequests' });
  });
});

describe('KubeHttp with an exec credential plugin', () => {

  it('computes refused credentials anew and retries once when a token it kept has expired', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-http-exec-'));
    try {
      // The plugin prints the token in `token` with an expiry one second ahead; the server takes only `accepted`.
      const tokenFile = join(dir, 'token');
      writeFileSync(tokenFile, 'first');
      const plugin = join(dir, 'plugin.sh');
      writeFileSync(plugin, `#!/bin/sh
exp=$(date -u -d '+1 second' +%Y-%m-%dT%H:%M:%SZ)
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}' "$(cat ${tokenFile})" "$exp"
`, { mode: 0o755 });
      let accepted = 'first';
      const seen: string[] = [];
      const kc = await listen((req, res) => {
        seen.push(req.headers.authorization ?? '');
        const ok = req.headers.authorization === `Bearer ${accepted}`;
        res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' }).end(ok ? '{"ok":true}' : '{"kind":"Status","code":401}');
      }, [{ name: 'u', exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' } }]);
      http = new KubeHttp(kc);
      expect(await http.request({ path: '/a' })).toEqual({ ok: true });
      // The token rotates and the old one expires, while KubeHttp still keeps the headers it computed.
      writeFileSync(tokenFile, 'second');
      accepted = 'second';
      await new Promise((r) => setTimeout(r, 2_100));
      expect(await http.request({ path: '/b' })).toEqual({ ok: true });
      expect(seen).toEqual(['Bearer first', 'Bearer first', 'Bearer second']);
      // A token the server refuses outright is refused once more, not retried without end.
      accepted = 'nobody';
      await expect(http.request({ path: '/c' })).rejects.toMatchObject({ code: 401 });
      expect(seen).toHaveLength(5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A turn of the event loop: a connection goes back to the pool just after its response ends. */
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** One config of one cluster and one user, in runtime's own kubeconfig type. */
function config(cluster: KubeCluster, user: KubeUser = {}): KubeConfigData {
  return new KubeConfigData({
    clusters: new Map([['c', { name: 'c', ...cluster }]]), users: new Map([['u', { name: 'u', ...user }]]),
    contexts: new Map([['x', { name: 'x', cluster: 'c', user: 'u' }]]), currentContext: 'x',
  });
}

describe('KubeHttp on one Agent of its own', () => {
  const tlsDir = mkdtempSync(join(tmpdir(), 'kube-http-tls-'));
  const serving = selfSignedCertificate(['127.0.0.1']);

  /** An HTTPS server asking for (not requiring) a client certificate; counts connections, records what came. */
  async function tlsServer(handler?: RequestListener) {
    const seen: Array<{ url?: string; auth?: string; client?: string }> = [];
    let connections = 0;
    const s = createTlsServer({ cert: serving.cert, key: serving.key, requestCert: true, rejectUnauthorized: false }, handler ?? ((req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      seen.push({ url: req.url, auth: req.headers.authorization, client: peer?.fingerprint256 });
      if (req.url?.includes('watch=true')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"1"}}}\n');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    }));
    s.on('secureConnection', () => connections++);
    server = s;
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    return { url: `https://127.0.0.1:${(s.address() as AddressInfo).port}`, seen, connections: () => connections };
  }

  it('trusts the kubeconfig\'s CA (data or file), refuses an unknown server, or skips verification when told', async () => {
    const { url } = await tlsServer();
    const caFile = join(tlsDir, 'ca.crt');
    writeFileSync(caFile, serving.cert);
    for (const cluster of [{ server: url, caData: Buffer.from(serving.cert).toString('base64') }, { server: url, caFile }, { server: url, skipTLSVerify: true }]) {
      const client = new KubeHttp(config(cluster));
      await expect(client.request({ path: '/version' })).resolves.toEqual({});
      await client.close();
    }
    http = new KubeHttp(config({ server: url }));
    const refused = await http.request({ path: '/version' }).catch((e: unknown) => e) as { code?: string };
    expect(refused.code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
  });

  it('serves requests and watches over the same keep-alive connection, and presents the client certificate', async () => {
    const { url, seen, connections } = await tlsServer();
    const client = selfSignedCertificate(['client']);
    http = new KubeHttp(config({ server: url, skipTLSVerify: true },
      { certData: Buffer.from(client.cert).toString('base64'), keyData: Buffer.from(client.key).toString('base64'), token: 't' }));
    await http.request({ path: '/api/v1/pods' });
    await tick();
    const watch = await http.stream({ path: '/api/v1/pods', query: { watch: true } });
    const first = await watch.body[Symbol.asyncIterator]().next();
    expect(Buffer.from(first.value as Uint8Array).toString()).toContain('BOOKMARK');
    expect(connections()).toBe(1);
    watch.close();
    // A closed watch drops its connection: the next request opens another.
    await http.request({ path: '/api/v1/pods' });
    expect(connections()).toBe(2);
    expect(seen.map((r) => r.auth)).toEqual(['Bearer t', 'Bearer t', 'Bearer t']);
    expect(new Set(seen.map((r) => r.client)).size).toBe(1);
    expect(seen[0]!.client).toMatch(/^[0-9A-F:]+$/);
  });

  it('reads a token file again as it rotates, and takes a new connection when a certificate file changes', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { url, seen, connections } = await tlsServer();
    const tokenFile = join(tlsDir, 'token');
    const certFile = join(tlsDir, 'client.crt');
    const keyFile = join(tlsDir, 'client.key');
    const first = selfSignedCertificate(['client-1']);
    writeFileSync(tokenFile, 'one\n');
    writeFileSync(certFile, first.cert);
    writeFileSync(keyFile, first.key);
    http = new KubeHttp(config({ server: url, skipTLSVerify: true }, { tokenFile, certFile, keyFile }));
    await http.request({ path: '/a' });
    writeFileSync(tokenFile, 'two\n');
    await tick();
    await http.request({ path: '/b' }); // within 10 s: what was read still serves
    vi.setSystemTime(Date.now() + 11_000);
    await tick();
    await http.request({ path: '/c' });
    expect(seen.map((r) => r.auth)).toEqual(['Bearer one', 'Bearer one', 'Bearer two']);
    expect(connections()).toBe(1);
    const second = selfSignedCertificate(['client-2']);
    writeFileSync(certFile, second.cert);
    writeFileSync(keyFile, second.key);
    vi.setSystemTime(Date.now() + 11_000);
    await http.request({ path: '/d' });
    expect(connections()).toBe(2);
    expect(seen[3]!.client).not.toBe(seen[2]!.client);
  });

  it('counts every request and watch by method, code and host; a refused watch is an ApiError', async () => {
    const { url } = await tlsServer((req, res) => {
      res.writeHead(req.url?.startsWith('/missing') ? 404 : 200, { 'Content-Type': 'application/json' }).end('{"kind":"Status","code":404,"reason":"NotFound"}');
    });
    const counted: Array<{ method: string; code: string; host: string; seconds?: number }> = [];
    http = new KubeHttp(config({ server: url, skipTLSVerify: true }), { hooks: { requested: (r) => counted.push(r) } });
    await http.request({ method: 'POST', path: '/x', body: {} });
    await expect(http.request({ path: '/missing' })).rejects.toMatchObject({ code: 404 });
    await expect(http.stream({ path: '/missing', query: { watch: true } })).rejects.toBeInstanceOf(ApiError);
    const host = new URL(url).host;
    expect(counted.map(({ seconds, ...r }) => ({ ...r, timed: seconds !== undefined }))).toEqual([
      { method: 'POST', code: '200', host, timed: true }, { method: 'GET', code: '404', host, timed: true }, { method: 'GET', code: '404', host, timed: false },
    ]);
    const dead = new KubeHttp(config({ server: 'https://127.0.0.1:1', skipTLSVerify: true }), { hooks: { requested: (r) => counted.push(r) } });
    await expect(dead.request({ path: '/x' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await dead.close();
    expect(counted.at(-1)).toMatchObject({ code: '<error>', host: '127.0.0.1:1' });
  });
});

describe('KubeHttp failures, as the classifier reads them', () => {

  it('times a request out with a TimeoutError, and a stream only until its response head', async () => {
    const kc = await listen((req, res) => {
      if (req.url?.startsWith('/slow-head')) return; // never answers
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"type":"BOOKMARK"'); // a head, then a body that never ends
    });
    http = new KubeHttp(kc);
    const started = performance.now();
    const err = await http.request({ path: '/slow-head', timeoutMs: 200 }).catch((e: unknown) => e);
    expect(classifyError(err)).toMatchObject({ kind: 'Network', reason: 'Timeout' });
    expect(performance.now() - started).toBeLessThan(2000);
    await expect(http.request({ path: '/slow-body', timeoutMs: 200 })).rejects.toMatchObject({ name: 'TimeoutError' });
    await expect(http.stream({ path: '/slow-head', timeoutMs: 200 })).rejects.toMatchObject({ name: 'TimeoutError' });
    const watch = await http.stream({ path: '/slow-body', timeoutMs: 200 });
    await new Promise((r) => setTimeout(r, 400)); // past the head timeout: the stream stays open
    const reading = (async () => { for await (const chunk of watch.body) void chunk; })();
    watch.close();
    await expect(reading).rejects.toBeDefined();
  });

  it('says a connection refused or broken mid-response as a network error', async () => {
    const kc = await listen((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    http = new KubeHttp(kc);
    expect(classifyError(await http.request({ path: '/x' }).catch((e: unknown) => e))).toMatchObject({ kind: 'Network', reason: 'ECONNRESET' });
    const dead = new KubeHttp(config({ server: 'http://127.0.0.1:1' }));
    expect(classifyError(await dead.request({ path: '/x' }).catch((e: unknown) => e))).toMatchObject({ kind: 'Network', reason: 'ECONNREFUSED' });
    await dead.close();
  });
});

describe('KubeHttp through the kubeconfig\'s proxy-url', () => {
  it('tunnels to an https server through an http proxy (CONNECT), and refuses a socks proxy', async () => {
    const serving = selfSignedCertificate(['127.0.0.1']);
    const target = createTlsServer({ cert: serving.cert, key: serving.key }, (_req, res) => { res.writeHead(200).end('{"via":"tunnel"}'); });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const tunnels: string[] = [];
    const proxy = createServer();
    proxy.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client).pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    server = proxy;
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const targetUrl = `https://127.0.0.1:${(target.address() as AddressInfo).port}`;
    try {
      http = new KubeHttp(config({ server: targetUrl, caData: Buffer.from(serving.cert).toString('base64'),
        proxyUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` }));
      await expect(http.request({ path: '/version' })).resolves.toEqual({ via: 'tunnel' });
      expect(tunnels).toEqual([new URL(targetUrl).host]);
      const socks = new KubeHttp(config({ server: targetUrl, proxyUrl: 'socks5://127.0.0.1:1080' }));
      await expect(socks.request({ path: '/version' })).rejects.toThrow(/unsupported proxy-url/);
      await socks.close();
    } finally {
      await http?.close();
      http = undefined;
      await new Promise<void>((resolve) => target.close(() => resolve()));
    }
  });
});
