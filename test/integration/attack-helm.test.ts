// Attack suite, helm (issue 13): plugin loading (a plugin planted where helm looks by default, run through its URL
// scheme), symlinked chart and values files (helm follows them), a download destination that escapes /workspace with
// `..`, and a pack's socket replaced through another pack's tool. The real executor serves the helm pack with the
// real helm 4 (make testbin) in a mount namespace where /workspace and /ipc are the pod's paths; the sidecar holds a
// pack Secret in its env and a secret file in its own /tmp; a loopback HTTPS server is the attacker's chart
// repository (its CA in the sidecar's env, as if it had a public certificate). See attack-support.ts for the "before"
// run: there, /ipc is one folder every sidecar shares, as the pod had it; now each pack has its own.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ToolInput } from '../../clients/typescript/src/index.ts';
import type { Served } from './skillpacks-support.ts';
import { attempt, expectServing, isTyped, OLD_PACKS, SECRET, serveUnderAttack, startAttacker, WHY, type Attacker } from './attack-support.ts';

let attacker: Attacker;
let helm: Served;
let inspector: Served;
const dir = mkdtempSync(join(tmpdir(), 'skillpod-attack-helm-'));
const marker = join(dir, 'plugin-ran');
const sharedIpc = join(dir, 'ipc');

