// What SkillPacks may grant: an allowlist set at install (design.md section 5). The operator checks every pack
// against it (SkillPack Ready=False naming the rule), an admission policy makes the API server refuse packs
// outside it, and the chart renders the same list into the operator's own ClusterRole, so the operator holds
// exactly what it may hand out and needs neither `escalate` nor `bind`.

/** One allowlist entry: any combination of these groups, resources and verbs may be granted. */
export interface GrantableRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export interface GrantPolicy {
  /** What packs may grant in the run's namespace (`spec.rbac.rules`). */
  rules: GrantableRule[];
  /** What packs may grant cluster-wide (`spec.rbac.clusterRules`); empty by default. */
  clusterRules: GrantableRule[];
  /** The policy's other settings; DEFAULT_GRANT_POLICY_SETTINGS when absent. */
  settings?: GrantPolicySettings;
}

export interface AgentEgressPolicy {
  /** spec.agent.egress ipBlocks must lie within one of these. */
  cidrs: string[];
  /** Ports spec.agent.egress may name; empty: any port. */
  ports: number[];
  /** Whether namespaceSelector and podSelector peers are allowed at all. */
  allowSelectors: boolean;
}

export interface GrantPolicySettings {
  /** May a pack that holds RBAC rules or Secret-backed env have a tool with freeArguments? Default false. */
  freeArgumentsWithCredentials: boolean;
  agentEgress: AgentEgressPolicy;
}

export const DEFAULT_GRANT_POLICY_SETTINGS: GrantPolicySettings = {
  freeArgumentsWithCredentials: false,
  agentEgress: { cidrs: ['0.0.0.0/0', '::/0'], ports: [443, 80], allowSelectors: false },
};

/** The settings of a policy, defaults filled in. */
export function policySettings(policy: GrantPolicy): GrantPolicySettings {
  return policy.settings ?? DEFAULT_GRANT_POLICY_SETTINGS;
}

/** The parts of a SkillPack spec the free-argument rule reads. */
export interface PackCredentials {
  tools: readonly { name: string; freeArguments?: boolean | undefined }[];
  rbac?: { rules?: readonly unknown[] | undefined; clusterRules?: readonly unknown[] | undefined } | undefined;
  env?: readonly { valueFrom?: { secretKeyRef?: unknown } | undefined }[] | undefined;
}

/** What a pack holds that a hostile agent driving a free-argument tool could turn against it. */
export function packCredentials(spec: PackCredentials): string[] {
  const held: string[] = [];
  if ((spec.rbac?.rules?.length ?? 0) + (spec.rbac?.clusterRules?.length ?? 0) > 0) held.push('RBAC rules');
  if ((spec.env ?? []).some((e) => e.valueFrom?.secretKeyRef !== undefined)) held.push('env from a Secret');
  return held;
}

/** Tools of the pack that take free arguments, by name. */
export function freeArgumentTools(spec: PackCredentials): string[] {
  return spec.tools.filter((t) => t.freeArguments === true).map((t) => t.name);
}

/**
 * Free-argument tools in a pack that holds credentials, unless the policy allows it: the tool's flag set is larger
 * than any argument policy, so whatever the sidecar can read must be assumed readable by the agent.
 */
export function freeArgumentViolations(spec: PackCredentials, policy: GrantPolicy): string[] {
  if (policySettings(policy).freeArgumentsWithCredentials) return [];
  const held = packCredentials(spec);
  if (held.length === 0) return [];
  return spec.tools.flatMap((t, i) =>
    t.freeArguments === true
      ? [`spec.tools[${i}] (${t.name}): free arguments are not allowed in a pack that holds ${held.join(' and ')} (grant policy freeArgumentsWithCredentials is false)`]
      : [],
  );
}


/** The subset of a PolicyRule the check reads; nonResourceURLs only occur in cluster rules. */
export interface RequestedRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

const READ = ['get', 'list', 'watch'];

/**
 * Read-only verbs on common namespaced resources. Not here, on purpose: secrets (a read is a credential),
 * pods/exec, pods/attach, pods/portforward (code execution), serviceaccounts/token (identity), any write, and
 * every cluster-wide rule.
 */
