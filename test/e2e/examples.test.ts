// Every example under examples/runs/ applied as written (kubectl apply -f, unchanged) on the real node, with the
// built-in SkillPacks as make install applies them and the images `make demo` builds under the exact references
// they name (test/demo/images.sh): the example agent, kubectl, helm, curl. The operator runs in-process under its
// own ServiceAccount, as in agentrun.test.ts; pods join the host network (the node has no pod network), which is
// why the namespace is not `restricted`. One test per file: a new example gets a test without a change here.
//
// Examples whose task needs the internet (http-fetch of a public page, helm of a public OCI chart) would dial beyond
// loopback, which this suite never does: unless SKILLPOD_E2E_INTERNET=1 (a machine allowed to), the http-fetch and
// helm packs get a proxy on a closed loopback port (HTTPS_PROXY), so their tools run as written, reach only
// loopback, and report the refused connection; the example still runs to the end through its skill.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { AgentRun } from '../../operator/src/api/index.ts';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { getRun } from '../harness/kube.ts';
import { HOST_NETWORK_NAMESPACE_LABEL, testNode } from '../harness/node-context.ts';
import { installSkillpod, repoRoot, startOperator, type TestOperator } from '../harness/operator.ts';
import { builtPath } from '../harness/testbin.ts';
import { install } from '../../operator/src/install/apply.ts';
import { kubectl } from '../harness/kubectl.ts';

const run = promisify(execFile);
const kc = testCluster.kubeConfig();
const { images, containerdSocket } = testNode.info();
const INTERNET = process.env.SKILLPOD_E2E_INTERNET === '1';
const examplesDir = join(repoRoot, 'examples/runs');
const examples = readdirSync(examplesDir).filter((f) => f.endsWith('.yaml')).sort().map((file) => {
  const run = parse(readFileSync(join(examplesDir, file), 'utf8')) as AgentRun;
  const needsInternet = /https?:\/\/|oci:\/\//.test(run.spec.task);
  return { file, name: run.metadata.name!, skills: (run.spec.skills ?? []).filter((s) => s.enabled !== false).map((s) => s.name), needsInternet };
});
let operator: TestOperator;
let ns: string;

beforeAll(async () => {
  await installSkillpod();
  await install(kc, { root: repoRoot }); // the built-in SkillPacks too, as make install applies them
  await testNode.allowHostNetworkNamespaces();
  // The images the examples and packs name, built by `make node` (test/demo/images.sh), imported into the node.
  const demoImages = builtPath(join(repoRoot, 'test/demo/images.sh'), 'the demo images are not built: run make node');
  for (const role of ['example-agent', 'kubectl', 'helm', 'curl']) {
    await run('ctr', ['-a', containerdSocket, '-n', 'k8s.io', 'images', 'import', join(demoImages, `${role}.tar`)], { timeout: 300_000 });
  }
  if (!INTERNET) {
    for (const pack of ['http-fetch', 'helm']) {
      const current = JSON.parse((await kubectl(['get', 'skillpack', pack, '-o', 'json'])).stdout) as { spec: { env?: object[] } };
      const env = [...(current.spec.env ?? []), { name: 'HTTPS_PROXY', value: 'http://127.0.0.1:9' }, { name: 'https_proxy', value: 'http://127.0.0.1:9' }];
      const patched = await kubectl(['patch', 'skillpack', pack, '--type', 'merge', '-p', JSON.stringify({ spec: { env } })]);
      expect(patched.stderr).toBe('');
    }
  }
  operator = await startOperator(['--executor-image', images.executor]);
  ns = await testCluster.createNamespace('e2e-examples', { [HOST_NETWORK_NAMESPACE_LABEL]: 'true' });
  await eventually(async () => {
    const packs = await kubectl(['get', 'skillpacks', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}']);
    for (const name of ['kube-inspector', 'http-fetch', 'helm']) expect(packs.stdout).toContain(`${name}=True`);
  }, 60_000);
}, 300_000);

afterAll(async () => {
  await operator?.stop();
  await testCluster.deleteNamespace(ns);
});

describe('every example under examples/runs/ runs as written on the local node', () => {
  it('has examples to run', () => {
    expect(examples.map((e) => e.file)).toContain('inspect-namespace.yaml');
  });

  for (const example of examples) {
    it(`${example.file}: applied unchanged, ends Succeeded with its skills' output in status.result`, async () => {
      const applied = await kubectl(['-n', ns, 'apply', '-f', join(examplesDir, example.file)]);
      expect(applied.stderr).toBe('');
      const done = await eventually(async () => {
        const r = await getRun(ns, example.name);
        if (!r.status?.completionTime) throw new Error(`${example.name} is ${r.status?.phase}: ${JSON.stringify(r.status?.conditions)}`);
        return r;
      }, 240_000, 1000);
      expect(done.status?.phase, JSON.stringify(done.status)).toBe('Succeeded');
      for (const skill of example.skills) expect(done.status?.result).toContain(`$ ${skill} `);
      // Offline, the internet-bound tools met the closed loopback proxy, and said so.
      if (example.needsInternet && !INTERNET) expect(done.status?.result).toMatch(/127\.0\.0\.1|proxy/i);
      // The skill's audit lines are in its sidecar's log, one per call.
      const log = await kubectl(['-n', ns, 'logs', done.status!.podName!, '-c', `skill-${example.skills[0]}`]);
      expect(log.stdout).toMatch(/"tool":"[a-z-]+"/);
    });
  }
});
