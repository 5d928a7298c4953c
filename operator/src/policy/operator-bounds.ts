// Renders helm/skillpod/files/admission-operator-bounds.yaml: the admission policy that bounds every write of the
// operator's ServiceAccount as if the operator were compromised (docs/security.md, "The operator's permissions").
// Allowlists, not denylists: the kinds it writes, the content of the Roles and ClusterRoles it writes (within the
// grant policy, written into the policy as a CEL map exactly as skillpack-admission.ts writes it), the bindings
// (the run's own role to the run's own ServiceAccount), and the pods (volume kinds, the restricted security
// context on every container, no host ports, Secrets only through the env of the agent and of skill sidecars,
// scheduling away from control-plane nodes, no spec change after creation).
//
//   npx node operator/src/policy/operator-bounds.ts > helm/skillpod/files/admission-operator-bounds.yaml
//
// `make install` renders it again from the grant policy ConfigMap in the cluster, the chart from
// values.grantPolicy (variable `allowed`). A unit test fails when the file differs from the rendering of
// grant-policy.yaml.
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { FINALIZER_CLUSTER_GRANTS } from '../api/constants.ts';
import { NEVER_GRANTABLE_RESOURCES, NEVER_GRANTABLE_VERBS } from './grant-policy.ts';
import { shippedGrantPolicyData, celAllowlist } from './skillpack-admission.ts';

export const BOUNDS_POLICY = 'skillpod-operator-bounds';
const LABELS = { 'app.kubernetes.io/part-of': 'skillpod' };
/** The pod annotation the operator may change after creation: the executors' switch-off gate. */
const GATE_ANNOTATION = 'skillpod.io/disabled-skills';
/** The only AgentRun finalizer the operator adds or removes. */
const RUN_FINALIZER = FINALIZER_CLUSTER_GRANTS;
/** Taint and label keys of control-plane nodes: no toleration or node selector may name them. */
export const CONTROL_PLANE_KEYS = ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master'];

const celList = (items: readonly string[]) => `[${items.map((i) => `'${i}'`).join(', ')}]`;

/** A container (`c`) runs restricted: Pod Security's `restricted` profile, container level or pod default. */
const RESTRICTED = `c.?securityContext.?allowPrivilegeEscalation.orValue(true) == false &&
  !c.?securityContext.?privileged.orValue(false) &&
  c.?securityContext.?capabilities.?drop.orValue([]).exists(d, d == 'ALL') &&
  c.?securityContext.?capabilities.?add.orValue([]).size() == 0 &&
  c.?securityContext.?runAsNonRoot.orValue(variables.podNonRoot) == true &&
  c.?securityContext.?runAsUser.orValue(variables.podUser) != 0 &&
  c.?securityContext.?seccompProfile.?type.orValue(variables.podSeccomp) in ['RuntimeDefault', 'Localhost'] &&
  c.?securityContext.?appArmorProfile.?type.orValue(variables.podAppArmor) != 'Unconfined' &&
  c.?securityContext.?procMount.orValue('Default') == 'Default' &&
  !c.?securityContext.?seLinuxOptions.hasValue() &&
  !c.?securityContext.?windowsOptions.?hostProcess.orValue(false)`;

/** A volume (`v`) of an allowed kind. */
const ALLOWED_VOLUME = `has(v.emptyDir) ||
  (has(v.configMap) && v.configMap.name == variables.name) ||
  has(v.downwardAPI) ||
  (has(v.projected) && v.projected.?sources.orValue([]).all(s,
    (has(s.serviceAccountToken) && s.serviceAccountToken.?audience.orValue('') == '') ||
    (has(s.configMap) && s.configMap.name == 'kube-root-ca.crt') ||
    (has(s.downwardAPI) && s.downwardAPI.?items.orValue([]).all(i, i.?fieldRef.?fieldPath.orValue('') == 'metadata.namespace'))))`;

