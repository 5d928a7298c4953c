// Renders helm/skillpod/files/admission-agentrun-access.yaml: the admission policies that decide who may put what
// into an AgentRun. Generated rather than written by hand because the API server prices every authorizer check
// in CEL at 350,000 of a 1,000,000 budget per expression and 10,000,000 per policy and request: one expression
// can make two checks, one policy about 28. So each policy checks one kind of reference, each validation checks
// one name (by its position in the list), and a single check on the whole resource first (the user may use every
// pack / get every Secret in the namespace) spares the per-name ones in the common case.
//
//   npx node operator/src/policy/agentrun-admission.ts > helm/skillpod/files/admission-agentrun-access.yaml
//
// Two parts follow the grant policy ConfigMap's settings and are rendered into the policies at install, like the
// SkillPack policy's allowlist (`make install` from the ConfigMap in the cluster, the chart from values.grantPolicy):
// the packs whose `use` a RoleBinding may grant (namespacedUse) and the bound on the agent's egress (agentEgress*).
//
// A unit test fails when the file and this renderer differ (rendered from helm/skillpod/files/grant-policy.yaml).
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { LIMITS } from '../api/constants.ts';
import { parseGrantPolicySettings, SETTING_KEYS } from './configmap.ts';
import { matchConstraints } from './match-constraints.ts';
import { shippedGrantPolicyData } from './skillpack-admission.ts';

/** How many distinct Secrets (ConfigMaps) a run may reference when its creator may get them by name only. */
export const MAX_NAMED_SECRETS = 16;
export const MAX_NAMED_CONFIGMAPS = 16;

const LABELS = { 'app.kubernetes.io/part-of': 'skillpod' };

/**
 * The packs whose `use` may be granted in one namespace (a RoleBinding; `*`: every pack), from the setting
 * namespacedUse (comma-separated). Every other pack's `use` is checked cluster-scoped, so only a ClusterRoleBinding
 * grants it: a wildcard role in a namespace (or a Role its holder writes there) never does.
 */
export function namespacedUsePacks(data: Readonly<Record<string, string>> | undefined): string[] {
  const raw = data?.[SETTING_KEYS.namespacedUse] ?? '';
  return [...new Set(raw.split(',').map((s) => s.trim()).filter((s) => s === '*' || /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s)))].sort();
}

interface Check {
  /** Policy name suffix and the noun in messages. */
  name: string;
  noun: string;
  group: string;
  resource: string;
  verb: string;
  /** CEL: the names to check in this request (distinct). */
  variables: Array<{ name: string; expression: string }>;
  /** CEL: the namespace of the check on the whole resource and of the check of name `n` (default: the run's). */
  allNamespace?: string;
  nameNamespace?: (n: string) => string;
  /** CEL: where the message says the permission is missing (default: in the run's namespace). */
  messageWhere?: (n: string) => string;
  /** Variables rendered from the grant policy's settings. */
  settingsVariables?: (data: Readonly<Record<string, string>> | undefined) => Array<{ name: string; expression: string }>;
  max: number;
  /** What the message says the reference was for. */
  purpose: string;
  header: string;
}

const envRefs = (object: string, kind: 'secretKeyRef' | 'configMapKeyRef') =>
  `${object}.spec.?agent.?env.orValue([]).filter(e, has(e.valueFrom) && has(e.valueFrom.${kind})).map(e, e.valueFrom.${kind}.name)`;
const pullSecrets = (object: string) => `${object}.spec.?imagePullSecrets.orValue([]).map(s, s.name)`;

const USE_NAMESPACED = (n: string) => `variables.namespaced.exists(p, p == '*' || p == ${n})`;

