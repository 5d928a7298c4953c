// Renders helm/skillpod/files/admission-agentrun-access.yaml: the admission policies that decide who may put what
// into an AgentRun. Generated rather than written by hand because the API server prices every authorizer check
// in CEL at 350,000 of a 1,000,000 budget per expression and 10,000,000 per policy and request: one expression
// can make two checks, one policy about 28. So each policy checks one kind of reference, each validation checks
// one name (by its position in the list), and a single check on the whole resource first (the user may use every
// pack / get every Secret in the namespace) spares the per-name ones in the common case.
//
//   npx node operator/src/policy/agentrun-admission.ts > helm/skillpod/files/admission-agentrun-access.yaml
//
// A unit test fails when the file and this renderer differ.
import { stringify } from 'yaml';
import { LIMITS } from '../api/constants.ts';
import { matchConstraints } from './match-constraints.ts';

/** How many distinct Secrets (ConfigMaps) a run may reference when its creator may get them by name only. */
export const MAX_NAMED_SECRETS = 16;
export const MAX_NAMED_CONFIGMAPS = 16;

const LABELS = { 'app.kubernetes.io/part-of': 'skillpod' };

interface Check {
  /** Policy name suffix and the noun in messages. */
  name: string;
  noun: string;
  group: string;
  resource: string;
  verb: string;
  /** CEL: the names to check in this request (distinct). */
  variables: Array<{ name: string; expression: string }>;
  max: number;
  /** What the message says the reference was for. */
  purpose: string;
  header: string;
}

const envRefs = (object: string, kind: 'secretKeyRef' | 'configMapKeyRef') =>
  `${object}.spec.?agent.?env.orValue([]).filter(e, has(e.valueFrom) && has(e.valueFrom.${kind})).map(e, e.valueFrom.${kind}.name)`;
const pullSecrets = (object: string) => `${object}.spec.?imagePullSecrets.orValue([]).map(s, s.name)`;

const CHECKS: Check[] = [
  {
    name: 'skillpack-use', noun: 'SkillPack', group: 'skillpod.io', resource: 'skillpacks', verb: 'use', max: LIMITS.skillsPerRun,
    purpose: 'to run it or switch it on',
    header: [
      'The verb `use` on each SkillPack (skillpacks.skillpod.io, by name) a run names when it is created, and on each skill an',
      'update adds enabled or switches on. Switching a skill off, and edits that enable nothing new, are never refused: a user',
      'whose `use` was withdrawn can still switch skills off; nobody can switch one on without it. The check names the run\'s',
      'namespace, so `use` may come from a ClusterRoleBinding (every namespace) or a RoleBinding there (that namespace only).',
    ].join('\n'),
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

function policy(check: Check): object {
  const target = `authorizer.group('${check.group}').resource('${check.resource}').namespace(request.namespace)`;
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: `skillpod-agentrun-${check.name}`, labels: LABELS },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: matchConstraints({ apiGroups: ['skillpod.io'], apiVersions: ['*'], resources: ['agentruns'], operations: ['CREATE', 'UPDATE'] }),
      variables: [
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
          expression: `variables.all || variables.names.size() <= ${i} || ${target}.name(variables.names[${i}]).check('${check.verb}').allowed()`,
          reason: 'Forbidden',
          messageExpression: `request.userInfo.username + ' needs ${check.verb === 'use' ? 'the verb use' : check.verb} on ${check.noun} ' + variables.names[${i}] + ` +
            `' in namespace ' + request.namespace + ' ${check.purpose}'`,
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

/** The policies and bindings, in file order. */
export function agentRunAdmissionObjects(): object[] {
  return CHECKS.flatMap((c) => [policy(c), binding(c)]);
}

/** The file's text. */
export function agentRunAdmissionYaml(): string {
  const intro = [
    '# GENERATED by operator/src/policy/agentrun-admission.ts; do not edit (a unit test compares).',
    '#',
    '# Who may put what into an AgentRun (docs/security.md). The API server asks its own authorizer, as the user making',
    '# the request, in the run\'s namespace. One policy per kind of reference: CEL allows about 28 authorizer checks per',
    '# policy and request, so each validation checks one name, after one check on the whole resource.',
  ].join('\n');
  const docs = CHECKS.map((c) => `#\n${c.header.split('\n').map((l) => `# ${l}`).join('\n')}\n${stringify(policy(c), { lineWidth: 0 })}---\n${stringify(binding(c), { lineWidth: 0 })}`);
  return `${intro}\n${docs.join('---\n')}`;
}

if (import.meta.main) process.stdout.write(agentRunAdmissionYaml());
