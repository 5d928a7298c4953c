// What Argo CD manages, the operator leaves alone: an AgentRun and a SkillPack applied the way Argo CD applies them
// (server-side apply, field manager argocd-controller, a tracking label and annotation) go through a whole run with
// the operator running, and their spec and metadata are exactly as applied at the end. The operator's only writes
// are to the status subresource, so a later sync (and Argo CD's server-side diff) finds nothing to change, and a
// toggle made in git applies without a conflict.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { FIELD_MANAGER, type AgentRun } from '../../operator/src/api/index.ts';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { clients, getRun, podOf, setPodStatus } from '../harness/kube.ts';
import { startOperator, type TestOperator } from '../harness/operator.ts';
import { kubectlOk } from '../harness/kubectl.ts';
import { repoRoot } from './chart-support.ts';

const ARGOCD = 'argocd-controller'; // the field manager Argo CD's server-side apply uses
const PACK = 'gitops-kube-inspector';
const TRACKING = { 'argocd.argoproj.io/tracking-id': 'team-a-runs:skillpod.io/AgentRun:team-a/nightly-report' };

interface Managed { manager: string; operation: string; subresource?: string; fieldsV1?: unknown }
interface Obj {
  metadata: { generation?: number; labels?: Record<string, string>; annotations?: Record<string, string>; finalizers?: string[]; managedFields?: Managed[]; resourceVersion?: string };
  spec: unknown;
  status?: AgentRun['status'];
}

let operator: TestOperator;
let ns: string;

async function apply(manifest: object, extra: string[] = []): Promise<string> {
  return await kubectlOk(['apply', '--server-side', `--field-manager=${ARGOCD}`, '-o', 'yaml', '-f', '-', ...extra], { input: stringify(manifest, { version: '1.1' }) });
}

async function get(kind: string, name: string, namespace?: string): Promise<Obj> {
  return JSON.parse(await kubectlOk(['get', kind, name, '-o', 'json', '--show-managed-fields', ...(namespace ? ['-n', namespace] : [])])) as Obj;
}

/** What Argo CD owns and compares: spec, labels, annotations, finalizers, generation. */
function managedPart(o: Obj) {
  return { spec: o.spec, labels: o.metadata.labels, annotations: o.metadata.annotations, finalizers: o.metadata.finalizers, generation: o.metadata.generation };
}

/** Every managedFields entry not written by Argo CD must be a status write. */
function foreignWrites(o: Obj): Managed[] {
  return (o.metadata.managedFields ?? []).filter((m) => m.manager !== ARGOCD && m.subresource !== 'status');
}

const pack = () => {
  const builtIn = parse(readFileSync(join(repoRoot, 'skillpacks/kube-inspector.yaml'), 'utf8')) as { metadata: Record<string, unknown>; spec: unknown };
  return { ...builtIn, metadata: { name: PACK, labels: { 'app.kubernetes.io/instance': 'skillpod' }, annotations: { 'argocd.argoproj.io/tracking-id': 'skillpod:skillpod.io/SkillPack:/gitops-kube-inspector' } } };
};
const run = (enabled = true) => ({
  apiVersion: 'skillpod.io/v1alpha1', kind: 'AgentRun',
  metadata: { name: 'nightly-report', namespace: ns, labels: { 'app.kubernetes.io/instance': 'team-a-runs', team: 'a' }, annotations: TRACKING },
  // No ttlSecondsAfterFinished (Argo CD would re-create the deleted run), no cluster rules (so no finalizer).
  spec: { task: 'List the pods of this namespace and say which restarted.', agent: { image: 'ghcr.io/skillpod/example-agent:v0.1.0' },
    skills: [{ name: PACK, enabled }] },
});

beforeAll(async () => {
  operator = await startOperator();
  ns = await testCluster.createNamespace('gitops', { 'pod-security.kubernetes.io/enforce': 'restricted' });
});

