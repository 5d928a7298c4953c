import { describe, expect, it } from 'vitest';
import { EMPTY_SNAPSHOT, grantSnapshot, LABEL_RUN_NAMESPACE, parseGrantSnapshot, renderGrantSnapshot } from './index.ts';
import { buildRunObjects, type RunObjects } from '../agentrun/decide/render.ts';
import { skillHoldings } from '../agentrun/decide/holdings.ts';
import { agentRun, apiServer, gitPack, helmPack, kubectlPack, pack, packs, representativeRun, settings } from './testdata/fixtures.ts';

const build = (run = representativeRun, p = packs, snapshot?: ReturnType<typeof grantSnapshot>): RunObjects =>
  buildRunObjects({ run, packs: p, settings, apiServer, snapshot });

describe('ServiceAccount', () => {
  it('never mounts a token by itself', () => {
    expect(build().serviceAccount.automountServiceAccountToken).toBe(false);
  });
});

describe('Role and RoleBinding', () => {
  it('hold exactly the rules of the enabled packs, merged', () => {
    const { role, roleBinding, run } = build();
    expect(role?.rules).toEqual([
      { apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['apps'], resources: ['deployments', 'replicasets'], verbs: ['get', 'list'] },
    ]);
    expect(roleBinding?.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: run.childName });
    expect(roleBinding?.subjects).toEqual([{ kind: 'ServiceAccount', name: run.childName, namespace: 'team-a' }]);
  });

  it('merge rules of several packs', () => {
    const run = agentRun({ skills: [{ name: 'kubectl' }, { name: 'helm' }] });
    expect(build(run).role?.rules).toContainEqual({ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] });
  });

  it('are absent when no granted skill has namespaced rules', () => {
    const objects = build(agentRun({ skills: [{ name: 'git' }, { name: 'helm', enabled: false }] }));
    expect(objects.role).toBeUndefined();
    expect(objects.roleBinding).toBeUndefined();
  });

  it('lose a skill switched off during the run, and get it back when it is switched on', () => {
    const snapshot = grantSnapshot(representativeRun, packs);
    const off = agentRun({ ...representativeRun.spec, skills: [{ name: 'kubectl', enabled: false }, { name: 'helm', enabled: true }] });
    expect(build(off, packs, snapshot).role?.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }]);
    expect(build(representativeRun, packs, snapshot).role?.rules).toEqual(build().role?.rules);
  });

  it('revoke a pack that was deleted or is not Ready (absent from the pack map)', () => {
    const objects = build(representativeRun, new Map([['git', gitPack], ['helm', helmPack]]), grantSnapshot(representativeRun, packs));
    expect(objects.role).toBeUndefined();
    expect(objects.clusterRole).toBeUndefined();
    expect(objects.skills.find((s) => s.name === 'kubectl')).toMatchObject({ available: false, granted: false, rbac: 'Revoked' });
    expect(objects.disabledSkills).toBe('helm,kubectl');
  });

  it('only shrink when a pack changes during the run', () => {
    const snapshot = grantSnapshot(representativeRun, packs);
    const greedy = pack('kubectl', { ...kubectlPack.spec, rbac: { rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }], clusterRules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] } });
    const objects = build(representativeRun, new Map([...packs, ['kubectl', greedy]]), snapshot);
    expect(objects.role?.rules).toEqual(build().role?.rules);
    expect(objects.clusterRole?.rules).toEqual([{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] }]);
  });

  it('give nothing to a skill added after the pod was created (it has no sidecar)', () => {
    const snapshot = grantSnapshot(agentRun({ skills: [{ name: 'git' }] }), packs);
    const objects = build(agentRun({ skills: [{ name: 'git' }, { name: 'kubectl' }] }), packs, snapshot);
    expect(objects.role).toBeUndefined();
    expect(objects.skills.find((s) => s.name === 'kubectl')).toMatchObject({ inPod: false, granted: false });
    expect(objects.disabledSkills).toBe(''); // not in the pod: no gate to close
  });

  it('fail closed on an unreadable snapshot', () => {
    expect(parseGrantSnapshot('{nope').ok).toBe(false);
    expect(parseGrantSnapshot(JSON.stringify({ version: 2, packs: {} })).ok).toBe(false);
    expect(parseGrantSnapshot(undefined).ok).toBe(false);
    const objects = build(representativeRun, packs, EMPTY_SNAPSHOT);
    expect(objects.role).toBeUndefined();
    expect(objects.clusterRole).toBeUndefined();
  });
});

describe('ClusterRole and ClusterRoleBinding', () => {
  it('exist only when a granted skill has clusterRules, cluster-scoped, labelled with the namespace, without owner', () => {
    const { clusterRole, clusterRoleBinding, run } = build();
    expect(clusterRole?.metadata?.name).toBe('skillpod:team-a:triage-incident-4711-3f2a9c1e7b4d');
    expect(clusterRole?.metadata?.namespace).toBeUndefined();
    expect(clusterRole?.metadata?.ownerReferences).toBeUndefined();
    expect(clusterRole?.metadata?.labels?.[LABEL_RUN_NAMESPACE]).toBe('team-a');
    expect(clusterRoleBinding?.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: run.clusterChildName });
    expect(clusterRoleBinding?.subjects).toEqual([{ kind: 'ServiceAccount', name: run.childName, namespace: 'team-a' }]);
    expect(build(agentRun({ skills: [{ name: 'helm' }] })).clusterRole).toBeUndefined();
    expect(build(agentRun({ skills: [{ name: 'kubectl', enabled: false }] })).clusterRoleBinding).toBeUndefined();
  });
});

describe('grant snapshot', () => {
  it('round-trips through the annotation', () => {
    const snapshot = grantSnapshot(representativeRun, packs);
    const parsed = parseGrantSnapshot(renderGrantSnapshot(snapshot));
    expect(parsed).toEqual({ ok: true, snapshot });
    expect(skillHoldings({ run: representativeRun, packs: packs, snapshot: snapshot })).toEqual(skillHoldings({ run: representativeRun, packs: packs }));
  });

  it('names every skill of the pod, switched off or not, even without RBAC or egress', () => {
    const snapshot = grantSnapshot(agentRun({ skills: [{ name: 'helm', enabled: false }, { name: 'plain' }] }), new Map([...packs, ['plain', pack('plain')]]));
    expect(Object.keys(snapshot.packs)).toEqual(['helm', 'plain']);
    expect(snapshot.packs.plain).toEqual({});
  });
});

describe('status of skills', () => {
  it.each([
    ['kubectl', { enabled: true, granted: true, rbac: 'Granted' }],
    ['git', { enabled: true, granted: true, rbac: 'None' }],
    ['helm', { enabled: false, granted: false, rbac: 'Revoked' }],
  ])('%s', (name, want) => {
    expect(build().skills.find((s) => s.name === name)).toMatchObject(want);
  });
});