const CHECKS: Check[] = [
  {
    name: 'skillpack-use', noun: 'SkillPack', group: 'skillpod.io', resource: 'skillpacks', verb: 'use', max: LIMITS.skillsPerRun,
    purpose: 'to run it or switch it on',
    header: [
      'The verb `use` on each SkillPack (skillpacks.skillpod.io, by name) a run names when it is created, and on each skill an',
      'update adds enabled or switches on. Switching a skill off, and edits that enable nothing new, are never refused: a user',
      'whose `use` was withdrawn can still switch skills off; nobody can switch one on without it. The check is cluster-scoped,',
      'so only a ClusterRoleBinding grants `use`: a wildcard role in a namespace (a RoleBinding to cluster-admin or admin with',
      'wildcards), or a Role its holder writes there, never does. Packs listed in the grant policy setting namespacedUse',
      '(variables.namespaced, rendered at install) are checked in the run\'s namespace, so a RoleBinding there grants them too.',
    ].join('\n'),
    allNamespace: "'*' in variables.namespaced ? request.namespace : ''",
    nameNamespace: (n) => `${USE_NAMESPACED(n)} ? request.namespace : ''`,
    messageWhere: (n) => `(${USE_NAMESPACED(n)} ? ' in namespace ' + request.namespace : ' (cluster-wide: a ClusterRoleBinding)')`,
    settingsVariables: (data) => [{ name: 'namespaced', expression: celStrings(namespacedUsePacks(data)) }],
    variables: [
      { name: 'wasEnabled', expression: "oldObject == null ? [] : oldObject.spec.?skills.orValue([]).filter(s, s.?enabled.orValue(true)).map(s, s.name)" },
      { name: 'names', expression: "object.spec.?skills.orValue([]).filter(s, oldObject == null || (s.?enabled.orValue(true) && !(s.name in variables.wasEnabled))).map(s, s.name)" },
    ],
  },
  {
    name: 'secret-references', noun: 'Secret', group: '', resource: 'secrets', verb: 'get', max: MAX_NAMED_SECRETS,
    purpose: 'to reference it in an AgentRun (agent env, imagePullSecrets)',
    header: [
      '`get` on every Secret a run references (agent env valueFrom.secretKeyRef, imagePullSecrets), for each reference the',
      'request adds: a user who cannot read a Secret cannot get it into a run, and so not into its pod or its result.',
    ].join('\n'),
    variables: [
      { name: 'old', expression: `oldObject == null ? [] : ${envRefs('oldObject', 'secretKeyRef')} + ${pullSecrets('oldObject')}` },
      { name: 'names', expression: `(${envRefs('object', 'secretKeyRef')} + ${pullSecrets('object')}).filter(n, !(n in variables.old)).distinct()` },
    ],
  },
  {
    name: 'configmap-references', noun: 'ConfigMap', group: '', resource: 'configmaps', verb: 'get', max: MAX_NAMED_CONFIGMAPS,
    purpose: 'to reference it in an AgentRun (agent env)',
    header: '`get` on every ConfigMap a run references (agent env valueFrom.configMapKeyRef), for each reference the request adds.',
    variables: [
      { name: 'old', expression: `oldObject == null ? [] : ${envRefs('oldObject', 'configMapKeyRef')}` },
      { name: 'names', expression: `${envRefs('object', 'configMapKeyRef')}.filter(n, !(n in variables.old)).distinct()` },
    ],
  },
];

const celStrings = (items: readonly string[]) => `[${items.map((i) => `'${i}'`).join(', ')}]`;

function policy(check: Check, data: Readonly<Record<string, string>> | undefined): object {
  const base = `authorizer.group('${check.group}').resource('${check.resource}')`;
  const target = `${base}.namespace(${check.allNamespace ?? 'request.namespace'})`;
  const nameTarget = (n: string) => `${base}.namespace(${check.nameNamespace?.(n) ?? 'request.namespace'}).name(${n})`;
  const where = (n: string) => check.messageWhere?.(n) ?? "' in namespace ' + request.namespace";
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: `skillpod-agentrun-${check.name}`, labels: LABELS },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: matchConstraints({ apiGroups: ['skillpod.io'], apiVersions: ['*'], resources: ['agentruns'], operations: ['CREATE', 'UPDATE'] }),
      variables: [
        ...(check.settingsVariables?.(data) ?? []),
        ...check.variables,
        { name: 'all', expression: `variables.names.size() == 0 || ${target}.check('${check.verb}').allowed()` },
      ],
      validations: [
        {
          expression: `variables.all || variables.names.size() <= ${check.max}`,
          reason: 'Forbidden',
          messageExpression: `request.userInfo.username + ' may not ${check.verb} every ${check.noun} in namespace ' + request.namespace + ` +
            `', so each is checked by name, at most ${check.max} in one request; this one adds ' + string(variables.names.size())`,
        },
        ...Array.from({ length: check.max }, (_, i) => ({
          expression: `variables.all || variables.names.size() <= ${i} || ${nameTarget(`variables.names[${i}]`)}.check('${check.verb}').allowed()`,
          reason: 'Forbidden',
          messageExpression: `request.userInfo.username + ' needs ${check.verb === 'use' ? 'the verb use' : check.verb} on ${check.noun} ' + variables.names[${i}] + ` +
            `${where(`variables.names[${i}]`)} + ' ${check.purpose}'`,
        })),
      ],
    },
  };
}

function binding(check: Check): object {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: `skillpod-agentrun-${check.name}`, labels: LABELS },
    spec: { policyName: `skillpod-agentrun-${check.name}`, validationActions: ['Deny'] },
  };
}

// ---------------------------------------------------------------------------------------------- agent egress

export const EGRESS_POLICY = 'skillpod-agentrun-egress';

/**
 * Every problem of one egress rule `r`, as text (agent-egress.ts, agentEgressViolations, says the same in
 * TypeScript): an ipBlock outside every allowed CIDR, "everywhere" (no `to`) when 0.0.0.0/0 or ::/0 is outside,
 * selector peers unless allowed, and, unless the allowed ports are empty (any), a rule without ports, a port not
 * listed, a named port, a range not wholly listed.
 */