beforeAll(async () => {
  attacker = await startAttacker();
  // The attacker's chart repository: index.yaml and one chart.
  const src = join(dir, 'repo');
  mkdirSync(join(src, 'web', 'templates'), { recursive: true });
  writeFileSync(join(src, 'web', 'Chart.yaml'), 'apiVersion: v2\nname: web\nversion: 0.1.0\n');
  writeFileSync(join(src, 'web', 'templates', 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n');
  execFileSync('tar', ['-C', src, '-czf', join(src, 'web-0.1.0.tgz'), 'web']);
  attacker.route('/charts/web-0.1.0.tgz', readFileSync(join(src, 'web-0.1.0.tgz')), 'application/gzip');
  attacker.route('/index.yaml', `apiVersion: v1\nentries:\n  web:\n    - apiVersion: v2\n      name: web\n      version: 0.1.0\n      urls: [${attacker.url}/charts/web-0.1.0.tgz]\n`, 'text/yaml');

  // The pod's /ipc as the code under test lays it out: before, one folder all sidecars share; now one per pack,
  // mounted only in that pack's sidecar (so the helm sidecar's /ipc holds only its own).
  mkdirSync(sharedIpc, { recursive: true });
  inspector = await serveUnderAttack('kube-inspector', { ipcDir: sharedIpc });
  helm = await serveUnderAttack('helm', {
    podPaths: true,
    ...(OLD_PACKS ? { ipcDir: sharedIpc } : {}),
    env: { SSL_CERT_FILE: attacker.ca, PACK_TOKEN: SECRET },
  });
  writeFileSync(join(helm.home, 'secret.yaml'), `secret: ${SECRET}\n`);
});
afterAll(async () => {
  helm?.stop();
  inspector?.stop();
  await attacker?.close();
});

const typedRun = async (tool: string, input: Record<string, unknown>, args: string[]) =>
  (await isTyped(helm, tool)) ? helm.client.run(tool, { input: input as ToolInput, timeoutSeconds: 60 }) : helm.client.call(tool, args, { timeoutSeconds: 60 });

describe('plugin loading (helm)', () => {
  beforeAll(() => {
    // A downloader plugin for the scheme evil://, where helm looks by default ($HOME/.local/share/helm/plugins, $HOME
    // being the sidecar's /tmp) and in /workspace; the pack pins HELM_PLUGINS to a folder that does not exist.
    for (const base of [join(helm.home, '.local/share/helm/plugins'), join(helm.workspace, 'plugins')]) {
      mkdirSync(join(base, 'evil'), { recursive: true });
      writeFileSync(join(base, 'evil', 'plugin.yaml'), 'name: evil\nversion: 0.1.0\ndownloaders:\n  - command: run.sh\n    protocols: [evil]\n');
      writeFileSync(join(base, 'evil', 'run.sh'), `#!/bin/sh\nenv > ${marker}\n`);
      chmodSync(join(base, 'evil', 'run.sh'), 0o755);
    }
  });

  it('a chart or repository behind a plugin\'s URL scheme runs no plugin', async () => {
    await attempt(helm, {
      tool: 'pull',
      args: ['evil://x/chart', '--destination', '/workspace'],
      typed: [
        { input: { chart: 'evil://x/chart' }, parameter: 'chart', why: WHY.pattern },
        { input: { chart: 'web', repo: 'evil://x' }, parameter: 'repo', why: WHY.pattern },
        { input: { chart: 'web', repo: attacker.url, untar: true, destination: '/tmp/.local/share/helm/plugins' }, parameter: 'destination', why: WHY.pattern },
      ],
    });
    await attempt(helm, {
      tool: 'show',
      args: ['chart', 'web', '--repo', 'evil://x'],
      typed: [{ input: { what: 'chart', chart: 'web', repo: 'evil://x' }, parameter: 'repo', why: WHY.pattern }],
    });
    await attempt(helm, {
      tool: 'template',
      args: ['/workspace/chart', '--plugins=/workspace/plugins'],
      typed: [{ input: { chart: '/workspace/chart', set: ['a=b', '--plugins=/workspace/plugins'] }, parameter: 'set', why: WHY.pattern }],
    });
    expect(existsSync(marker), 'the planted plugin ran in the helm sidecar').toBe(false);
    const env = { HELM_PLUGINS: '/workspace/plugins' };
    const refused = await ((await isTyped(helm, 'show')) ? helm.client.run('show', { input: { what: 'chart', chart: 'web' }, env }) : helm.client.call('show', ['chart', 'web'], { env }))
      .then(() => undefined, (e: unknown) => e);
    expect(refused).toMatchObject({ status: 400, code: 'env_refused' });
    await expectServing(helm);
  });

  it('a chart whose dependency names the plugin\'s scheme runs no plugin', async () => {
    const chart = join(helm.workspace, 'dep');
    mkdirSync(chart, { recursive: true });
    writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: dep\nversion: 0.1.0\ndependencies:\n  - name: x\n    version: 0.1.0\n    repository: evil://x\n');
    writeFileSync(join(chart, 'Chart.lock'), 'dependencies:\n  - name: x\n    version: 0.1.0\n    repository: evil://x\ndigest: sha256:0\ngenerated: "2026-01-01T00:00:00Z"\n');
    const r = await typedRun('dependency-build', { chart: '/workspace/dep' }, ['/workspace/dep']);
    expect(r.exitCode).not.toBe(0);
    expect(existsSync(marker), 'the planted plugin ran in the helm sidecar').toBe(false);
  });
});

describe('file reads through symlinks (helm)', () => {
  beforeAll(() => {
    // A chart whose template, file and values are symlinks to the sidecar's own files (its secret, its environment).
    const chart = join(helm.workspace, 'leaky');
    mkdirSync(join(chart, 'templates'), { recursive: true });
    mkdirSync(join(chart, 'files'), { recursive: true });
    writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: leaky\nversion: 0.1.0\n');
    writeFileSync(join(chart, 'templates', 'cm.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leaky}\ndata:\n  env: {{ .Files.Get "files/env" | b64enc | quote }}\n  secret: {{ .Values.secret | default "none" | quote }}\n');
    symlinkSync(join(helm.home, 'secret.yaml'), join(chart, 'templates', 'stolen.yaml'));
    symlinkSync('/proc/self/environ', join(chart, 'files', 'env'));
    symlinkSync(join(helm.home, 'secret.yaml'), join(chart, 'values.yaml'));
    symlinkSync(join(helm.home, 'secret.yaml'), join(helm.workspace, 'values-stolen.yaml'));
    // A chart whose templates folder is a link to a folder of the sidecar's own (its /tmp).
    mkdirSync(join(helm.home, 'tpl'), { recursive: true });
    writeFileSync(join(helm.home, 'tpl', 'stolen.yaml'), `secret: ${SECRET}\n`);
    mkdirSync(join(helm.workspace, 'linked'), { recursive: true });
    writeFileSync(join(helm.workspace, 'linked', 'Chart.yaml'), 'apiVersion: v2\nname: linked\nversion: 0.1.0\n');
    symlinkSync(join(helm.home, 'tpl'), join(helm.workspace, 'linked', 'templates'));
    // A chart whose linked values end up in lint's error message.
    mkdirSync(join(helm.workspace, 'failing', 'templates'), { recursive: true });
    writeFileSync(join(helm.workspace, 'failing', 'Chart.yaml'), 'apiVersion: v2\nname: failing\nversion: 0.1.0\n');
    writeFileSync(join(helm.workspace, 'failing', 'templates', 'x.yaml'), '{{ fail (printf "%v" .Values.secret) }}\n');
    symlinkSync(join(helm.home, 'secret.yaml'), join(helm.workspace, 'failing', 'values.yaml'));
  });

  /** The secret in the text, or in any base64 run of it (.Files.Get … | b64enc). */
  const leaks = (text: string) => text.includes(SECRET)
    || (text.match(/[A-Za-z0-9+/]{16,}={0,2}/g) ?? []).some((b) => Buffer.from(b, 'base64').toString('latin1').includes(SECRET));

  it.each([
    ['template of a chart with symlinked files', 'template', { chart: '/workspace/leaky' }, ['template', '/workspace/leaky']],
    ['template with a symlinked values file', 'template', { chart: '/workspace/leaky', values: ['/workspace/values-stolen.yaml'] }, ['template', '/workspace/leaky', '-f', '/workspace/values-stolen.yaml']],
    ['show values of a chart with symlinked values', 'show', { what: 'values', chart: '/workspace/leaky' }, ['values', '/workspace/leaky']],
    ['template of a chart whose templates folder is a link', 'template', { chart: '/workspace/linked' }, ['template', '/workspace/linked']],
    ['lint of a chart with linked values', 'lint', { chart: '/workspace/failing' }, ['/workspace/failing']],
  ])('%s reads none of them', async (_what, tool, input, args) => {
    const r = await typedRun(tool, input, tool === 'template' ? args.slice(1) : args);
    expect(leaks(r.stdout) || leaks(r.stderr), `the sidecar's secret came back:\n${r.stdout}\n${r.stderr}`).toBe(false);
    // Typed: the chart renders without its links; a values file that is a link is not there at all.
    if (!OLD_PACKS && _what === 'template of a chart with symlinked files') expect(r.stdout, r.stderr).toContain('name: leaky');
    if (!OLD_PACKS && _what === 'template with a symlinked values file') expect(r.stderr).toContain('values-stolen.yaml: no such file');
    await expectServing(helm);
  });

  it('the copy changes nothing else: a chart with values files renders, and dependency-build fills charts/', async () => {
    if (!(await isTyped(helm, 'template'))) return;
    const chart = join(helm.workspace, 'charts', 'app');
    mkdirSync(join(chart, 'templates'), { recursive: true });
    writeFileSync(join(chart, 'Chart.yaml'), `apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: web\n    version: 0.1.0\n    repository: ${attacker.url}\n`);
    writeFileSync(join(chart, 'templates', 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}}\ndata: {replicas: {{ .Values.replicas | quote }}}\n');
    writeFileSync(join(chart, 'values-prod.yaml'), 'replicas: 3\n');
    const built = await helm.client.run('dependency-build', { input: { chart: '/workspace/charts/app' }, timeoutSeconds: 60 });
    expect(built.exitCode, built.stderr).toBe(0);
    expect(readdirSync(join(chart, 'charts'))).toEqual(['web-0.1.0.tgz']);
    const r = await helm.client.run('template', { input: { release: 'prod', chart: '/workspace/charts/app', values: ['/workspace/charts/app/values-prod.yaml'], set: ['x=1'] }, timeoutSeconds: 60 });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('name: prod');
    expect(r.stdout).toContain('replicas: "3"');
    expect(r.stdout).toContain('name: web'); // the subchart from charts/
    const lint = await helm.client.run('lint', { input: { chart: '/workspace/charts/app' }, timeoutSeconds: 60 });
    expect(lint.exitCode, lint.stdout + lint.stderr).toBe(0);
    const file = await helm.client.run('dependency-build', { input: { chart: '/workspace/leaky' }, timeoutSeconds: 60 });
    expect(file.exitCode).toBe(0); // no dependencies: nothing to do
    writeFileSync(join(helm.workspace, 'charts', 'app', 'Chart.yaml'), 'apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: web\n    version: 0.1.0\n    repository: "file:///workspace/leaky"\n');
    const refused = await helm.client.run('dependency-build', { input: { chart: '/workspace/charts/app' }, timeoutSeconds: 60 });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('file:// dependencies are not fetched here');
  });
});

describe('destination escape and socket replacement (helm against kube-inspector\'s /ipc)', () => {
  const inspectorDir = () => join(sharedIpc, 'kube-inspector');
  const expectInspectorIntact = async () => {
    expect(readdirSync(inspectorDir()), 'kube-inspector\'s socket folder').toEqual(['exec.sock']);
    expect(lstatSync(join(inspectorDir(), 'exec.sock')).isSocket()).toBe(true);
    expect((await inspector.client.health()).ready).toBe(true);
  };

  it('a destination with .. never writes into /ipc', async () => {
    await attempt(helm, {
      tool: 'pull',
      // (The old pack refused --repo as an "abbreviation" of --repository-config; the chart's URL does the same.)
      args: [`${attacker.url}/charts/web-0.1.0.tgz`, '--destination', '/workspace/../ipc/kube-inspector'],
      typed: [
        { input: { chart: 'web', repo: attacker.url, destination: '/workspace/../ipc/kube-inspector' }, parameter: 'destination', why: WHY.pattern },
        { input: { chart: 'web', repo: attacker.url, destination: '/ipc/kube-inspector' }, parameter: 'destination', why: WHY.pattern },
        { input: { chart: 'web', repo: attacker.url, destination: '/workspace/./../ipc' }, parameter: 'destination', why: WHY.pattern },
      ],
    });
    await expectInspectorIntact();
    await expectServing(helm);
  });

  it('a symlink in /workspace to another pack\'s socket folder leads nowhere: that pack keeps its socket, also across a restart', async () => {
    for (const f of readdirSync(inspectorDir())) if (f !== 'exec.sock') rmSync(join(inspectorDir(), f), { recursive: true }); // a test before may have left some
    symlinkSync('/ipc/kube-inspector', join(helm.workspace, 'elsewhere'));
    const r = await typedRun('pull', { chart: 'web', repo: attacker.url, untar: true, destination: '/workspace/elsewhere' },
      [`${attacker.url}/charts/web-0.1.0.tgz`, '--untar', '--destination', '/workspace/elsewhere']);
    expect(r.exitCode, 'helm could not write there').not.toBe(0);
    await expectInspectorIntact();
    // The sidecar restarts (its executor unlinks only its own socket and binds again).
    inspector.stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    inspector = await serveUnderAttack('kube-inspector', { ipcDir: sharedIpc });
    await expectInspectorIntact();
  });
});
