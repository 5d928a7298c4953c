import type { V1NetworkPolicyEgressRule } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { containsCIDR } from '../api/index.ts';
import { intersectEgress, ipBlockWithoutMetadata, normalizeEgress } from './egress.ts';
import { buildIsolationNetworkPolicy, grantSnapshot, LABEL_RUN_UID } from './index.ts';
import { buildRunObjects } from '../agentrun/decide/render.ts';
import { agentRun, apiServer, gitPack, kubectlPack, pack, packs, representativeRun, RUN_UID, settings } from './testdata/fixtures.ts';

describe('ipBlockWithoutMetadata', () => {
  it.each([
    ['everything gets link-local and the metadata hosts excepted', { cidr: '0.0.0.0/0' },
      { cidr: '0.0.0.0/0', except: ['100.100.100.200/32', '168.63.129.16/32', '169.254.0.0/16'] }],
    ['a block around it too', { cidr: '169.0.0.0/8', except: ['169.1.0.0/16'] }, { cidr: '169.0.0.0/8', except: ['169.1.0.0/16', '169.254.0.0/16'] }],
    ['narrower excepts inside link-local are folded', { cidr: '169.0.0.0/8', except: ['169.254.169.254/32'] }, { cidr: '169.0.0.0/8', except: ['169.254.0.0/16'] }],
    ['a wider except already covers it', { cidr: '160.0.0.0/4', except: ['169.0.0.0/8'] }, { cidr: '160.0.0.0/4', except: ['168.63.129.16/32', '169.0.0.0/8'] }],
    ['Alibaba Cloud metadata inside the CGNAT range', { cidr: '100.64.0.0/10' }, { cidr: '100.64.0.0/10', except: ['100.100.100.200/32'] }],
    ['Azure WireServer alone is dropped', { cidr: '168.63.129.16/32' }, undefined],
    ['a block inside link-local is dropped', { cidr: '169.254.169.254/32' }, undefined],
    ['link-local itself is dropped', { cidr: '169.254.0.0/16' }, undefined],
    ['disjoint blocks are untouched', { cidr: '10.0.0.0/8' }, { cidr: '10.0.0.0/8' }],
    ['IPv6 everything excepts fe80::/10 and AWS IMDS', { cidr: '::/0' }, { cidr: '::/0', except: ['fd00:ec2::254/128', 'fe80::/10'] }],
    ['IPv6 unique-local around AWS IMDS', { cidr: 'fd00::/8' }, { cidr: 'fd00::/8', except: ['fd00:ec2::254/128'] }],
    ['IPv6 link-local is dropped', { cidr: 'fe80::1/128' }, undefined],
  ])('%s', (_what, block, want) => {
    expect(ipBlockWithoutMetadata(block)).toEqual(want);
  });
});

describe('normalizeEgress', () => {
  it('turns "to everywhere" into every address but the metadata ones, and names no pods', () => {
    expect(normalizeEgress([{ ports: [{ protocol: 'TCP', port: 443 }] }])).toEqual([
      {
        ports: [{ protocol: 'TCP', port: 443 }],
        to: [
          { ipBlock: { cidr: '0.0.0.0/0', except: ['100.100.100.200/32', '168.63.129.16/32', '169.254.0.0/16'] } },
          { ipBlock: { cidr: '::/0', except: ['fd00:ec2::254/128', 'fe80::/10'] } },
        ],
      },
    ]);
  });
  it('drops a rule whose every destination was link-local (an empty `to` would mean everywhere)', () => {
    expect(normalizeEgress([{ to: [{ ipBlock: { cidr: '169.254.169.254/32' } }] }])).toEqual([]);
  });
  it('deduplicates rules that differ only in order', () => {
    const a: V1NetworkPolicyEgressRule = { ports: [{ port: 80 }, { port: 443 }], to: [{ ipBlock: { cidr: '10.0.0.0/8' } }, { podSelector: {} }] };
    const b: V1NetworkPolicyEgressRule = { ports: [{ port: 443, protocol: 'TCP' }, { port: 80 }], to: [{ podSelector: {} }, { ipBlock: { cidr: '10.0.0.0/8' } }] };
    expect(normalizeEgress([a, b])).toHaveLength(1);
  });
});

describe('intersectEgress', () => {
  const github = { ports: [{ protocol: 'TCP' as const, port: 443 }], to: [{ ipBlock: { cidr: '140.82.112.0/20' } }] };
  it('keeps only rules the snapshot holds', () => {
    const extra = { ports: [{ protocol: 'TCP' as const, port: 22 }] };
    expect(intersectEgress([github, extra], [github])).toEqual(normalizeEgress([github]));
  });
  it('drops a rule changed in place, even if narrower', () => {
    expect(intersectEgress([{ ...github, to: [{ ipBlock: { cidr: '140.82.112.0/24' } }] }], [github])).toEqual([]);
  });
});

