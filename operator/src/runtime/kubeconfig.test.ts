import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inClusterConfig, kubeConfigLocation, loadKubeConfig, mergeKubeConfigs, parseKubeConfig } from './kubeconfig.ts';

const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const FULL = `apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: c1
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority: certs/ca.crt
    tls-server-name: kubernetes
- name: c2
  cluster: {server: "https://h:1", certificate-authority-data: Q0E=, insecure-skip-tls-verify: true, proxy-url: "socks5://p:1080"}
users:
- name: u1
  user:
    client-certificate: certs/admin.crt
    client-key: /abs/admin.key
    tokenFile: token
    as: someone
- name: u2
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/plugin
      args: [get-token]
      env: [{name: A, value: b}]
      provideClusterInfo: true
- name: u3
  user: {token: abc, username: me, password: pw}
- name: u4
  user:
    exec: {command: kubelogin}
contexts:
- name: dev
  context: {cluster: c1, user: u1, namespace: team}
- name: ops
  context: {cluster: c2, user: u2}
`;

describe('parseKubeConfig', () => {
  it('reads clusters, users and contexts with client-node\'s field names, paths relative to the file', async () => {
    const kc = await loadKubeConfig({ env: { KUBECONFIG: file('full.yaml', FULL) } });
    expect(kc.getCurrentContext()).toBe('dev');
    expect(kc.getCurrentCluster()).toEqual({ name: 'c1', server: 'https://127.0.0.1:6443', caData: undefined, caFile: join(dir, 'certs/ca.crt'),
      skipTLSVerify: false, tlsServerName: 'kubernetes', proxyUrl: undefined });
    expect(kc.getCurrentUser()).toMatchObject({ name: 'u1', certFile: join(dir, 'certs/admin.crt'), keyFile: '/abs/admin.key',
      tokenFile: join(dir, 'token'), impersonateUser: 'someone' });
    kc.setCurrentContext('ops');
    expect(kc.getCurrentCluster()).toMatchObject({ caData: 'Q0E=', skipTLSVerify: true, proxyUrl: 'socks5://p:1080' });
    // A command with a path separator is relative to the file, as client-go resolves it.
    expect(kc.getCurrentUser()?.exec).toEqual({ apiVersion: 'client.authentication.k8s.io/v1', command: join(dir, 'bin/plugin'), args: ['get-token'],
      env: [{ name: 'A', value: 'b' }], provideClusterInfo: true });
    expect(kc.users.get('u3')).toMatchObject({ token: 'abc', username: 'me', password: 'pw' });
    expect(kc.users.get('u4')?.exec?.command).toBe('kubelogin');
  });

  it('has no current cluster or user for a context that names none or a missing one', () => {
    const kc = mergeKubeConfigs([parseKubeConfig({ contexts: [{ name: 'x', context: { cluster: 'nope' } }], 'current-context': 'x' }, dir)]);
    expect(kc.getCurrentCluster()).toBeNull();
    expect(kc.getCurrentUser()).toBeNull();
    expect(mergeKubeConfigs([parseKubeConfig({ apiVersion: 'v1', kind: 'Config' }, dir)]).getCurrentCluster()).toBeNull();
  });

  it.each([
    ['a list', [], /expected a mapping/],
    ['a cluster without a server', { clusters: [{ name: 'c', cluster: {} }] }, /clusters\[0\]\.cluster\.server is missing/],
    ['an entry without a name', { users: [{ user: { token: 'x' } }] }, /users\[0\]\.name is missing/],
    ['a context without a cluster', { contexts: [{ name: 'x', context: { user: 'u' } }] }, /contexts\[0\]\.context\.cluster is missing/],
    ['an exec without a command', { users: [{ name: 'u', user: { exec: { args: ['x'] } } }] }, /exec\.command is missing/],
    ['clusters that are not a list', { clusters: { c: 1 } }, /clusters is not a list/],
  ])('refuses %s', (_name, doc, message) => {
    expect(() => parseKubeConfig(doc, dir)).toThrow(message);
  });
});

