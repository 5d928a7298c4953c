// The operator itself in the cluster: its image (test/node/build.sh: Node 24, the compiled operator, production
// dependencies; no registry), rendered by the Helm chart and applied, running on the test node as the chart's
// ServiceAccount, and carrying an AgentRun to its result. The chart is rendered with its testNode values, as `make demo`
// installs it: the operator's pod in the host network (a node without pod network), its probes and the API server on
// 127.0.0.1 (a probe to the pod IP would dial the machine's own address), and the operator-bounds binding leaving out
// this suite's namespaces. The run's pod is put in the host network by the node's own admission policy
// (test/harness/node-host-network.ts), not by the operator.
import { join } from 'node:path';
import { AppsV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { applyPack, clients, createRun, deletePack, getRun } from '../harness/kube.ts';
import { kubectlOk } from '../harness/kubectl.ts';
import { HOST_NETWORK_NAMESPACE_LABEL, testNode } from '../harness/node-context.ts';
import { freePort } from '../harness/ports.ts';
import { helmOk } from '../integration/chart-support.ts';
import { repoRoot } from '../harness/operator.ts';

const NAMESPACE = 'skillpod-system';
const PACK = 'e2e-image-kubectl';
const { images, apiServerAddress } = testNode.info();
const apps = testCluster.kubeConfig().makeApiClient(AppsV1Api);
const { core } = clients();
let ns: string;
let rendered = '';

type Doc = { kind?: string; metadata?: { name?: string; annotations?: Record<string, string> } };

const split = (image: string) => ({ repository: image.slice(0, image.lastIndexOf(':')), tag: image.slice(image.lastIndexOf(':') + 1) });

/** The chart, rendered for this node (without its `helm test` hook, which cannot run here). */
async function render(port: number): Promise<string> {
  const operator = split(images.operator);
  const executor = split(images.executor);
  const out = await helmOk(['template', 'skillpod', join(repoRoot, 'helm/skillpod'), '--namespace', NAMESPACE, '--include-crds',
    '--set', `image.repository=${operator.repository}`, '--set', `image.tag=${operator.tag}`, '--set', 'image.pullPolicy=Never',
    '--set', `operator.executorImage.repository=${executor.repository}`, '--set', `operator.executorImage.tag=${executor.tag}`,
    '--set', `operator.defaultAgentImage=${images.agent}`,
    '--set', 'testNode.enabled=true', '--set', `testNode.apiServer=${apiServerAddress}`,
    '--set', `testNode.namespaceLabel=${HOST_NETWORK_NAMESPACE_LABEL}`,
    '--set', `service.port=${port}`]);
  const docs = parseAllDocuments(out).map((d) => d.toJSON() as Doc | null).filter((d): d is Doc => d !== null);
  return docs.filter((d) => !d.metadata?.annotations?.['helm.sh/hook']).map((d) => stringify(d, { version: '1.1' })).join('---\n');
}

beforeAll(async () => {
  // The operator image is big (Node and its dependencies): imported here, not at every node start.
  await testNode.importImage('operator');
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } }).catch(() => undefined);
  // `make install` labels the operator's namespace `restricted` (helm/skillpod/files/operator-rbac.yaml; the chart
  // leaves the namespace to Helm), which refuses the host network: here it is `privileged`.
  await core.patchNamespace({ name: NAMESPACE, body: [{ op: 'add', path: '/metadata/labels', value: {
    'kubernetes.io/metadata.name': NAMESPACE, 'pod-security.kubernetes.io/enforce': 'privileged' } }] });
  rendered = await render(await freePort());
  // As Helm does: the CRDs first, established, then the rest (the SkillPacks need their kind served).
  const apply = (manifests: string) => kubectlOk(['apply', '--server-side', '--force-conflicts', '--field-manager', 'e2e-chart', '-f', '-'],
    { input: manifests });
  const documents = rendered.split('---\n');
  const crds = documents.filter((d) => /^kind: CustomResourceDefinition$/m.test(d));
  await apply(crds.join('---\n'));
  await kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd/agentruns.skillpod.io', 'crd/skillpacks.skillpod.io']);
  await apply(documents.filter((d) => !crds.includes(d)).join('---\n'));
  ns = await testCluster.createNamespace('e2e-image', { [HOST_NETWORK_NAMESPACE_LABEL]: 'true' });
  await applyPack(PACK, {
    image: images.kubectl,
    tools: [{ name: 'get', command: ['kubectl', 'get'],
      parameters: { type: 'object', properties: { resource: { type: 'string', enum: ['pods'] }, output: { type: 'string', enum: ['name'] } }, required: ['resource'] },
      args: [['{resource}'], ['--output', '{output}']] }],
    env: [{ name: 'KUBERC', value: 'off' }],
    rbac: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] },
  });
}, 180_000);

afterAll(async () => {
  await apps.deleteNamespacedDeployment({ namespace: NAMESPACE, name: 'skillpod-operator' }).catch(() => undefined);
  await testCluster.deleteNamespace(ns);
  await deletePack(PACK);
});

describe('the operator from its image, installed from the chart', () => {
  it('becomes ready on the node under its chart ServiceAccount and runs an AgentRun to its result', async () => {
    const deployment = await eventually(async () => {
      const d = await apps.readNamespacedDeployment({ namespace: NAMESPACE, name: 'skillpod-operator' });
      if ((d.status?.availableReplicas ?? 0) < 1) {
        const pods = await core.listNamespacedPod({ namespace: NAMESPACE });
        const events = await core.listNamespacedEvent({ namespace: NAMESPACE });
        throw new Error(`operator not available: ${JSON.stringify(d.status)}\npods: ${JSON.stringify(pods.items.map((p) => p.status))}\n` +
          `events: ${events.items.map((e) => `${e.involvedObject.kind}/${e.involvedObject.name} ${e.reason}: ${e.message}`).join('\n')}`);
      }
      return d;
    }, 120_000, 1000);
    expect(deployment.spec?.template.spec?.containers[0]?.image).toBe(images.operator);
    const [pod] = (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: 'app.kubernetes.io/component=operator' })).items;
    expect(pod?.spec?.serviceAccountName).toBe('skillpod-operator');
    expect(pod?.status?.containerStatuses?.[0]?.ready).toBe(true);

    await createRun(ns, 'from-image', { task: `skillpod-exec call e2e-image-kubectl get --input '{"resource":"pods","output":"name"}' > /dev/termination-log`, agent: {}, skills: [{ name: PACK }] });
    const run = await eventually(async () => {
      const r = await getRun(ns, 'from-image');
      if (r.status?.phase !== 'Succeeded' && r.status?.phase !== 'Failed') throw new Error(`from-image is ${r.status?.phase}`);
      return r;
    }, 90_000, 500);
    expect(run.status?.phase, JSON.stringify(run.status)).toBe('Succeeded');
    expect(run.status?.result).toMatch(/^pod\/from-image-[0-9a-f]{12}\n$/);
    // The operator's own log, read through the kubelet: it is the only operator here, and it saw the pack.
    const log = await core.readNamespacedPodLog({ namespace: NAMESPACE, name: pod!.metadata!.name! });
    expect(log).toContain(`"key":"${PACK}"`);
  });
});
