import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../api/constants.ts';
import { agentRunAdmissionObjects, agentRunAdmissionYaml, MAX_NAMED_CONFIGMAPS, MAX_NAMED_SECRETS } from './agentrun-admission.ts';

const file = resolve(import.meta.dirname, '../../../helm/skillpod/files/admission-agentrun-access.yaml');

interface Policy { metadata: { name: string }; spec: { validations?: Array<{ expression: string }>; variables?: Array<{ name: string; expression: string }> } }

describe('admission-agentrun-access.yaml', () => {
  it('is what the renderer renders (regenerate: npx node operator/src/policy/agentrun-admission.ts > helm/skillpod/files/admission-agentrun-access.yaml)', () => {
    expect(readFileSync(file, 'utf8')).toBe(agentRunAdmissionYaml());
    expect(parseAllDocuments(agentRunAdmissionYaml()).map((d) => d.toJS() as unknown)).toEqual(agentRunAdmissionObjects());
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
      expect(Math.max(...checks)).toBe(1); // CEL prices a check at 350,000 of 1,000,000 per expression
      expect(checks.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(25); // and of 10,000,000 per policy and request
    }
  });
});
