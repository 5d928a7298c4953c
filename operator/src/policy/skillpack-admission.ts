// Renders the admission policy that makes the API server refuse SkillPacks outside the grant policy
// (helm/skillpod/files/admission-skillpack-grant-policy.yaml), with the grant policy written into it as a CEL map,
// `{'pods': 'get,list,watch', 'deployments.apps': 'get', …}`, read the way configmap.ts reads the ConfigMap.
//
// Not a ValidatingAdmissionPolicy parameter (paramKind ConfigMap), although that was the first design: on
// kube-apiserver 1.36.3 a policy whose parameter is a ConfigMap stops seeing every ConfigMap change, for good, once
// a policy with such a parameter has been deleted and created again (helm uninstall and install, a test that
// removes it): the API server's ConfigMap informer for parameters is dead until it restarts (docs/security.md).
// So, like the operator's grantable ClusterRole, the policy is rendered from the ConfigMap at install: the file
// holds the rendering of grant-policy.yaml, and `make install` re-renders it from the ConfigMap in the cluster.
//
//   npx node operator/src/policy/skillpack-admission.ts > helm/skillpod/files/admission-skillpack-grant-policy.yaml
//
// A unit test fails when the file differs from the rendering of grant-policy.yaml.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { GRANT_POLICY_CONFIGMAP, grantPolicyData, parseGrantPolicyData, parseGrantPolicySettings } from './configmap.ts';
import { NEVER_GRANTABLE_RESOURCES, NEVER_GRANTABLE_VERBS } from './grant-policy.ts';
import { matchConstraints } from './match-constraints.ts';

export const SKILLPACK_POLICY = 'skillpod-skillpack-grant-policy';
const LABELS = { 'app.kubernetes.io/part-of': 'skillpod' };

const celList = (items: readonly string[]) => `[${items.map((i) => `'${i}'`).join(', ')}]`;

/**
 * The grant policy as a CEL map literal, from ConfigMap data: only entries that parse (so only keys and verbs of
 * `[a-z0-9._/-]`, never a quote), in a canonical order.
 */
export function celAllowlist(data: Readonly<Record<string, string>> | undefined): string {
  const canonical = grantPolicyData(parseGrantPolicyData(data).policy);
  return `{${Object.entries(canonical).map(([k, v]) => `'${k}': '${v}'`).join(', ')}}`;
}

/** `verb on resource[.group]` for each grant of rule `r` outside the allowlist; `prefix` is '' or 'cluster_'. */
function denials(prefix: string, groups: string, resources: string): string {
  const key = `'${prefix}' + res.replace('/', '_') + (g == '' ? '' : '.' + g)`;
  return `${groups}.map(g, ${resources}.map(res, r.verbs.filter(v,
  v in variables.neverVerbs || res in variables.neverResources || res.contains('*') || !((${key}) in variables.allowed) ||
  !((',' + variables.allowed[${key}] + ',').contains(',' + v + ','))
).map(v, v + ' on ' + res + (g == '' ? '' : '.' + g)))).flatten().flatten()`;
}

// A CEL raw string: no escape processing, so the regular expression reads as RE2 sees it.
const PLACEHOLDER = String.raw`r'\{[a-zA-Z][a-zA-Z0-9_]{0,62}\}'`;
const NAME_OF = 'p.substring(1, p.size() - 1)';
const WHOLE = String.raw`r'^\{[a-zA-Z][a-zA-Z0-9_]{0,62}\}$'`;
const NAME_OF_E = 'e.substring(1, e.size() - 1)';
/** Every template problem of every tool, as `<tool>: <problem>` (the same rules as templateProblem in api/skillpack.ts). */
const TEMPLATE_PROBLEMS = `object.spec.tools.map(t, t.?args.orValue([]).map(g, g.map(e, e.findAll(${PLACEHOLDER}).map(p,
  !(${NAME_OF} in t.?parameters.?properties.orValue({})) ? [t.name + ': ' + p + ' is not a declared parameter'] :
  t.parameters.properties[${NAME_OF}].type == 'boolean' && e != p ? [t.name + ': boolean ' + p + ' must be a whole element'] : []
)).flatten().flatten() + (g.all(e, e.matches(${WHOLE}) && ${NAME_OF_E} in t.?parameters.?properties.orValue({}) &&
  t.parameters.properties[${NAME_OF_E}].type == 'boolean') ? [t.name + ': a group of boolean placeholders only renders nothing'] : []) + (g.map(e, e.findAll(${PLACEHOLDER}).filter(p, ${NAME_OF} in t.?parameters.?properties.orValue({}) &&
  t.parameters.properties[${NAME_OF}].type == 'array')).flatten().size() > 1 ? [t.name + ': at most one array parameter per group'] : [])
).flatten() + t.?parameters.?properties.orValue({}).filter(k, !t.?args.orValue([]).exists(g, g.exists(e, e.contains('{' + k + '}'))))
  .map(k, t.name + ': parameter ' + k + ' is not used in args')).flatten()`;

