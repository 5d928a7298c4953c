import { describe, expect, it } from 'vitest';
import { agentEgressViolations, type AgentEgressRule } from './agent-egress.ts';
import { DEFAULT_GRANT_POLICY, type AgentEgressPolicy } from './grant-policy.ts';

const DEFAULT: AgentEgressPolicy = { cidrs: ['0.0.0.0/0', '::/0'], ports: [443, 80], allowSelectors: false };
const NARROW: AgentEgressPolicy = { cidrs: ['10.20.0.0/16', 'fd00:20::/32'], ports: [443, 8443, 8444], allowSelectors: false };
const ANY_PORT: AgentEgressPolicy = { cidrs: ['10.0.0.0/8'], ports: [], allowSelectors: true };
const https = [{ protocol: 'TCP', port: 443 }];

describe('agentEgressViolations', () => {
  it.each<{ name: string; policy: AgentEgressPolicy; egress: AgentEgressRule[]; want: string[] }>([
    { name: 'nothing asked', policy: NARROW, egress: [], want: [] },
    { name: 'an ipBlock on an allowed port, default policy', policy: DEFAULT, egress: [{ ports: https, to: [{ ipBlock: { cidr: '203.0.113.0/24' } }] }], want: [] },
    { name: 'everywhere on 443, default policy', policy: DEFAULT, egress: [{ ports: https }], want: [] },
    { name: 'an IPv6 block, default policy', policy: DEFAULT, egress: [{ ports: https, to: [{ ipBlock: { cidr: '2001:db8::/32' } }] }], want: [] },
    { name: 'every port', policy: DEFAULT, egress: [{ to: [{ ipBlock: { cidr: '203.0.113.0/24' } }] }], want: ['spec.agent.egress[0]: no ports (every port); allowed: 443, 80'] },
    { name: 'a port not listed', policy: DEFAULT, egress: [{ ports: [{ protocol: 'TCP', port: 22 }] }], want: ['spec.agent.egress[0]: port 22'] },
    { name: 'a named port', policy: DEFAULT, egress: [{ ports: [{ protocol: 'TCP', port: 'https' }] }], want: ['spec.agent.egress[0]: named port https'] },
    { name: 'a protocol without a port', policy: DEFAULT, egress: [{ ports: [{ protocol: 'UDP' }] }], want: ['spec.agent.egress[0]: every UDP port'] },
    { name: 'a range wholly listed', policy: NARROW, egress: [{ ports: [{ protocol: 'TCP', port: 8443, endPort: 8444 }], to: [{ ipBlock: { cidr: '10.20.1.0/24' } }] }], want: [] },
    { name: 'a range not wholly listed', policy: NARROW, egress: [{ ports: [{ protocol: 'TCP', port: 8443, endPort: 8445 }], to: [{ ipBlock: { cidr: '10.20.1.0/24' } }] }], want: ['spec.agent.egress[0]: ports 8443-8445'] },
    { name: 'a block within', policy: NARROW, egress: [{ ports: https, to: [{ ipBlock: { cidr: '10.20.3.4/32' } }, { ipBlock: { cidr: 'fd00:20:1::/48' } }] }], want: [] },
    { name: 'a block wider than allowed', policy: NARROW, egress: [{ ports: https, to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.20.0.0/16'] } }] }], want: ['spec.agent.egress[0]: ipBlock 10.0.0.0/8 lies within none of 10.20.0.0/16, fd00:20::/32'] },
    { name: 'a block elsewhere, second rule', policy: NARROW, egress: [{ ports: https, to: [{ ipBlock: { cidr: '10.20.0.0/24' } }] }, { ports: https, to: [{ ipBlock: { cidr: '192.0.2.1/32' } }] }], want: ['spec.agent.egress[1]: ipBlock 192.0.2.1/32 lies within none of 10.20.0.0/16, fd00:20::/32'] },
    { name: 'everywhere under a narrow policy', policy: NARROW, egress: [{ ports: https }], want: ['spec.agent.egress[0]: no to (everywhere) includes 0.0.0.0/0, outside 10.20.0.0/16, fd00:20::/32; no to (everywhere) includes ::/0, outside 10.20.0.0/16, fd00:20::/32'] },
    { name: 'an IPv4-only policy and everywhere', policy: { ...DEFAULT, cidrs: ['0.0.0.0/0'] }, egress: [{ ports: https }], want: ['spec.agent.egress[0]: no to (everywhere) includes ::/0, outside 0.0.0.0/0'] },
    { name: 'a namespace selector', policy: DEFAULT, egress: [{ ports: https, to: [{ namespaceSelector: {} }] }], want: ['spec.agent.egress[0]: namespaceSelector/podSelector peers are not allowed'] },
    { name: 'a pod selector', policy: DEFAULT, egress: [{ ports: https, to: [{ podSelector: { matchLabels: { app: 'db' } } }] }], want: ['spec.agent.egress[0]: namespaceSelector/podSelector peers are not allowed'] },
    { name: 'selectors and any port when allowed', policy: ANY_PORT, egress: [{ to: [{ namespaceSelector: {} }, { ipBlock: { cidr: '10.1.0.0/16' } }] }], want: [] },
    { name: 'several problems in one rule', policy: NARROW, egress: [{ ports: [{ protocol: 'TCP', port: 80 }], to: [{ ipBlock: { cidr: '0.0.0.0/0' } }, { podSelector: {} }] }],
      want: ['spec.agent.egress[0]: ipBlock 0.0.0.0/0 lies within none of 10.20.0.0/16, fd00:20::/32; namespaceSelector/podSelector peers are not allowed; port 80'] },
    { name: 'nothing allowed at all', policy: { cidrs: [], ports: [443], allowSelectors: false }, egress: [{ ports: https, to: [{ ipBlock: { cidr: '10.0.0.1/32' } }] }], want: ['spec.agent.egress[0]: ipBlock 10.0.0.1/32 lies within none of '] },
  ])('$name', ({ policy, egress, want }) => {
    expect(agentEgressViolations(egress, policy)).toEqual(want);
  });

  it('reads the grant policy\'s settings (defaults when it has none)', () => {
    expect(agentEgressViolations([{ ports: [{ port: 22 }] }], DEFAULT_GRANT_POLICY)).toEqual(['spec.agent.egress[0]: port 22']);
    expect(agentEgressViolations([{ ports: [{ port: 22 }] }], { rules: [], clusterRules: [] })).toEqual(['spec.agent.egress[0]: port 22']);
    expect(agentEgressViolations(undefined, DEFAULT_GRANT_POLICY)).toEqual([]);
  });
});
