// NetworkPolicy egress rules as the run's policy holds them: metadata addresses removed, normalized, deduplicated.
//
// Never reachable from a run (ALWAYS_EXCEPTED_CIDRS): link-local (169.254.0.0/16, fe80::/10), which holds the clouds'
// instance metadata services (169.254.169.254), and the well-known metadata and host services outside it (AWS IMDS
// over IPv6, Alibaba Cloud's metadata, Azure's WireServer); they hand out node credentials. An ipBlock that contains
// one gets it added to `except`; an ipBlock inside one is dropped; a rule left without destinations is dropped (an
// empty `to` would mean "everywhere"); a rule without `to` ("everywhere") becomes every IPv4 and IPv6 address but
// those. Pods are not named: "everywhere" reaches other pods only where the CNI matches ipBlocks against pod IPs, and
// a pack or run that must reach in-cluster pods says so with a selector (which the grant policy bounds for agents).
import type { V1IPBlock, V1NetworkPolicyEgressRule, V1NetworkPolicyPeer, V1NetworkPolicyPort } from '@kubernetes/client-node';
import { containsCIDR, parseCIDR } from '../api/cidr.ts';
import type { EgressRule } from '../api/index.ts';
import { canonicalJSON, uniqueSorted } from './canonical.ts';

export const ALWAYS_EXCEPTED_CIDRS = [
  '169.254.0.0/16', // link-local: AWS, GCP, Azure, OpenStack… metadata at 169.254.169.254
  'fe80::/10', // IPv6 link-local
  '100.100.100.200/32', // Alibaba Cloud metadata
  '168.63.129.16/32', // Azure WireServer
  'fd00:ec2::254/128', // AWS instance metadata over IPv6
] as const;

/** What a rule without `to` becomes (the excepted ranges are added by normalization). */
export const EVERYWHERE: readonly V1NetworkPolicyPeer[] = [{ ipBlock: { cidr: '0.0.0.0/0' } }, { ipBlock: { cidr: '::/0' } }];

function sameFamily(a: string, b: string): boolean {
  return parseCIDR(a)?.family === parseCIDR(b)?.family;
}

/** The ipBlock without the always-excepted addresses, or undefined when nothing of it is left. */
export function ipBlockWithoutMetadata(block: V1IPBlock): V1IPBlock | undefined {
  if (parseCIDR(block.cidr) === undefined) return undefined; // never reached for validated input: fail closed
  let except = [...(block.except ?? [])];
  for (const ll of ALWAYS_EXCEPTED_CIDRS) {
    if (!sameFamily(ll, block.cidr)) continue;
    if (containsCIDR(ll, block.cidr)) return undefined;
    if (containsCIDR(block.cidr, ll)) {
      except = except.filter((e) => !containsCIDR(ll, e));
      if (!except.some((e) => containsCIDR(e, ll))) except.push(ll);
    }
  }
  except = [...new Set(except)].sort();
  return except.length > 0 ? { cidr: block.cidr, except } : { cidr: block.cidr };
}

function normalizePeer(peer: V1NetworkPolicyPeer): V1NetworkPolicyPeer | undefined {
  if (peer.ipBlock) {
    const ipBlock = ipBlockWithoutMetadata(peer.ipBlock);
    return ipBlock ? { ipBlock } : undefined;
  }
  const out: V1NetworkPolicyPeer = {};
  if (peer.namespaceSelector) out.namespaceSelector = peer.namespaceSelector;
  if (peer.podSelector) out.podSelector = peer.podSelector;
  return out.namespaceSelector || out.podSelector ? out : undefined;
}

function normalizePort(port: V1NetworkPolicyPort): V1NetworkPolicyPort {
  const out: V1NetworkPolicyPort = { protocol: port.protocol ?? 'TCP' };
  if (port.port !== undefined) out.port = port.port;
  if (port.endPort !== undefined) out.endPort = port.endPort;
  return out;
}

/** One rule made safe and canonical (peers and ports sorted), or undefined when it has no destination left. */
export function normalizeEgressRule(rule: EgressRule | V1NetworkPolicyEgressRule): V1NetworkPolicyEgressRule | undefined {
  const peers = rule.to && rule.to.length > 0 ? rule.to : EVERYWHERE;
  const to = uniqueSorted(peers.map((p) => normalizePeer(p)).filter((p) => p !== undefined));
  if (to.length === 0) return undefined;
  const out: V1NetworkPolicyEgressRule = {};
  if (rule.ports && rule.ports.length > 0) out.ports = uniqueSorted(rule.ports.map((p) => normalizePort(p)));
  out.to = to;
  return out;
}

/** Rules made safe and canonical, duplicates removed, sorted. */
export function normalizeEgress(rules: ReadonlyArray<EgressRule | V1NetworkPolicyEgressRule>): V1NetworkPolicyEgressRule[] {
  return uniqueSorted(rules.map(normalizeEgressRule).filter((r) => r !== undefined));
}

/**
 * The rules of `current` that `snapshot` also holds, compared whole after normalization: a pack's egress edited
 * during a run can only shrink what the run may reach. A rule that was narrowed in place is dropped rather than
 * intersected (NetworkPolicy peers have no exact intersection, e.g. selectors against ipBlocks); coarse but
 * never wider.
 */
export function intersectEgress(
  current: ReadonlyArray<EgressRule | V1NetworkPolicyEgressRule>,
  snapshot: ReadonlyArray<EgressRule | V1NetworkPolicyEgressRule>,
): V1NetworkPolicyEgressRule[] {
  const held = new Set(normalizeEgress(snapshot).map(canonicalJSON));
  return normalizeEgress(current).filter((r) => held.has(canonicalJSON(r)));
}