export function skillPackAdmissionPolicy(data: Readonly<Record<string, string>> | undefined, namespace = 'skillpod-system'): object {
  const where = `the grant policy (ConfigMap ${namespace}/${GRANT_POLICY_CONFIGMAP}, as installed)`;
  const message = (list: string, first: string, field: string) =>
    `'spec.rbac.${field}[' + string(variables.${first}) + '] asks for what ${where} does not allow: ' + variables.${list}[variables.${first}].join(', ')`;
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: SKILLPACK_POLICY, labels: LABELS },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: matchConstraints({ apiGroups: ['skillpod.io'], apiVersions: ['*'], resources: ['skillpacks'], operations: ['CREATE', 'UPDATE'] }),
      variables: [
        { name: 'allowed', expression: celAllowlist(data) },
        { name: 'neverVerbs', expression: celList(NEVER_GRANTABLE_VERBS) },
        { name: 'neverResources', expression: celList(NEVER_GRANTABLE_RESOURCES) },
        { name: 'changed', expression: 'oldObject == null || object.spec.?rbac != oldObject.spec.?rbac' },
        { name: 'rules', expression: 'object.spec.?rbac.?rules.orValue([])' },
        { name: 'clusterRules', expression: 'object.spec.?rbac.?clusterRules.orValue([])' },
        { name: 'ruleDenials', expression: `variables.rules.map(r, ${denials('', 'r.apiGroups', 'r.resources')})` },
        { name: 'clusterRuleDenials', expression: `variables.clusterRules.map(r, has(r.nonResourceURLs) ? ['nonResourceURLs ' + r.nonResourceURLs.join(', ')] :
  ${denials('cluster_', 'r.?apiGroups.orValue([])', 'r.?resources.orValue([])')})` },
        { name: 'firstRule', expression: 'variables.ruleDenials.map(d, d.size() == 0).indexOf(false)' },
        { name: 'firstClusterRule', expression: 'variables.clusterRuleDenials.map(d, d.size() == 0).indexOf(false)' },
        // Free-argument tools beside credentials (grant-policy.ts, freeArgumentViolations): judged on every spec change.
        { name: 'freeArgumentsWithCredentials', expression: String(parseGrantPolicySettings(data).settings.freeArgumentsWithCredentials) },
        { name: 'holdsCredentials', expression: "variables.rules.size() + variables.clusterRules.size() > 0 || object.spec.?env.orValue([]).exists(e, has(e.valueFrom) && has(e.valueFrom.secretKeyRef))" },
        { name: 'freeTools', expression: 'object.spec.tools.filter(t, t.?freeArguments.orValue(false)).map(t, t.name)' },
        // The argument template rules (api/skillpack.ts, templateProblem), too costly for the CRD's estimated budget.
        { name: 'templateProblems', expression: TEMPLATE_PROBLEMS },
      ],
      validations: [
        { expression: '!variables.changed || variables.firstRule == -1', reason: 'Forbidden', messageExpression: message('ruleDenials', 'firstRule', 'rules') },
        { expression: '!variables.changed || variables.firstClusterRule == -1', reason: 'Forbidden',
          messageExpression: message('clusterRuleDenials', 'firstClusterRule', 'clusterRules') },
        { expression: '(oldObject != null && object.spec == oldObject.spec) || variables.freeArgumentsWithCredentials || !variables.holdsCredentials || variables.freeTools.size() == 0',
          reason: 'Forbidden',
          messageExpression: `'tools ' + variables.freeTools.join(', ') + ' take free arguments, which ${where} does not allow in a pack that holds RBAC rules or env from a Secret (freeArgumentsWithCredentials: false): make them typed tools (parameters and args)'` },
        { expression: '(oldObject != null && object.spec == oldObject.spec) || variables.templateProblems.size() == 0',
          reason: 'Invalid',
          messageExpression: "'argument template: ' + variables.templateProblems.join('; ')" },
      ],
    },
  };
}

export function skillPackAdmissionBinding(): object {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: SKILLPACK_POLICY, labels: LABELS },
    spec: { policyName: SKILLPACK_POLICY, validationActions: ['Deny'] },
  };
}

const HEADER = `# GENERATED by operator/src/policy/skillpack-admission.ts from grant-policy.yaml; do not edit (a unit test compares).
#
# The API server refuses a SkillPack whose spec.rbac goes beyond the grant policy, naming the rule and each verb on
# each resource outside it. The grant policy is written into the policy (variables.allowed) at install: this file
# holds the rendering of grant-policy.yaml, \`make install\` re-renders it from the ConfigMap in the cluster, and the
# chart renders it from values.grantPolicy. (Not a policy parameter: see skillpack-admission.ts and
# docs/security.md.) The operator makes the same check (Ready=False, reason OutsideGrantPolicy) against the
# ConfigMap itself, at once when it changes.
#
# Only a change of spec.rbac is judged on update, so labels, annotations and finalizers of a pack that the policy
# has since been narrowed to exclude can still be edited (the operator keeps it not Ready meanwhile).
`;

export function skillPackAdmissionYaml(data: Readonly<Record<string, string>> | undefined): string {
  return `${HEADER}${stringify(skillPackAdmissionPolicy(data), { lineWidth: 0 })}---\n${stringify(skillPackAdmissionBinding(), { lineWidth: 0 })}`;
}

/** The data of the ConfigMap in helm/skillpod/files/grant-policy.yaml. */
export function shippedGrantPolicyData(root: string): Record<string, string> {
  const docs = parseAllDocuments(readFileSync(resolve(root, 'helm/skillpod/files/grant-policy.yaml'), 'utf8')).map((d) => d.toJS() as { kind?: string; data?: Record<string, string> });
  return docs.find((d) => d.kind === 'ConfigMap')?.data ?? {};
}

if (import.meta.main) process.stdout.write(skillPackAdmissionYaml(shippedGrantPolicyData(resolve(import.meta.dirname, '../../..'))));
