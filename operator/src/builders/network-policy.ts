// The run's NetworkPolicy: selects its pod by the run-UID label; no ingress at all; egress to DNS, to the API
// server while a granted skill has RBAC, and to what the agent and the granted skills declare. Never link-local
// (egress.ts). NetworkPolicy is per pod, not per container: every container of the pod may reach all of it.
import type { V1NetworkPolicy, V1NetworkPolicyEgressRule, V1NetworkPolicyPeer } from '@kubernetes/client-node';
import type { AgentRun } from '../api/index.ts';
import { normalizeEgress, normalizeEgressRule } from './egress.ts';
import type { SkillGrant } from './grants.ts';
import { runLabels, runSelector } from './labels.ts';
import { ownerReference } from './owner.ts';
import type { RunRef } from './run.ts';

/** One address of the API server, from the `default/kubernetes` EndpointSlice (IP and target port, e.g. 6443). */
export interface APIServerEndpoint {
  ip: string;
  port: number;
}

/**
 * Default DNS destination: the cluster DNS pods as kubeadm, GKE, EKS, AKS and k3s label them
 * (`k8s-app: kube-dns` in `kube-system`), UDP and TCP 53. Deliberately not "port 53 anywhere", which would let an
 * agent tunnel data to a DNS server of its choosing. Clusters with other DNS (OpenShift's openshift-dns listens on
 * 5353) pass their own peers; NodeLocal DNSCache at 169.254.20.10 cannot be allowed (link-local never is).
 */
export const DEFAULT_DNS_PEERS: readonly V1NetworkPolicyPeer[] = [
  {
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
    podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
  },
];

export interface NetworkPolicyOptions {
  /** Where DNS is; DEFAULT_DNS_PEERS when absent. */
  dnsPeers?: readonly V1NetworkPolicyPeer[] | undefined;
  /** The API server's endpoints; reachable only while a granted skill holds RBAC. Empty: no API server rule. */
  apiServer?: readonly APIServerEndpoint[] | undefined;
}

export function dnsEgressRule(peers: readonly V1NetworkPolicyPeer[] = DEFAULT_DNS_PEERS): V1NetworkPolicyEgressRule | undefined {
  return normalizeEgressRule({
    ports: [
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ],
    to: [...peers],
  });
}

/**
 * One rule per API server port, to the endpoint IPs as /32 (or /128). CNIs evaluate policy after the Service's
 * DNAT, so the endpoint address and target port count, not the `kubernetes` Service's cluster IP and 443.
 */
export function apiServerEgressRules(endpoints: readonly APIServerEndpoint[]): V1NetworkPolicyEgressRule[] {
  const byPort = new Map<number, Set<string>>();
  for (const { ip, port } of endpoints) byPort.set(port, (byPort.get(port) ?? new Set()).add(ip));
  return [...byPort.entries()]
    .sort(([a], [b]) => a - b)
    .map(([port, ips]) =>
      normalizeEgressRule({
        ports: [{ protocol: 'TCP', port }],
        to: [...ips].sort().map((ip) => ({ ipBlock: { cidr: `${ip}/${ip.includes(':') ? 128 : 32}` } })),
      }),
    )
    .filter((r) => r !== undefined);
}

export function buildNetworkPolicy(
  run: RunRef,
  agentRun: Pick<AgentRun, 'spec'>,
  grants: readonly SkillGrant[],
  options: NetworkPolicyOptions = {},
): V1NetworkPolicy {
  const granted = grants.filter((g) => g.granted);
  const needsAPI = granted.some((g) => g.rules.length + g.clusterRules.length > 0);
  const dns = dnsEgressRule(options.dnsPeers ?? DEFAULT_DNS_PEERS);
  const egress: V1NetworkPolicyEgressRule[] = [
    ...(dns ? [dns] : []),
    ...(needsAPI ? apiServerEgressRules(options.apiServer ?? []) : []),
    ...normalizeEgress([...(agentRun.spec.agent?.egress ?? []), ...granted.flatMap((g) => g.egress)]),
  ];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: run.childName, namespace: run.namespace, labels: runLabels(run), ownerReferences: [ownerReference(run)] },
    spec: {
      podSelector: { matchLabels: runSelector(run) },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress,
    },
  };
}

/**
 * The run's NetworkPolicy once its grants are revoked while something of its pod may still run: same name, the pod
 * selected, no ingress and no egress. Replacing the policy (instead of deleting it) means the pod is never without one.
 */
export function buildIsolationNetworkPolicy(run: RunRef): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: run.childName, namespace: run.namespace, labels: runLabels(run), ownerReferences: [ownerReference(run)] },
    spec: { podSelector: { matchLabels: runSelector(run) }, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] },
  };
}
