// SkillPack readiness on the real API server, with the operator running under its own ServiceAccount.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { startOperator, type TestOperator } from '../harness/operator.ts';
import { unenforceGrantPolicy } from './trust-support.ts';

const custom = testCluster.kubeConfig().makeApiClient(CustomObjectsApi);
const api = { group: 'skillpod.io', version: 'v1alpha1', plural: 'skillpacks' };
let operator: TestOperator;
const created: string[] = [];

interface Status { observedGeneration?: number; conditions?: Array<{ type: string; status: string; reason: string; message: string; observedGeneration?: number }> }

async function createPack(name: string, spec: Record<string, unknown>): Promise<void> {
  await custom.createClusterCustomObject({ ...api, body: {
    apiVersion: 'skillpod.io/v1alpha1', kind: 'SkillPack', metadata: { name },
    spec: { description: 'test pack', image: 'busybox:1.36', tools: [{ name: 'ls', command: ['ls'] }], ...spec },
  } });
  created.push(name);
}

async function readyOf(name: string) {
  const pack = await custom.getClusterCustomObject({ ...api, name }) as { metadata: { generation: number }; status?: Status };
  return { generation: pack.metadata.generation, status: pack.status, ready: pack.status?.conditions?.find((c) => c.type === 'Ready') };
}

// The operator's own grant-policy check is under test here, so the API server's (the SkillPack admission policy,
// tested in trust-admission.test.ts) only audits for this file: packs outside the policy must get in.
let enforceGrantPolicy: (() => Promise<void>) | undefined;

beforeAll(async () => {
  operator = await startOperator();
  enforceGrantPolicy = await unenforceGrantPolicy();
});
afterAll(async () => {
  await operator.stop();
  for (const name of created) await custom.deleteClusterCustomObject({ ...api, name }).catch(() => undefined);
  await enforceGrantPolicy?.();
});

describe('SkillPack reconcile', () => {
  it('marks a valid pack Ready with observedGeneration', async () => {
    await createPack('sp-valid', { rbac: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] } });
    await eventually(async () => {
      const { generation, status, ready } = await readyOf('sp-valid');
      expect(ready).toMatchObject({ status: 'True', reason: 'Valid', observedGeneration: generation });
      expect(status?.observedGeneration).toBe(generation);
    });
  });

  it('marks a pack outside the grant policy not Ready, naming the rule', async () => {
    await createPack('sp-secrets', { rbac: { rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] } });
    await eventually(async () => {
      const { ready } = await readyOf('sp-secrets');
      expect(ready).toMatchObject({ status: 'False', reason: 'OutsideGrantPolicy' });
      expect(ready?.message).toContain('spec.rbac.rules[0]: get on secrets is not in the grant policy');
    });
  });

  it('follows a change of the pack: Ready goes False and back with the generation', async () => {
    await createPack('sp-change', {});
    await eventually(async () => expect((await readyOf('sp-change')).ready?.status).toBe('True'));
    await custom.patchClusterCustomObject({ ...api, name: 'sp-change', body: [
      { op: 'add', path: '/spec/rbac', value: { rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['delete'] }] } },
    ] });
    await eventually(async () => {
      const { generation, ready } = await readyOf('sp-change');
      expect(ready).toMatchObject({ status: 'False', reason: 'OutsideGrantPolicy', observedGeneration: generation });
    });
    await custom.patchClusterCustomObject({ ...api, name: 'sp-change', body: [{ op: 'remove', path: '/spec/rbac' }] });
    await eventually(async () => expect((await readyOf('sp-change')).ready?.status).toBe('True'));
  });

  it('serves /readyz once synced and controller-runtime metrics', async () => {
    await eventually(async () => expect((await fetch(`${operator.url}/readyz`)).status).toBe(200));
    expect((await fetch(`${operator.url}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${operator.url}/metrics`)).text();
    expect(metrics).toMatch(/controller_runtime_reconcile_total\{[^}]*controller="skillpack"[^}]*result="success"[^}]*\} [1-9]/);
    expect(metrics).toContain('workqueue_depth');
    expect(metrics).toContain('controller_runtime_reconcile_time_seconds_bucket');
  });

  it('keeps working after kube-apiserver restarts under it', async () => {
    await testCluster.restartApiServer();
    await createPack('sp-after-restart', {});
    await eventually(async () => expect((await readyOf('sp-after-restart')).ready?.status).toBe('True'), 60_000);
  });
});
