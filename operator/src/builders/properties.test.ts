// Properties over random runs and packs: what must hold for every pod and every set of grants.
import type { KubernetesObject, V1Container } from '@kubernetes/client-node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { containsCIDR, type SkillPack } from '../api/index.ts';
import { grantSnapshot, LABEL_MANAGED_BY, LABEL_RUN, LABEL_RUN_NAMESPACE, LABEL_RUN_UID, packHasRBAC, quantityValue } from './index.ts';
import { buildRunObjects, type RunObjects } from '../agentrun/decide/render.ts';
import { agentRun, apiServer, pack, settings } from './testdata/fixtures.ts';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const TOKEN_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

const dnsLabel = (max: number) =>
  fc.stringMatching(/^[a-z]([-a-z0-9]{0,70}[a-z0-9])?$/).filter((s) => s.length <= max && !s.includes('--'));
const cidr = fc.constantFrom('0.0.0.0/0', '10.0.0.0/8', '169.254.0.0/16', '169.254.169.254/32', '128.0.0.0/1', '169.0.0.0/8', '::/0', 'fe80::/64', '2001:db8::/32');
const egress = fc.array(
  fc.record(
    {
      ports: fc.array(fc.record({ protocol: fc.constantFrom('TCP' as const, 'UDP' as const), port: fc.integer({ min: 1, max: 65535 }) }), { maxLength: 2 }),
      to: fc.array(fc.oneof(fc.record({ ipBlock: fc.record({ cidr }) }), fc.constant({ namespaceSelector: {} })), { maxLength: 3 }),
    },
    { requiredKeys: [] },
  ),
  { maxLength: 3 },
);
const rules = fc.array(
  fc.record({
    apiGroups: fc.constantFrom<string[]>([''], ['apps'], ['*']),
    resources: fc.constantFrom<string[]>(['pods'], ['secrets', 'configmaps'], ['*']),
    verbs: fc.constantFrom<string[]>(['get'], ['get', 'list'], ['*']),
  }),
  { maxLength: 3 },
);
const packArb = (name: string): fc.Arbitrary<SkillPack> =>
  fc
    .record({
      rbac: fc.option(fc.record({ rules, clusterRules: fc.option(rules, { nil: undefined }) }), { nil: undefined }),
      egress: fc.option(egress, { nil: undefined }),
      resources: fc.option(fc.record({ requests: fc.option(fc.record({ cpu: fc.constantFrom('10m', '2', '750m') }), { nil: undefined }), limits: fc.option(fc.record({ memory: fc.constantFrom('32Mi', '8Gi') }), { nil: undefined }) }), { nil: undefined }),
    })
    .map((spec) => pack(name, spec));

const scenario = fc
  .record({
    runName: fc.oneof(dnsLabel(63), fc.constant('a.b.c'), fc.constant('x'.repeat(63))),
    namespace: dnsLabel(63),
    uid: fc.uuid(),
    skills: fc.uniqueArray(dnsLabel(57), { maxLength: 4 }),
    enabled: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    agentEgress: egress,
    agentResources: fc.option(fc.record({ requests: fc.record({ memory: fc.constantFrom('4Gi', '1Mi') }) }), { nil: undefined }),
    podLabels: fc.dictionary(fc.constantFrom('team', 'app', 'example.com/tier'), fc.constantFrom('a', 'b')),
  })
  .chain((s) => fc.tuple(fc.constant(s), fc.tuple(...s.skills.map(packArb))));

function objectsOf(o: RunObjects): KubernetesObject[] {
  return [o.serviceAccount, o.role, o.roleBinding, o.clusterRole, o.clusterRoleBinding, o.networkPolicy, o.configMap, o.pod].filter((x) => x !== undefined);
}