/** `verb on resource[.group]` for each grant of rule `r` outside the allowlist (as in skillpack-admission.ts). */
const DENIALS = `has(r.nonResourceURLs) ? ['nonResourceURLs ' + r.nonResourceURLs.join(', ')] :
  r.?apiGroups.orValue([]).map(g, r.?resources.orValue([]).map(res, r.verbs.filter(v,
  v in variables.neverVerbs || res in variables.neverResources || res.contains('*') || g == '*' ||
  !((variables.rulePrefix + res.replace('/', '_') + (g == '' ? '' : '.' + g)) in variables.allowed) ||
  !((',' + variables.allowed[variables.rulePrefix + res.replace('/', '_') + (g == '' ? '' : '.' + g)] + ',').contains(',' + v + ','))
).map(v, v + ' on ' + res + (g == '' ? '' : '.' + g)))).flatten().flatten()`;

export function operatorBoundsPolicy(data: Readonly<Record<string, string>> | undefined, namespace = 'skillpod-system', serviceAccount = 'skillpod-operator'): object {
  const where = `the grant policy (ConfigMap ${namespace}/skillpod-grant-policy, as installed)`;
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: BOUNDS_POLICY, labels: LABELS },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        matchPolicy: 'Equivalent',
        namespaceSelector: {},
        objectSelector: {},
        resourceRules: [{ apiGroups: ['*'], apiVersions: ['*'], resources: ['*/*'], operations: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'], scope: '*' }],
      },
      matchConditions: [{ name: 'operator-service-account', expression: `request.userInfo.username == 'system:serviceaccount:${namespace}:${serviceAccount}'` }],
      variables: [
        { name: 'op', expression: 'request.operation' },
        { name: 'resource', expression: "(request.resource.group == '' ? '' : request.resource.group + '/') + request.resource.resource +\n(request.?subResource.orValue('') == '' ? '' : '/' + request.subResource)" },
        { name: 'operatorNamespace', expression: "request.userInfo.username.split(':')[2]" },
        { name: 'clusterKinds', expression: "['rbac.authorization.k8s.io/clusterroles', 'rbac.authorization.k8s.io/clusterrolebindings']" },
        { name: 'runKinds', expression: "['pods', 'serviceaccounts', 'configmaps', 'networking.k8s.io/networkpolicies', 'rbac.authorization.k8s.io/roles',\n'rbac.authorization.k8s.io/rolebindings'] + variables.clusterKinds" },
        { name: 'isRunKind', expression: 'variables.resource in variables.runKinds' },
        { name: 'writes', expression: "variables.op == 'CREATE' || variables.op == 'UPDATE'" },
        { name: 'labels', expression: 'variables.writes ? object.metadata.?labels.orValue({}) : {}' },
        { name: 'oldLabels', expression: 'oldObject != null ? oldObject.metadata.?labels.orValue({}) : {}' },
        { name: 'name', expression: "variables.writes ? object.metadata.name : (oldObject != null ? oldObject.metadata.name : request.?name.orValue(''))" },
        { name: 'uid', expression: "variables.labels[?'skillpod.io/run-uid'].orValue('')" },
        { name: 'uidIsUUID', expression: "variables.uid.matches('^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')" },
        { name: 'suffix', expression: "variables.uidIsUUID ? '-' + variables.uid.substring(0, 8) + variables.uid.substring(9, 13) : '-?'" },
        // Roles and ClusterRoles by content: the grant policy as installed (the SkillPack policy's allowlist).
        { name: 'allowed', expression: celAllowlist(data) },
        { name: 'neverVerbs', expression: celList(NEVER_GRANTABLE_VERBS) },
        { name: 'neverResources', expression: celList(NEVER_GRANTABLE_RESOURCES) },
        { name: 'isRole', expression: "variables.writes && variables.resource in ['rbac.authorization.k8s.io/roles', 'rbac.authorization.k8s.io/clusterroles']" },
        { name: 'rulePrefix', expression: "variables.resource == 'rbac.authorization.k8s.io/clusterroles' ? 'cluster_' : ''" },
        { name: 'ruleDenials', expression: `variables.isRole ? object.?rules.orValue([]).map(r, ${DENIALS}) : []` },
        { name: 'firstDenied', expression: 'variables.ruleDenials.map(d, d.size() == 0).indexOf(false)' },
        // Pods by allowlist.
        { name: 'isPodCreate', expression: "variables.resource == 'pods' && variables.op == 'CREATE'" },
        { name: 'podNonRoot', expression: 'variables.isPodCreate ? object.spec.?securityContext.?runAsNonRoot.orValue(false) : false' },
        { name: 'podUser', expression: 'variables.isPodCreate ? object.spec.?securityContext.?runAsUser.orValue(-1) : -1' },
        { name: 'podSeccomp', expression: "variables.isPodCreate ? object.spec.?securityContext.?seccompProfile.?type.orValue('') : ''" },
        { name: 'podAppArmor', expression: "variables.isPodCreate ? object.spec.?securityContext.?appArmorProfile.?type.orValue('') : ''" },
        { name: 'containers', expression: 'variables.isPodCreate ? object.spec.containers + object.spec.?initContainers.orValue([]) : []' },
        { name: 'unrestricted', expression: `variables.containers.filter(c, !(${RESTRICTED})).map(c, c.name)` },
        { name: 'hostPorts', expression: 'variables.containers.filter(c, c.?ports.orValue([]).exists(p, p.?hostPort.orValue(0) != 0)).map(c, c.name)' },
        { name: 'secretRefs', expression: "variables.containers.filter(c, c.?envFrom.orValue([]).exists(e, has(e.secretRef)) ||\n  (c.name != 'agent' && !c.name.startsWith('skill-') && c.?env.orValue([]).exists(e, has(e.valueFrom) && has(e.valueFrom.secretKeyRef)))).map(c, c.name)" },
        { name: 'badVolumes', expression: `variables.isPodCreate ? object.spec.?volumes.orValue([]).filter(v, !(${ALLOWED_VOLUME})).map(v, v.name) : []` },
        { name: 'controlPlaneKeys', expression: celList(CONTROL_PLANE_KEYS) },
      ],
      validations: [
        {
          expression: "variables.isRunKind ||\nvariables.resource in ['events', 'events.k8s.io/events', 'skillpod.io/agentruns/status', 'skillpod.io/skillpacks/status'] ||\n(variables.resource == 'coordination.k8s.io/leases' && request.?namespace.orValue('') == variables.operatorNamespace && variables.op != 'CONNECT') ||\n(variables.resource == 'skillpod.io/agentruns' && (variables.op == 'UPDATE' || variables.op == 'DELETE'))",
          reason: 'Forbidden',
          messageExpression: "'the Skillpod operator may not ' + variables.op + ' ' + variables.resource",
        },
        // Only what it manages is updated or deleted.
        {
          expression: "!variables.isRunKind || variables.op == 'CREATE' || variables.oldLabels[?'app.kubernetes.io/managed-by'].orValue('') == 'skillpod'",
          reason: 'Forbidden',
          messageExpression: "'the Skillpod operator may not ' + variables.op + ' ' + variables.resource + ' ' + variables.name +\n': it does not carry app.kubernetes.io/managed-by=skillpod'",
        },
        // What it writes is labelled and named as a run's object, and owned by that run.
        {
          expression: "!variables.isRunKind || !variables.writes || (\n  variables.labels[?'app.kubernetes.io/managed-by'].orValue('') == 'skillpod' &&\n  variables.labels[?'skillpod.io/run'].orValue('') != '' && variables.uidIsUUID &&\n  variables.name.endsWith(variables.suffix) &&\n  (variables.resource in variables.clusterKinds\n    ? variables.name.startsWith('skillpod:' + variables.labels[?'skillpod.io/run-namespace'].orValue('?') + ':')\n    : object.metadata.?ownerReferences.orValue([]).exists(o,\n        o.kind == 'AgentRun' && o.apiVersion.startsWith('skillpod.io/') && o.uid == variables.uid &&\n        o.name == variables.labels['skillpod.io/run'] && o.?controller.orValue(false))))",
          reason: 'Forbidden',
          messageExpression: "'the Skillpod operator may write ' + variables.resource + ' ' + variables.name + ' only as the object of a run: ' +\n'labels app.kubernetes.io/managed-by=skillpod, skillpod.io/run and skillpod.io/run-uid (a UUID), a name ending in ' +\n'the first 12 hex digits of that UID, and (namespaced) a controlling owner reference to that AgentRun'",
        },
        // Roles and ClusterRoles: every rule within the grant policy, no aggregation.
        {
          expression: 'variables.firstDenied == -1',
          reason: 'Forbidden',
          messageExpression: `'the Skillpod operator may write ' + variables.resource + ' ' + variables.name + ' only with rules within ${where}: rules[' + string(variables.firstDenied) + '] grants ' + variables.ruleDenials[variables.firstDenied].join(', ')`,
        },
        {
          expression: "variables.resource != 'rbac.authorization.k8s.io/clusterroles' || !variables.writes || !has(object.aggregationRule)",
          reason: 'Forbidden',
          messageExpression: "'the Skillpod operator may not write ClusterRole ' + variables.name + ' with an aggregationRule'",
        },
        // Pods.
        {
          expression: "!variables.isPodCreate || (\n  object.spec.?serviceAccountName.orValue('') == variables.name &&\n  object.spec.?automountServiceAccountToken.orValue(true) == false &&\n  !object.spec.?hostNetwork.orValue(false) && !object.spec.?hostPID.orValue(false) && !object.spec.?hostIPC.orValue(false) &&\n  !object.spec.?shareProcessNamespace.orValue(false) && object.spec.?ephemeralContainers.orValue([]).size() == 0 &&\n  !has(object.spec.resourceClaims) && object.spec.?securityContext.?sysctls.orValue([]).size() == 0 &&\n  !object.spec.?securityContext.?seLinuxOptions.hasValue() && !object.spec.?securityContext.?windowsOptions.?hostProcess.orValue(false))",
          reason: 'Forbidden',
          messageExpression: "'the Skillpod operator may create pod ' + variables.name + ' only with serviceAccountName ' + variables.name +\n' (the run\\'s own), automountServiceAccountToken false, no host namespaces, shared process namespace, ephemeral containers, resource claims, sysctls or SELinux options'",
        },
        {
          expression: 'variables.badVolumes.size() == 0',
          reason: 'Forbidden',
          messageExpression: "'the Skillpod operator may create pod ' + variables.name + ' only with volumes of kinds emptyDir, downwardAPI, configMap ' + variables.name +\n' (the run\\'s own) and projected (a ServiceAccount token without audience, kube-root-ca.crt, the namespace); not: ' + variables.badVolumes.join(', ')",
        },
        {
          expression: 'variables.unrestricted.size() == 0',
          reason: 'Forbidden',
          messageExpression: "'the Skillpod operator may create pod ' + variables.name + ' only with every container restricted (non-root, no privilege escalation, ' +\n'capabilities: drop ALL and add none, seccomp RuntimeDefault or Localhost, no Unconfined AppArmor, default procMount, no SELinux options); not: ' + variables.unrestricted.join(', ')",
        },
        {
          expression: 'variables.hostPorts.size() == 0',
          reason: 'Forbidden',
          messageExpression: "'the Skillpod operator may create pod ' + variables.name + ' only without hostPort; not: ' + variables.hostPorts.join(', ')",
        },
        {
          expression: 'variables.secretRefs.size() == 0',
          reason: 'Forbidden',
          messageExpression: "'the Skillpod operator may create pod ' + variables.name + ' only with Secrets in env valueFrom.secretKeyRef of the agent and skill-* containers (no envFrom); not: ' + variables.secretRefs.join(', ')",
        },
        {
          expression: "!variables.isPodCreate || (\n  !has(object.spec.nodeName) && !has(object.spec.affinity) &&\n  object.spec.?schedulerName.orValue('default-scheduler') == 'default-scheduler' &&\n  !object.spec.?priorityClassName.orValue('').startsWith('system-') &&\n  object.spec.?tolerations.orValue([]).all(t, t.?key.orValue('') != '' && !(t.key in variables.controlPlaneKeys)) &&\n  object.spec.?nodeSelector.orValue({}).all(k, !(k in variables.controlPlaneKeys)))",
          reason: 'Forbidden',
          messageExpression: "'the Skillpod operator may create pod ' + variables.name + ' only without nodeName, affinity, another scheduler, a system- priority class, ' +\n'tolerations of every taint or of control-plane taints, or node selectors of control-plane nodes'",
        },
        {
          expression: `variables.resource != 'pods' || variables.op != 'UPDATE' || (
  object.spec == oldObject.spec && object.metadata.?labels == oldObject.metadata.?labels &&
  object.metadata.?ownerReferences == oldObject.metadata.?ownerReferences &&
  object.metadata.?annotations.orValue({}).all(k, k == '${GATE_ANNOTATION}' ||
    (k in oldObject.metadata.?annotations.orValue({}) && oldObject.metadata.annotations[k] == object.metadata.annotations[k])) &&
  oldObject.metadata.?annotations.orValue({}).all(k, k == '${GATE_ANNOTATION}' || k in object.metadata.?annotations.orValue({})))`,
          reason: 'Forbidden',
          messageExpression: `'the Skillpod operator may change only the annotation ${GATE_ANNOTATION} of pod ' + variables.name`,
        },
        {
          expression: "variables.resource != 'serviceaccounts' || !variables.writes ||\n  (object.?automountServiceAccountToken.orValue(true) == false && !has(object.secrets) && !has(object.imagePullSecrets))",
          reason: 'Forbidden',
          messageExpression: "'the Skillpod operator may write ServiceAccount ' + variables.name + ' only with automountServiceAccountToken false, no secrets and no imagePullSecrets'",
        },
        {
          expression: "variables.resource != 'rbac.authorization.k8s.io/rolebindings' || !variables.writes || (\n  object.roleRef.kind == 'Role' && object.roleRef.name == variables.name &&\n  object.?subjects.orValue([]).size() == 1 && object.subjects[0].kind == 'ServiceAccount' &&\n  object.subjects[0].name == variables.name && object.subjects[0].?namespace.orValue('') == request.namespace)",
          reason: 'Forbidden',
          messageExpression: "'the Skillpod operator may bind only Role ' + variables.name + ' to ServiceAccount ' + request.namespace + '/' + variables.name",
        },
        {
          expression: "variables.resource != 'rbac.authorization.k8s.io/clusterrolebindings' || !variables.writes || (\n  object.roleRef.kind == 'ClusterRole' && object.roleRef.name == variables.name &&\n  object.?subjects.orValue([]).size() == 1 && object.subjects[0].kind == 'ServiceAccount' &&\n  object.subjects[0].?namespace.orValue('') == variables.labels[?'skillpod.io/run-namespace'].orValue('') &&\n  variables.name == 'skillpod:' + object.subjects[0].namespace + ':' + object.subjects[0].name)",
          reason: 'Forbidden',
          messageExpression: "'the Skillpod operator may bind ClusterRole ' + variables.name + ' only to the run ServiceAccount its name spells'",
        },
        {
          expression: "variables.resource != 'networking.k8s.io/networkpolicies' || !variables.writes ||\n  object.spec.podSelector == {'matchLabels': {'skillpod.io/run-uid': variables.uid}}",
          reason: 'Forbidden',
          messageExpression: "'the Skillpod operator\\'s NetworkPolicy ' + variables.name + ' must select exactly the pod of run UID ' + variables.uid",
        },
        {
          expression: `variables.resource != 'skillpod.io/agentruns' || variables.op != 'UPDATE' || (
  object.spec == oldObject.spec &&
  object.metadata.?labels == oldObject.metadata.?labels && object.metadata.?annotations == oldObject.metadata.?annotations &&
  object.metadata.?ownerReferences == oldObject.metadata.?ownerReferences &&
  object.metadata.?finalizers.orValue([]).filter(f, f != '${RUN_FINALIZER}') == oldObject.metadata.?finalizers.orValue([]).filter(f, f != '${RUN_FINALIZER}'))`,
          reason: 'Forbidden',
          messageExpression: `'the Skillpod operator may change only the finalizer ${RUN_FINALIZER} of AgentRun ' + variables.name`,
        },
        {
          expression: "variables.resource != 'skillpod.io/agentruns' || variables.op != 'DELETE' ||\n  oldObject.?status.?phase.orValue('') in ['Succeeded', 'Failed']",
          reason: 'Forbidden',
          messageExpression: "'the Skillpod operator may delete only finished AgentRuns; ' + variables.name + ' is not'",
        },
      ],
    },
  };
}