afterAll(async () => {
  await operator?.stop();
  await testCluster.deleteNamespace(ns);
  await clients().custom.deleteClusterCustomObject({ group: 'skillpod.io', version: 'v1alpha1', plural: 'skillpacks', name: PACK }).catch(() => undefined);
});

describe('GitOps: the operator never changes what Argo CD manages', () => {
  it('leaves spec and metadata of an AgentRun and its SkillPack untouched through a whole run, writing only status', async () => {
    await apply(pack());
    const packApplied = await get('skillpack', PACK);
    await eventually(async () => {
      const p = await get('skillpack', PACK);
      expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    });

    await apply(run());
    const runApplied = await get('agentrun', 'nightly-report', ns);
    expect(runApplied.spec).toMatchObject({ timeoutSeconds: 600, skills: [{ name: PACK, enabled: true }] }); // CRD defaults

    // Through its life: Pending, the pod, Running, Succeeded, grants revoked.
    const pod = await podOf(ns, 'nightly-report');
    await setPodStatus(ns, pod.metadata!.name!, 'Running', { running: { startedAt: new Date() } });
    await eventually(async () => expect((await getRun(ns, 'nightly-report')).status?.phase).toBe('Running'));
    await setPodStatus(ns, pod.metadata!.name!, 'Running', { terminated: { exitCode: 0, reason: 'Completed', message: 'no pod restarted' } });
    const finished = await eventually(async () => {
      const r = await getRun(ns, 'nightly-report');
      expect(r.status?.phase).toBe('Succeeded');
      expect(r.status?.conditions?.find((c) => c.type === 'GrantsRevoked')?.status).toBe('True');
      return r;
    });
    expect(finished.status?.result).toBe('no pod restarted');

    const runAfter = await get('agentrun', 'nightly-report', ns);
    const packAfter = await get('skillpack', PACK);
    expect(managedPart(runAfter)).toEqual(managedPart(runApplied));
    expect(managedPart(packAfter)).toEqual(managedPart(packApplied));
    expect(runAfter.metadata.finalizers).toBeUndefined();
    expect(runAfter.metadata.generation).toBe(1);
    expect(foreignWrites(runAfter), JSON.stringify(runAfter.metadata.managedFields)).toEqual([]);
    expect(foreignWrites(packAfter), JSON.stringify(packAfter.metadata.managedFields)).toEqual([]);
    // The operator did write, on the status subresource only, under its own field manager.
    expect(runAfter.metadata.managedFields?.some((m) => m.manager === FIELD_MANAGER && m.subresource === 'status')).toBe(true);
    expect(packAfter.metadata.managedFields?.some((m) => m.manager === FIELD_MANAGER && m.subresource === 'status')).toBe(true);
  });

  it('finds nothing to change on the next sync: a server-side dry run of the same manifests equals the live objects', async () => {
    for (const [manifest, kind, name, namespace] of [[run(), 'agentrun', 'nightly-report', ns], [pack(), 'skillpack', PACK, undefined]] as const) {
      const live = await get(kind, name, namespace);
      const dryRun = parse(await apply(manifest, ['--dry-run=server'])) as Obj;
      expect(managedPart(dryRun)).toEqual(managedPart(live));
      expect(dryRun.metadata.resourceVersion).toBe(live.metadata.resourceVersion); // nothing would be written
    }
  });

  it('applies a toggle made in git without a conflict, and the operator keeps its hands off it', async () => {
    await apply(run(false));
    const toggled = await get('agentrun', 'nightly-report', ns);
    expect((toggled.spec as { skills: { enabled: boolean }[] }).skills[0]!.enabled).toBe(false);
    expect(toggled.metadata.generation).toBe(2);
    await eventually(async () => expect((await get('agentrun', 'nightly-report', ns)).status?.observedGeneration).toBe(2));
    const settled = await get('agentrun', 'nightly-report', ns);
    expect(managedPart(settled)).toEqual(managedPart(toggled));
    expect(foreignWrites(settled)).toEqual([]);
    expect(settled.status?.phase).toBe('Succeeded'); // terminal phases are sticky
  });
});
