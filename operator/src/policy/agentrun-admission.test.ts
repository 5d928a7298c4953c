import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../api/constants.ts';
import { agentRunAdmissionObjects, agentRunAdmissionYaml, MAX_NAMED_CONFIGMAPS, MAX_NAMED_SECRETS, namespacedUsePacks } from './agentrun-admission.ts';
import { shippedGrantPolicyData } from './skillpack-admission.ts';

const file = resolve(import.meta.dirname, '../../../helm/skillpod/files/admission-agentrun-access.yaml');

interface Policy { metadata: { name: string }; spec: { validations?: Array<{ expression: string }>; variables?: Array<{ name: string; expression: string }> } }

describe('admission-agentrun-access.yaml', () => {
  it('is what the renderer renders (regenerate: npx node operator/src/policy/agentrun-admission.ts > helm/skillpod/files/admission-agentrun-access.yaml)', () => {
    const data = shippedGrantPolicyData(resolve(import.meta.dirname, '../../..'));
    expect(readFileSync(file, 'utf8')).toBe(agentRunAdmissionYaml(data));
    expect(parseAllDocuments(agentRunAdmissionYaml(data)).map((d) => d.toJS() as unknown)).toEqual(agentRunAdmissionObjects(data));
  });

  it('checks every skill a run can have, and the named Secrets and ConfigMaps up to their caps, one authorizer check per expression', () => {
    const policies = (agentRunAdmissionObjects() as Policy[]).filter((_, i) => i % 2 === 0);
    const byName = Object.fromEntries(policies.map((p) => [p.metadata.name, p]));
    const perName = (name: string) => (byName[name]?.spec.validations ?? []).filter((v) => v.expression.includes('.name(variables.names['));
    expect(perName('skillpod-agentrun-skillpack-use')).toHaveLength(LIMITS.skillsPerRun);
    expect(perName('skillpod-agentrun-secret-references')).toHaveLength(MAX_NAMED_SECRETS);
    expect(perName('skillpod-agentrun-configmap-references')).toHaveLength(MAX_NAMED_CONFIGMAPS);
    for (const p of policies) {
      const checks = [...(p.spec.validations ?? []), ...(p.spec.variables ?? [])].map((v) => v.expression.split('.check(').length - 1);
      expect(Math.max(...checks)).toBe(p.metadata.name === 'skillpod-agentrun-egress' ? 0 : 1); // CEL prices a check at 350,000 of 1,000,000 per expression
      expect(checks.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(25); // and of 10,000,000 per policy and request
    }
  });

  it('checks use cluster-scoped except for the packs the setting namespacedUse names, and renders the egress bound from the settings', () => {
    expect(namespacedUsePacks(undefined)).toEqual([]);
    expect(namespacedUsePacks({ namespacedUse: ' b, a ,a,*, BAD, x\' || true' })).toEqual(['*', 'a', 'b']);
    const policies = agentRunAdmissionObjects({ namespacedUse: 'kube-inspector', agentEgressCIDRs: '10.0.0.0/8', agentEgressPorts: '8443', agentEgressSelectors: 'true' }) as Policy[];
    const vars = (name: string) => Object.fromEntries((policies.find((p) => p.metadata.name === name)?.spec.variables ?? []).map((v) => [v.name, v.expression]));
    expect(vars('skillpod-agentrun-skillpack-use').namespaced).toBe("['kube-inspector']");
    expect(vars('skillpod-agentrun-skillpack-use').all).toContain(".namespace('*' in variables.namespaced ? request.namespace : '')");
    expect(vars('skillpod-agentrun-egress')).toMatchObject({ cidrs: "['10.0.0.0/8']", ports: '[8443]', selectors: 'true' });
    const defaults = agentRunAdmissionObjects() as Policy[];
    expect(Object.fromEntries((defaults.find((p) => p.metadata.name === 'skillpod-agentrun-egress')?.spec.variables ?? []).map((v) => [v.name, v.expression])))
      .toMatchObject({ cidrs: "['0.0.0.0/0', '::/0']", ports: '[443, 80]', selectors: 'false' });
  });
});