export function operatorBoundsBinding(): object {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: BOUNDS_POLICY, labels: LABELS },
    spec: { policyName: BOUNDS_POLICY, validationActions: ['Deny'] },
  };
}

const HEADER = `# GENERATED by operator/src/policy/operator-bounds.ts from grant-policy.yaml; do not edit (a unit test compares).
#
# The operator's own bounds (docs/security.md, "The operator's permissions"): every write of the operator's
# ServiceAccount, judged as if the operator were compromised, whatever its RBAC allows. Allowlists:
# - kinds: only those a run consists of (Pod, ServiceAccount, ConfigMap, NetworkPolicy, Role, RoleBinding,
#   ClusterRole, ClusterRoleBinding), Events, its Lease in its own namespace, AgentRun and SkillPack status, the
#   AgentRun finalizer skillpod.io/cluster-grants (nothing else of an AgentRun, owner references included) and
#   deletion of finished AgentRuns; no CONNECT, no other kind, no other subresource;
# - updates and deletes only of objects labelled app.kubernetes.io/managed-by=skillpod; what it writes is labelled,
#   named (\`<run>-<first 12 hex of the uid>\`; cluster-scoped \`skillpod:<run namespace>:<that>\`) and owned as a run's;
# - Roles and ClusterRoles by content: every rule within the grant policy (variables.allowed, written in at install
#   as in the SkillPack policy: \`make install\` renders it from the ConfigMap, the chart from values.grantPolicy),
#   no wildcard, no never-grantable verb or resource, no nonResourceURLs, no aggregationRule;
# - a RoleBinding binds the Role of its own name to the ServiceAccount of its own name; a ClusterRoleBinding binds the
#   ClusterRole of its own name to the run ServiceAccount its name spells; a NetworkPolicy selects only its run's pod;
# - pods: the run's ServiceAccount without automount; volumes emptyDir, downwardAPI, the run's own ConfigMap and a
#   projected ServiceAccount token (no audience) with kube-root-ca.crt and the namespace; every container restricted
#   (non-root, no privilege escalation, drop ALL and add nothing, seccomp RuntimeDefault or Localhost); no host
#   namespaces or ports; Secrets only as env valueFrom.secretKeyRef of the agent and skill-* containers; no
#   nodeName, affinity, other scheduler, system- priority class, control-plane tolerations or node selectors;
#   after creation only the annotation skillpod.io/disabled-skills may change.
# The username below follows the operator's namespace and ServiceAccount name (chart values).
`;

export function operatorBoundsYaml(data: Readonly<Record<string, string>> | undefined): string {
  return `${HEADER}${stringify(operatorBoundsPolicy(data), { lineWidth: 0 })}---\n${stringify(operatorBoundsBinding(), { lineWidth: 0 })}`;
}

if (import.meta.main) process.stdout.write(operatorBoundsYaml(shippedGrantPolicyData(resolve(import.meta.dirname, '../../..'))));
