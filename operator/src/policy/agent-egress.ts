// The bound on an AgentRun's spec.agent.egress (what the agent itself may reach, e.g. its model endpoint), set at
// install by the grant policy settings agentEgressCIDRs, agentEgressPorts and agentEgressSelectors. The admission
// policy skillpod-agentrun-egress (agentrun-admission.ts) makes the API server refuse a run outside it; the operator
// calls this for the same verdict (a run created while the policy was wider, or without the admission policy). Pure.
import { containsCIDR, isCIDR } from '../api/cidr.ts';
import { policySettings, type AgentEgressPolicy, type GrantPolicy } from './grant-policy.ts';

/** The parts of an egress rule (api/core.ts EgressRuleSchema) this reads. */
export interface AgentEgressRule {
  ports?: readonly { protocol?: string | undefined; port?: number | string | undefined; endPort?: number | undefined }[] | undefined;
  to?: readonly {
    ipBlock?: { cidr: string; except?: readonly string[] | undefined } | undefined;
    namespaceSelector?: unknown;
    podSelector?: unknown;
  }[] | undefined;
}

/** What a rule without `to` reaches: every address (still never link-local or metadata, see builders). */
const EVERYWHERE = ['0.0.0.0/0', '::/0'];

function withinAny(cidr: string, allowed: readonly string[]): boolean {
  return isCIDR(cidr) && allowed.some((a) => isCIDR(a) && containsCIDR(a, cidr));
}

/**
 * Every way `egress` goes beyond the policy, one sentence per rule at fault (`spec.agent.egress[i]: …`), in the
 * words of the admission policy; empty when it is within. `policy` is the grant policy (its settings) or its
 * agentEgress setting itself.
 */
export function agentEgressViolations(egress: readonly AgentEgressRule[] | undefined, policy: GrantPolicy | AgentEgressPolicy): string[] {
  const bound: AgentEgressPolicy = 'cidrs' in policy ? policy : policySettings(policy).agentEgress;
  const ports = new Set(bound.ports);
  const out: string[] = [];
  (egress ?? []).forEach((rule, i) => {
    const problems: string[] = [];
    const to = rule.to ?? [];
    if (to.length === 0) {
      for (const c of EVERYWHERE) if (!withinAny(c, bound.cidrs)) problems.push(`no to (everywhere) includes ${c}, outside ${bound.cidrs.join(', ')}`);
    }
    for (const peer of to) {
      if (peer.ipBlock) {
        if (!withinAny(peer.ipBlock.cidr, bound.cidrs)) problems.push(`ipBlock ${peer.ipBlock.cidr} lies within none of ${bound.cidrs.join(', ')}`);
      } else if (!bound.allowSelectors) {
        problems.push('namespaceSelector/podSelector peers are not allowed');
      }
    }
    if (ports.size > 0) {
      const listed = rule.ports ?? [];
      if (listed.length === 0) problems.push(`no ports (every port); allowed: ${bound.ports.join(', ')}`);
      for (const p of listed) {
        if (p.port === undefined) problems.push(`every ${p.protocol ?? 'TCP'} port`);
        else if (typeof p.port === 'string') problems.push(`named port ${p.port}`);
        else if (p.endPort !== undefined) {
          let all = true;
          for (let n = p.port; n <= p.endPort && all; n++) all = ports.has(n);
          if (!all) problems.push(`ports ${p.port}-${p.endPort}`);
        } else if (!ports.has(p.port)) problems.push(`port ${p.port}`);
      }
    }
    if (problems.length > 0) out.push(`spec.agent.egress[${i}]: ${problems.join('; ')}`);
  });
  return out;
}