export const DEFAULT_GRANT_POLICY: GrantPolicy = {
  rules: [
    { apiGroups: [''], resources: ['pods', 'pods/log', 'services', 'endpoints', 'configmaps', 'events',
      'persistentvolumeclaims', 'replicationcontrollers', 'serviceaccounts', 'limitranges', 'resourcequotas'], verbs: READ },
    { apiGroups: ['apps'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'], verbs: READ },
    { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: READ },
    { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: READ },
    { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: READ },
    { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'networkpolicies'], verbs: READ },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
    { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: READ },
  ],
  clusterRules: [],
  settings: DEFAULT_GRANT_POLICY_SETTINGS,
};

/**
 * Never grantable, whatever the allowlist says: a wildcard makes the allowlist meaningless, and these verbs and
 * resources turn a grant into a way to gain any other permission.
 */
export const NEVER_GRANTABLE_VERBS: readonly string[] = ['*', 'bind', 'escalate', 'impersonate'];
export const NEVER_GRANTABLE_RESOURCES: readonly string[] = ['*', 'certificatesigningrequests/approval', 'nodes/proxy',
  'pods/ephemeralcontainers', 'serviceaccounts/token', 'subjectaccessreviews', 'tokenreviews'];
const NEVER_VERBS = new Set(NEVER_GRANTABLE_VERBS);
const NEVER_RESOURCES = new Set(NEVER_GRANTABLE_RESOURCES);

export function isNeverGrantableVerb(verb: string): boolean {
  return NEVER_VERBS.has(verb);
}

/** Listed above, or any resource holding a wildcard (such as `pods/` + `*`): RBAC reads those as many resources. */
export function isNeverGrantableResource(resource: string): boolean {
  return NEVER_RESOURCES.has(resource) || resource.includes('*');
}

function allows(entry: GrantableRule, group: string, resource: string, verb: string): boolean {
  return entry.apiGroups.includes(group) && entry.resources.includes(resource) && entry.verbs.includes(verb);
}

/** Every way `rule` (at `path`, e.g. `spec.rbac.rules[0]`) goes beyond `allowlist`, as readable sentences. */
export function ruleViolations(rule: RequestedRule, allowlist: GrantableRule[], path: string): string[] {
  const problems: string[] = [];
  if (rule.nonResourceURLs?.length) {
    problems.push(`${path}: nonResourceURLs (${rule.nonResourceURLs.join(', ')}) are never grantable`);
    return problems;
  }
  for (const group of rule.apiGroups ?? []) {
    if (group === '*') problems.push(`${path}: apiGroups '*' is never grantable`);
  }
  for (const resource of rule.resources ?? []) {
    if (isNeverGrantableResource(resource)) problems.push(`${path}: resource '${resource}' is never grantable`);
  }
  for (const verb of rule.verbs) {
    if (isNeverGrantableVerb(verb)) problems.push(`${path}: verb '${verb}' is never grantable`);
  }
  if (problems.length > 0) return problems;
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      const refused = rule.verbs.filter((verb) => !allowlist.some((entry) => allows(entry, group, resource, verb)));
      if (refused.length > 0) {
        const what = group === '' ? resource : `${resource}.${group}`;
        problems.push(`${path}: ${refused.join(', ')} on ${what} is not in the grant policy`);
      }
    }
  }
  return problems;
}

/** Every way a pack's RBAC goes beyond the policy; empty when the pack is within it. */
export function packViolations(rbac: { rules?: RequestedRule[]; clusterRules?: RequestedRule[] } | undefined, policy: GrantPolicy): string[] {
  const problems: string[] = [];
  (rbac?.rules ?? []).forEach((rule, i) => problems.push(...ruleViolations(rule, policy.rules, `spec.rbac.rules[${i}]`)));
  (rbac?.clusterRules ?? []).forEach((rule, i) => {
    if (policy.clusterRules.length === 0) problems.push(`spec.rbac.clusterRules[${i}]: cluster rules are not allowed by the grant policy`);
    else problems.push(...ruleViolations(rule, policy.clusterRules, `spec.rbac.clusterRules[${i}]`));
  });
  return problems;
}