describe('buildNetworkPolicy', () => {
  const build = (run = representativeRun, p = packs, snapshot?: ReturnType<typeof grantSnapshot>) =>
    buildRunObjects({ run, packs: p, settings, apiServer, snapshot }).networkPolicy;

  it('selects the run pod by UID, with no ingress', () => {
    const np = build();
    expect(np.spec?.podSelector).toEqual({ matchLabels: { [LABEL_RUN_UID]: RUN_UID } });
    expect(np.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec?.ingress).toEqual([]);
  });

  it('always allows DNS, to the cluster DNS pods only', () => {
    const dns = build(agentRun()).spec?.egress?.[0];
    expect(dns?.ports).toEqual([{ protocol: 'TCP', port: 53 }, { protocol: 'UDP', port: 53 }]);
    expect(dns?.to).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }]);
  });

  it('allows custom DNS peers', () => {
    const np = buildRunObjects({ run: agentRun(), packs, settings, dnsPeers: [{ namespaceSelector: { matchLabels: { x: 'y' } } }] }).networkPolicy;
    expect(np.spec?.egress?.[0]?.to).toEqual([{ namespaceSelector: { matchLabels: { x: 'y' } } }]);
  });

  const reachesAPI = (np: ReturnType<typeof build>) => (np.spec?.egress ?? []).some((r) => r.to?.some((p) => p.ipBlock?.cidr === '192.168.10.5/32'));

  it('reaches the API server only while a granted skill holds RBAC', () => {
    expect(reachesAPI(build())).toBe(true);
    expect(reachesAPI(build(agentRun({ skills: [{ name: 'git' }] })))).toBe(false);
    expect(reachesAPI(build(agentRun({ skills: [{ name: 'git' }, { name: 'kubectl', enabled: false }] })))).toBe(false);
    expect(reachesAPI(build(agentRun({ skills: [{ name: 'kubectl' }] }), new Map([['git', gitPack]])))).toBe(false);
  });

  it('narrows when a skill is switched off, and widens again when it is switched on', () => {
    const on = agentRun({ skills: [{ name: 'git' }, { name: 'kubectl' }] });
    const snapshot = grantSnapshot(on, packs);
    const off = agentRun({ skills: [{ name: 'git', enabled: false }, { name: 'kubectl' }] });
    const hasGitHub = (np: ReturnType<typeof build>) => JSON.stringify(np).includes('140.82.112.0/20');
    expect(hasGitHub(build(on, packs, snapshot))).toBe(true);
    expect(hasGitHub(build(off, packs, snapshot))).toBe(false);
    expect(hasGitHub(build(on, packs, snapshot))).toBe(true);
  });

  it('never lets link-local through, whatever the agent or packs declare', () => {
    const run = agentRun({
      agent: { egress: [{ to: [{ ipBlock: { cidr: '169.254.169.254/32' } }] }, { ports: [{ port: 80 }] }, { to: [{ ipBlock: { cidr: '128.0.0.0/1' } }, { ipBlock: { cidr: '0.0.0.0/1' } }] }] },
      skills: [{ name: 'wide' }],
    });
    const wide = pack('wide', { egress: [{ to: [{ ipBlock: { cidr: '169.254.0.0/17' } }, { ipBlock: { cidr: '160.0.0.0/4' } }] }] });
    const np = build(run, new Map([['wide', wide]]));
    for (const rule of np.spec?.egress ?? []) {
      expect(rule.to?.length).toBeGreaterThan(0);
      for (const peer of rule.to ?? []) {
        const b = peer.ipBlock;
        if (!b) continue;
        for (const ll of ['169.254.0.0/16', 'fe80::/10']) {
          expect(containsCIDR(ll, b.cidr)).toBe(false);
          if (containsCIDR(b.cidr, ll)) expect((b.except ?? []).some((e) => containsCIDR(e, ll))).toBe(true);
        }
      }
    }
    expect(JSON.stringify(np)).toContain('160.0.0.0/4');
  });

  it('keeps the agent egress, which is immutable, even after pack edits', () => {
    const np = build(representativeRun, new Map([['kubectl', kubectlPack]]), grantSnapshot(representativeRun, packs));
    expect(JSON.stringify(np)).toContain('"except":["10.0.0.0/8","100.100.100.200/32","168.63.129.16/32","169.254.0.0/16"]');
  });
});

describe('buildIsolationNetworkPolicy', () => {
  it('keeps the name and the pod selector, and allows nothing either way', () => {
    const objects = buildRunObjects({ run: representativeRun, packs, settings, apiServer });
    expect(buildIsolationNetworkPolicy(objects.run).metadata?.name).toBe(objects.networkPolicy.metadata?.name);
    expect(buildIsolationNetworkPolicy(objects.run).spec).toEqual({
      podSelector: { matchLabels: { [LABEL_RUN_UID]: RUN_UID } }, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [],
    });
    expect(buildIsolationNetworkPolicy(objects.run).metadata?.ownerReferences).toEqual(objects.networkPolicy.metadata?.ownerReferences);
  });
});