describe('loadKubeConfig', () => {
  it('merges the files of KUBECONFIG as kubectl does: the first to name an entry or set current-context wins', async () => {
    const a = file('a.yaml', 'clusters: [{name: c, cluster: {server: "https://a:1"}}]\nusers: [{name: u, user: {token: a}}]\n' +
      'contexts: [{name: x, context: {cluster: c, user: u}}]\n');
    const b = file('b.yaml', 'current-context: x\nclusters: [{name: c, cluster: {server: "https://b:1"}}]\nusers: [{name: v, user: {token: b}}]\n');
    const c = file('c.yaml', 'current-context: y\ncontexts: [{name: y, context: {cluster: c, user: v}}]\n');
    const kc = await loadKubeConfig({ env: { KUBECONFIG: [a, '', b, c].join(':') } });
    expect(kc.getCurrentContext()).toBe('x');
    expect(kc.getCurrentCluster()?.server).toBe('https://a:1');
    expect([...kc.users.keys()]).toEqual(['u', 'v']);
    expect(kc.contexts.has('y')).toBe(true);
  });

  it('fails on a missing, empty or broken file, and without any kubeconfig', async () => {
    await expect(loadKubeConfig({ env: { KUBECONFIG: join(dir, 'nope') } })).rejects.toThrow(/ENOENT/);
    await expect(loadKubeConfig({ env: { KUBECONFIG: file('empty.yaml', '\n') } })).rejects.toThrow(/is empty/);
    await expect(loadKubeConfig({ env: { KUBECONFIG: file('bad.yaml', 'clusters: [\n') } })).rejects.toThrow();
    await expect(loadKubeConfig({ env: { HOME: dir }, serviceAccountDir: join(dir, 'none') })).rejects.toThrow(/no kubeconfig/);
  });

  it('finds ~/.kube/config, then the pod\'s ServiceAccount (with its token file)', () => {
    const home = mkdtempSync(join(dir, 'home-'));
    const sa = mkdtempSync(join(dir, 'sa-'));
    const env = { HOME: home, KUBERNETES_SERVICE_HOST: '10.0.0.1' };
    expect(kubeConfigLocation({ env, serviceAccountDir: sa })).toEqual({ kind: 'none' });
    writeFileSync(join(sa, 'token'), 't');
    expect(kubeConfigLocation({ env, serviceAccountDir: sa })).toEqual({ kind: 'in-cluster', serviceAccountDir: sa });
    mkdirSync(join(home, '.kube'));
    writeFileSync(join(home, '.kube', 'config'), 'clusters: []\n');
    expect(kubeConfigLocation({ env, serviceAccountDir: sa })).toEqual({ kind: 'files', files: [join(home, '.kube', 'config')], from: 'home' });
    expect(kubeConfigLocation({ env: { ...env, KUBECONFIG: 'a:b' }, serviceAccountDir: sa })).toEqual({ kind: 'files', files: ['a', 'b'], from: 'KUBECONFIG' });
  });
});

describe('inClusterConfig', () => {
  it('points at the service host with the ServiceAccount\'s CA and token file', () => {
    const kc = inClusterConfig({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, '/sa');
    expect(kc.getCurrentCluster()).toMatchObject({ server: 'https://10.96.0.1:443', caFile: '/sa/ca.crt' });
    expect(kc.getCurrentUser()).toMatchObject({ tokenFile: '/sa/token' });
  });

  it('brackets an IPv6 host and needs both variables', () => {
    expect(inClusterConfig({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' }).getCurrentCluster()?.server).toBe('https://[fd00::1]:6443');
    expect(() => inClusterConfig({ KUBERNETES_SERVICE_HOST: '10.0.0.1' })).toThrow(/KUBERNETES_SERVICE_PORT/);
  });
});