const EGRESS_RULE_PROBLEMS = `(r.?to.orValue([]).size() == 0
  ? ['0.0.0.0/0', '::/0'].filter(c, !variables.cidrs.exists(a, cidr(a).containsCIDR(c))).map(c, 'no to (everywhere) includes ' + c + ', outside ' + variables.cidrs.join(', '))
  : r.to.map(p, has(p.ipBlock)
      ? (variables.cidrs.exists(a, cidr(a).containsCIDR(p.ipBlock.cidr)) ? [] : ['ipBlock ' + p.ipBlock.cidr + ' lies within none of ' + variables.cidrs.join(', ')])
      : (variables.selectors ? [] : ['namespaceSelector/podSelector peers are not allowed'])).flatten()) +
(variables.ports.size() == 0 ? [] : r.?ports.orValue([]).size() == 0 ? ['no ports (every port); allowed: ' + variables.ports.map(x, string(x)).join(', ')] :
  r.ports.map(p, !has(p.port) ? ['every ' + p.?protocol.orValue('TCP') + ' port'] :
    type(p.port) == string ? ['named port ' + string(p.port)] :
    has(p.endPort) ? (variables.ports.filter(x, x >= int(p.port) && x <= p.endPort).size() == p.endPort - int(p.port) + 1 ? [] : ['ports ' + string(p.port) + '-' + string(p.endPort)]) :
    (int(p.port) in variables.ports ? [] : ['port ' + string(p.port)])).flatten())`;

function egressPolicy(data: Readonly<Record<string, string>> | undefined, namespace = 'skillpod-system'): object {
  const { agentEgress } = parseGrantPolicySettings(data).settings;
  const where = `the grant policy (ConfigMap ${namespace}/skillpod-grant-policy, as installed)`;
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: EGRESS_POLICY, labels: LABELS },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: matchConstraints({ apiGroups: ['skillpod.io'], apiVersions: ['*'], resources: ['agentruns'], operations: ['CREATE', 'UPDATE'] }),
      variables: [
        { name: 'cidrs', expression: celStrings(agentEgress.cidrs) },
        { name: 'ports', expression: `[${[...new Set(agentEgress.ports)].join(', ')}]` },
        { name: 'selectors', expression: String(agentEgress.allowSelectors) },
        { name: 'changed', expression: 'oldObject == null || object.spec.?agent.?egress != oldObject.spec.?agent.?egress' },
        { name: 'problems', expression: `object.spec.?agent.?egress.orValue([]).map(r, ${EGRESS_RULE_PROBLEMS})` },
        { name: 'first', expression: 'variables.problems.map(p, p.size() == 0).indexOf(false)' },
      ],
      validations: [{
        expression: '!variables.changed || variables.first == -1',
        reason: 'Forbidden',
        messageExpression: `'spec.agent.egress[' + string(variables.first) + '] goes beyond what ${where} lets an agent reach: ' + variables.problems[variables.first].join('; ')`,
      }],
    },
  };
}

function egressBinding(): object {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: EGRESS_POLICY, labels: LABELS },
    spec: { policyName: EGRESS_POLICY, validationActions: ['Deny'] },
  };
}

const EGRESS_HEADER = [
  'What spec.agent.egress of an AgentRun may open (the agent\'s own egress, e.g. its model endpoint), bounded by the grant',
  'policy settings agentEgressCIDRs, agentEgressPorts and agentEgressSelectors (variables cidrs, ports, selectors, rendered',
  'at install): every ipBlock within one of the CIDRs (no `to` means 0.0.0.0/0 and ::/0), every port listed (a rule without',
  'ports only when the list is empty: any port), namespace and pod selectors only when allowed. The operator makes the',
  'same check (policy/agent-egress.ts). Link-local and metadata addresses are excepted from every rule whatever this says.',
].join('\n');

/** The policies and bindings, in file order; `data`: the grant policy ConfigMap's data (its settings count here). */
export function agentRunAdmissionObjects(data?: Readonly<Record<string, string>>, namespace = 'skillpod-system'): object[] {
  return [...CHECKS.flatMap((c) => [policy(c, data), binding(c)]), egressPolicy(data, namespace), egressBinding()];
}

/** The file's text. */
export function agentRunAdmissionYaml(data?: Readonly<Record<string, string>>): string {
  const intro = [
    '# GENERATED by operator/src/policy/agentrun-admission.ts from grant-policy.yaml; do not edit (a unit test compares).',
    '#',
    '# Who may put what into an AgentRun (docs/security.md). The API server asks its own authorizer, as the user making',
    '# the request. One policy per kind of reference: CEL allows about 28 authorizer checks per policy and request, so',
    '# each validation checks one name, after one check on the whole resource.',
  ].join('\n');
  const comment = (text: string) => `#\n${text.split('\n').map((l) => `# ${l}`).join('\n')}\n`;
  const docs = CHECKS.map((c) => `${comment(c.header)}${stringify(policy(c, data), { lineWidth: 0 })}---\n${stringify(binding(c), { lineWidth: 0 })}`);
  docs.push(`${comment(EGRESS_HEADER)}${stringify(egressPolicy(data), { lineWidth: 0 })}---\n${stringify(egressBinding(), { lineWidth: 0 })}`);
  return `${intro}\n${docs.join('---\n')}`;
}

if (import.meta.main) process.stdout.write(agentRunAdmissionYaml(shippedGrantPolicyData(resolve(import.meta.dirname, '../../..'))));