describe('for every run', () => {
  it('the pod and its objects keep every invariant', () => {
    fc.assert(
      fc.property(scenario, ([s, packList]) => {
        const run = agentRun(
          {
            skills: s.skills.map((name, i) => ({ name, enabled: s.enabled[i] ?? true })),
            agent: { egress: s.agentEgress, ...(s.agentResources ? { resources: s.agentResources } : {}) },
            podLabels: s.podLabels,
          },
          { name: s.runName, namespace: s.namespace, uid: s.uid },
        );
        const packs = new Map(packList.map((p) => [p.metadata.name ?? '', p]));
        const o = buildRunObjects({ run, packs, settings, apiServer });
        const pod = o.pod!;
        const spec = pod.spec!;
        const containers: V1Container[] = [...(spec.initContainers ?? []), ...spec.containers];

        // Labels on everything; owner references on namespaced objects only.
        for (const obj of objectsOf(o)) {
          expect(obj.metadata?.labels).toMatchObject({ [LABEL_MANAGED_BY]: 'skillpod', [LABEL_RUN]: s.runName, [LABEL_RUN_UID]: s.uid });
          if (obj.metadata?.namespace) expect(obj.metadata.ownerReferences?.[0]?.uid).toBe(s.uid);
          else expect(obj.metadata?.labels?.[LABEL_RUN_NAMESPACE]).toBe(s.namespace);
        }

        // Names: DNS labels of at most 63 characters.
        for (const name of [pod.metadata?.name, ...containers.map((c) => c.name), ...(spec.volumes ?? []).map((v) => v.name)]) {
          expect(name).toMatch(DNS_LABEL);
          expect(name?.length).toBeLessThanOrEqual(63);
        }

        // One sidecar per skill; the token only where the pack has RBAC; never in the agent.
        expect(spec.initContainers?.map((c) => c.name)).toEqual(['skillpod-install', ...[...s.skills].sort().map((n) => `skill-${n}`)]);
        const tokenVolumes = new Set((spec.volumes ?? []).filter((v) => v.projected?.sources?.some((x) => x.serviceAccountToken)).map((v) => v.name));
        for (const c of containers) {
          const p = packs.get(c.name.replace(/^skill-/, ''));
          const hasToken = (c.volumeMounts ?? []).some((m) => tokenVolumes.has(m.name) || m.mountPath.startsWith('/var/run/secrets'));
          expect(hasToken).toBe(c.name.startsWith('skill-') && p !== undefined && packHasRBAC(p));
          if (hasToken) expect(c.volumeMounts?.find((m) => tokenVolumes.has(m.name))?.mountPath).toBe(TOKEN_DIR);
        }

        // Security context and resources on every container, requests never above limits.
        for (const c of containers) {
          const sc = c.securityContext;
          expect(sc?.allowPrivilegeEscalation).toBe(false);
          expect(sc?.capabilities?.drop).toEqual(['ALL']);
          expect(sc?.readOnlyRootFilesystem).toBe(true);
          expect(sc?.runAsNonRoot).toBe(true);
          expect(sc?.runAsUser).toBeGreaterThan(0);
          expect(sc?.runAsGroup).toBeGreaterThan(0);
          expect(sc?.seccompProfile?.type).toBe('RuntimeDefault');
          for (const r of ['cpu', 'memory']) {
            const req = c.resources?.requests?.[r];
            const lim = c.resources?.limits?.[r];
            expect(req).toBeDefined();
            expect(lim).toBeDefined();
            expect(quantityValue(req!)).toBeLessThanOrEqual(quantityValue(lim!));
          }
        }

        // Never link-local; never an egress rule without destinations.
        for (const rule of o.networkPolicy.spec?.egress ?? []) {
          expect(rule.to?.length).toBeGreaterThan(0);
          for (const b of (rule.to ?? []).map((p) => p.ipBlock).filter((b) => b !== undefined)) {
            for (const ll of ['169.254.0.0/16', 'fe80::/10']) {
              expect(containsCIDR(ll, b.cidr)).toBe(false);
              if (containsCIDR(b.cidr, ll)) expect(b.except?.some((e) => containsCIDR(e, ll))).toBe(true);
            }
          }
        }

        // Deterministic: the order of skills in the spec does not matter.
        const reversed = agentRun({ ...run.spec, skills: [...(run.spec.skills ?? [])].reverse() }, { name: s.runName, namespace: s.namespace, uid: s.uid });
        expect(buildRunObjects({ run: reversed, packs, settings, apiServer })).toEqual(o);

        // With its own snapshot, a running run holds what it held at creation.
        const again = buildRunObjects({ run, packs, settings, apiServer, snapshot: grantSnapshot(run, packs) });
        expect(again.role).toEqual(o.role);
        expect(again.clusterRole).toEqual(o.clusterRole);
        expect(again.networkPolicy).toEqual(o.networkPolicy);
      }),
      { numRuns: 150 },
    );
  });
});
