// The grant policy as the install sets it: the ConfigMap `skillpod-grant-policy` in the operator's namespace
// (helm/skillpod/files/grant-policy.yaml). One key per grantable resource, its value the verbs, comma-separated:
//
//   pods: get,list,watch              core group
//   pods_log: get,list,watch          a subresource: ConfigMap keys cannot hold '/', so pods/log is written pods_log
//   deployments.apps: get,list,watch  any other group after the first dot
//   cluster_nodes: get,list           `cluster_` in front: allowed in spec.rbac.clusterRules (none by default)
//
// The operator watches the ConfigMap (source.ts); install renders from it the SkillPack admission policy
// (skillpack-admission.ts, which reads keys the same way) and the operator's grantable ClusterRole. Pure.
import { isCIDR } from '../api/cidr.ts';
import { DEFAULT_GRANT_POLICY_SETTINGS, isNeverGrantableResource, isNeverGrantableVerb, type GrantableRule, type GrantPolicy, type GrantPolicySettings } from './grant-policy.ts';

export const GRANT_POLICY_CONFIGMAP = 'skillpod-grant-policy';
export const CLUSTER_KEY_PREFIX = 'cluster_';

/** A resource (or resource_subresource) name: lowercase alphanumerics and dashes, as Kubernetes plurals are. */
const NAME = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const KEY_RE = new RegExp(`^(${CLUSTER_KEY_PREFIX})?(${NAME})(_(${NAME}))?(\\.([a-z0-9]([-a-z0-9.]*[a-z0-9])?))?$`);
const VERB_RE = /^[a-z][a-zA-Z]*$/;

export interface GrantKey {
  cluster: boolean;
  group: string;
  /** With its subresource, as RBAC writes it: `pods/log`. */
  resource: string;
}

/** `pods/log` in the core group → `pods_log`; `deployments` in `apps` → `deployments.apps`; cluster: `cluster_…`. */
export function grantKey({ cluster, group, resource }: GrantKey): string {
  return `${cluster ? CLUSTER_KEY_PREFIX : ''}${resource.replace('/', '_')}${group === '' ? '' : `.${group}`}`;
}

/** The inverse of grantKey, or undefined for a key that is not one. */
export function parseGrantKey(key: string): GrantKey | undefined {
  const m = KEY_RE.exec(key);
  if (!m) return undefined;
  const resource = m[4] !== undefined ? `${m[2]}/${m[5]}` : (m[2] ?? '');
  return { cluster: m[1] !== undefined, group: m[8] ?? '', resource };
}

/**
 * Keys with an upper-case letter are settings, never resources (Kubernetes plurals are lower-case), so one
 * ConfigMap carries both and an old operator reading a new ConfigMap reports them instead of granting anything.
 */
export function isSettingKey(key: string): boolean {
  return /[A-Z]/.test(key);
}

export const SETTING_KEYS = {
  freeArgumentsWithCredentials: 'freeArgumentsWithCredentials',
  agentEgressCIDRs: 'agentEgressCIDRs',
  agentEgressPorts: 'agentEgressPorts',
  agentEgressSelectors: 'agentEgressSelectors',
  /** Packs whose `use` a RoleBinding may grant (comma-separated, `*` every pack); read by agentrun-admission.ts. */
  namespacedUse: 'namespacedUse',
} as const;

const list = (v: string) => v.split(',').map((s) => s.trim()).filter((s) => s !== '');

/**
 * The settings of a grant policy, defaults where a key is absent. A value that does not parse falls back to the
 * default, which is the narrow choice, and is reported.
 */
