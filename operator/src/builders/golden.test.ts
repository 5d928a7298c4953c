// Golden files: the rendered objects of representative runs, reviewed as YAML. Regenerate with
//   UPDATE_GOLDEN=1 npx vitest run --project unit operator/src/builders
// and read the diff: every change to them is a change to what runs in clusters (test/harness/golden.ts: a missing
// golden file fails, and CI never writes one).
import { describe, it } from 'vitest';
import { stringify } from 'yaml';
import { expectGolden } from '../../../test/harness/golden.ts';
import { grantSnapshot } from './index.ts';
import { buildRunObjects, type RunObjects } from '../agentrun/decide/render.ts';
import { agentRun, apiServer, gitPack, helmPack, pack, packs, representativeRun, settings } from './testdata/fixtures.ts';

function render(objects: RunObjects, extra: Record<string, unknown> = {}): string {
  const docs = [
    objects.serviceAccount,
    objects.role,
    objects.roleBinding,
    objects.clusterRole,
    objects.clusterRoleBinding,
    objects.networkPolicy,
    objects.configMap,
    objects.pod,
  ].filter((d) => d !== undefined);
  const summary = { skills: objects.skills.map(({ name, enabled, available, inPod, granted, rbac }) => ({ name, enabled, available, inPod, granted, rbac })), disabledSkills: objects.disabledSkills, ...extra };
  return [`# summary (not an object): ${JSON.stringify(summary)}\n`, ...docs.map((d) => stringify(d, { lineWidth: 0 }))].join('---\n');
}

function golden(name: string, actual: string): void {
  expectGolden(new URL(`./testdata/${name}.golden.yaml`, import.meta.url), actual);
}

describe('golden', () => {
  it('representative run: RBAC pack with clusterRules, pack without RBAC, pack switched off, placement fields', () => {
    golden('representative', render(buildRunObjects({ run: representativeRun, packs, settings, apiServer })));
  });

  it('minimal run: no skills, default agent image, defaults everywhere', () => {
    golden('minimal', render(buildRunObjects({ run: agentRun({ task: 'Say hello.' }, { name: 'hello', namespace: 'default', uid: 'a1b2c3d4-0000-4000-8000-000000000000' }), packs: new Map(), settings, apiServer })));
  });

  it('running run after toggles and pack edits: kubectl off, helm on, git widened its egress, kubectl pack gone', () => {
    const snapshot = grantSnapshot(representativeRun, packs);
    const toggled = { ...representativeRun, spec: { ...representativeRun.spec, skills: [{ name: 'kubectl', enabled: false }, { name: 'git', enabled: true }, { name: 'helm', enabled: true }] } };
    const widenedGit = pack('git', {
      ...gitPack.spec,
      egress: [...(gitPack.spec.egress ?? []), { ports: [{ port: 22 }], to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }],
    });
    const widenedHelm = pack('helm', { ...helmPack.spec, rbac: { rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] } });
    const now = new Map([['git', widenedGit], ['helm', widenedHelm]]);
    const objects = buildRunObjects({ run: toggled, packs: now, settings, apiServer, snapshot });
    delete objects.pod; // never rebuilt for a running run
    golden('running-toggled', render(objects));
  });
});