export function parseGrantPolicySettings(data: Readonly<Record<string, string>> | undefined): { settings: GrantPolicySettings; problems: string[] } {
  const d = data ?? {};
  const problems: string[] = [];
  const defaults = DEFAULT_GRANT_POLICY_SETTINGS;
  const bool = (key: string, fallback: boolean): boolean => {
    const v = d[key]?.trim();
    if (v === undefined) return fallback;
    if (v === 'true' || v === 'false') return v === 'true';
    problems.push(`${key}: '${v}' is not true or false`);
    return fallback;
  };
  let ports = defaults.agentEgress.ports;
  const rawPorts = d[SETTING_KEYS.agentEgressPorts];
  if (rawPorts !== undefined) {
    const parsed = list(rawPorts).map(Number);
    if (parsed.every((n) => Number.isInteger(n) && n >= 1 && n <= 65535)) ports = parsed;
    else problems.push(`${SETTING_KEYS.agentEgressPorts}: '${rawPorts}' is not a list of ports`);
  }
  const rawCIDRs = d[SETTING_KEYS.agentEgressCIDRs];
  const cidrs = rawCIDRs === undefined ? defaults.agentEgress.cidrs : list(rawCIDRs).filter((c) => isCIDR(c) || !problems.push(`${SETTING_KEYS.agentEgressCIDRs}: '${c}' is not a CIDR`));
  for (const key of Object.keys(d)) {
    if (isSettingKey(key) && !(Object.values(SETTING_KEYS) as string[]).includes(key)) problems.push(`${key}: not a setting of the grant policy`);
  }
  return {
    settings: {
      freeArgumentsWithCredentials: bool(SETTING_KEYS.freeArgumentsWithCredentials, defaults.freeArgumentsWithCredentials),
      agentEgress: { cidrs, ports, allowSelectors: bool(SETTING_KEYS.agentEgressSelectors, defaults.agentEgress.allowSelectors) },
    },
    problems,
  };
}

export interface ParsedGrantPolicy {
  policy: GrantPolicy;
  /** Entries left out, as sentences for the log; the rest of the policy still applies. */
  problems: string[];
}

/**
 * A GrantPolicy from ConfigMap data. Each key becomes one allowlist entry. Keys that are not resource names,
 * verbs that are not verbs, and whatever is never grantable (`*`, escalate, bind, impersonate,
 * serviceaccounts/token, …) are left out and reported: a typo narrows the policy, it never widens it.
 */
export function parseGrantPolicyData(data: Readonly<Record<string, string>> | undefined): ParsedGrantPolicy {
  const { settings, problems } = parseGrantPolicySettings(data);
  const policy: GrantPolicy = { rules: [], clusterRules: [], settings };
  for (const key of Object.keys(data ?? {}).sort()) {
    if (isSettingKey(key)) continue;
    const parsed = parseGrantKey(key);
    if (!parsed) {
      problems.push(`${key}: not a resource key (resource, resource_subresource, resource.group; cluster_ in front for cluster rules)`);
      continue;
    }
    if (isNeverGrantableResource(parsed.resource)) {
      problems.push(`${key}: ${parsed.resource} is never grantable`);
      continue;
    }
    const verbs = new Set<string>();
    for (const raw of (data?.[key] ?? '').split(',')) {
      const verb = raw.trim();
      if (verb === '') continue;
      if (isNeverGrantableVerb(verb)) problems.push(`${key}: verb '${verb}' is never grantable`);
      else if (!VERB_RE.test(verb)) problems.push(`${key}: '${verb}' is not a verb`);
      else verbs.add(verb);
    }
    if (verbs.size === 0) {
      problems.push(`${key}: no verbs`);
      continue;
    }
    const entry: GrantableRule = { apiGroups: [parsed.group], resources: [parsed.resource], verbs: [...verbs].sort() };
    (parsed.cluster ? policy.clusterRules : policy.rules).push(entry);
  }
  return { policy, problems };
}

/** Every (cluster, group, resource, verb) a policy allows, for comparing policies whatever their grouping. */
export function grantTuples(policy: GrantPolicy): string[] {
  const tuples = new Set<string>();
  for (const [cluster, entries] of [[false, policy.rules], [true, policy.clusterRules]] as const) {
    for (const e of entries) {
      for (const group of e.apiGroups) for (const resource of e.resources) for (const verb of e.verbs) tuples.add(`${cluster ? 'cluster ' : ''}${verb} ${resource}.${group}`);
    }
  }
  return [...tuples].sort();
}

/** ConfigMap data for a policy: the inverse of parseGrantPolicyData (verbs in the order of the policy, merged per key). */
export function grantPolicyData(policy: GrantPolicy): Record<string, string> {
  const verbsByKey = new Map<string, string[]>();
  for (const [cluster, entries] of [[false, policy.rules], [true, policy.clusterRules]] as const) {
    for (const e of entries) {
      for (const group of e.apiGroups) {
        for (const resource of e.resources) {
          const key = grantKey({ cluster, group, resource });
          const verbs = verbsByKey.get(key) ?? [];
          for (const v of e.verbs) if (!verbs.includes(v)) verbs.push(v);
          verbsByKey.set(key, verbs);
        }
      }
    }
  }
  return Object.fromEntries([...verbsByKey.keys()].sort().map((k) => [k, (verbsByKey.get(k) ?? []).join(',')]));
}
