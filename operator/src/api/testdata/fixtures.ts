// Valid objects and a table of invalid variants. Shared by the parse unit tests and the integration tests that
// send the same objects to a real API server, so that parse() and the CRDs are shown to agree.
import { API_VERSION } from '../constants.ts';

type Obj = Record<string, unknown>;

export function validAgentRun(): Obj {
  return {
    apiVersion: API_VERSION,
    kind: 'AgentRun',
    metadata: { name: 'fix-the-build', namespace: 'team-a' },
    spec: {
      task: 'Find out why the nightly build fails and open a pull request with a fix.',
      agent: {
        image: 'ghcr.io/example/agent:1.4.2',
        args: ['--model', 'claude'],
        env: [
          { name: 'MODEL_ENDPOINT', value: 'https://models.example.com' },
          { name: 'API_KEY', valueFrom: { secretKeyRef: { name: 'model-credentials', key: 'api-key' } } },
        ],
        resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: 1, memory: '1Gi' } },
        egress: [
          { to: [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] } }], ports: [{ port: 443 }] },
          { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'models' } } }], ports: [{ port: 8000, endPort: 8010 }] },
        ],
      },
      skills: [{ name: 'kubectl' }, { name: 'git', enabled: false }],
      ttlSecondsAfterFinished: 3600,
      imagePullSecrets: [{ name: 'registry' }],
      nodeSelector: { 'kubernetes.io/arch': 'amd64' },
      tolerations: [{ key: 'sandbox', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }],
      runtimeClassName: 'gvisor',
      podLabels: { team: 'a', 'app.kubernetes.io/name': 'agent' },
      podAnnotations: { 'kubectl.kubernetes.io/default-container': 'agent' },
    },
  };
}

export function minimalAgentRun(): Obj {
  return { apiVersion: API_VERSION, kind: 'AgentRun', metadata: { name: 'minimal' }, spec: { task: 'Say hello.' } };
}

export function validSkillPack(): Obj {
  return {
    apiVersion: API_VERSION,
    kind: 'SkillPack',
    metadata: { name: 'kubectl' },
    spec: {
      description: 'Read and change workloads in the run namespace with kubectl.',
      instructions: '# kubectl\n\nUse `get` before you change anything.\n',
      image: 'registry.k8s.io/kubectl:v1.36.0',
      tools: [
        {
          name: 'kubectl',
          description: 'Runs kubectl against the run namespace.',
          command: ['kubectl'],
          timeoutSeconds: 120,
          freeArguments: true,
          argPolicy: {
            allowedFlags: [{ flag: '--output', value: '(wide|name|yaml|json)' }, { flag: '--watch' }],
            parser: 'pflag',
            deniedFlags: ['--kubeconfig', '--server', '--token', '--as', '-s'],
            allowedPatterns: ['[-a-zA-Z0-9_./=:]+'],
            deniedPatterns: ['(?i)secret'],
            maxArgs: 32,
          },
        },
        { name: 'version', command: ['kubectl', 'version', '--client'] },
        {
          name: 'get',
          description: 'Lists objects of one kind.',
          command: ['kubectl', 'get'],
          parameters: {
            type: 'object',
            properties: {
              resource: { type: 'string', description: 'Kind to list.', enum: ['pods', 'deployments'] },
              name: { type: 'string', pattern: '^[a-z0-9][-a-z0-9.]*$', maxLength: 253 },
              limit: { type: 'integer', minimum: 1, maximum: 500 },
              wide: { type: 'boolean' },
              labels: { type: 'array', items: { type: 'string', pattern: '^[a-z]+=[a-z]+$' }, maxItems: 4 },
            },
            required: ['resource'],
          },
          args: [['{resource}'], ['{name}'], ['--chunk-size={limit}'], ['--output', 'wide', '{wide}'], ['--selector', '{labels}']],
        },
      ],
      env: [{ name: 'KUBECTL_COLOR', value: 'false' }],
      resources: { limits: { cpu: '500m', memory: '128Mi' } },
      rbac: {
        rules: [{ apiGroups: ['', 'apps'], resources: ['pods', 'pods/log', 'deployments'], verbs: ['get', 'list', 'watch'] }],
        clusterRules: [
          { apiGroups: [''], resources: ['namespaces'], verbs: ['get'], resourceNames: ['default'] },
          { nonResourceURLs: ['/version', '/healthz/*'], verbs: ['get'] },
        ],
      },
      egress: [{ to: [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['registry'] }] } }] }],
    },
  };
}

export function minimalSkillPack(): Obj {
  return {
    apiVersion: API_VERSION,
    kind: 'SkillPack',
    metadata: { name: 'echo' },
    spec: { description: 'Echo.', image: 'busybox:1.37', tools: [{ name: 'echo', command: ['echo'] }] },
  };
}

export interface InvalidCase {
  name: string;
  kind: 'AgentRun' | 'SkillPack';
  /** Starts from the full valid fixture of the kind and breaks one thing. */
  change: (obj: Obj) => void;
  /** Field path parse() reports, and a piece of its message. */
  path: string;
  message: string;
  /** A piece of the API server's answer; absent when the API server cannot see the problem (see `server`). */
  server?: string;
  /** Why the API server accepts it: the problem is status-only (ignored on create) or checked by the operator. */
  serverAccepts?: string;
}

/** Deep access by a dotted path with numeric list indexes: 'spec.tools.0'. */
function at(obj: Obj, path: string): Obj {
  return path.split('.').reduce<Obj>((o, k) => o[k] as Obj, obj);
}

const long = (n: number) => 'a'.repeat(n);

export const INVALID_CASES: InvalidCase[] = [
  // AgentRun
  { name: 'missing task', kind: 'AgentRun', change: (o) => delete at(o, 'spec').task, path: 'spec.task', message: 'is required', server: 'spec.task: Required value' },
  { name: 'empty task', kind: 'AgentRun', change: (o) => (at(o, 'spec').task = ''), path: 'spec.task', message: 'must not be empty', server: 'spec.task' },
  { name: 'timeout zero', kind: 'AgentRun', change: (o) => (at(o, 'spec').timeoutSeconds = 0), path: 'spec.timeoutSeconds', message: 'at least 1', server: 'greater than or equal to 1' },
  { name: 'timeout too long', kind: 'AgentRun', change: (o) => (at(o, 'spec').timeoutSeconds = 86401), path: 'spec.timeoutSeconds', message: 'at most 86400', server: 'less than or equal to 86400' },
  { name: 'timeout not a number', kind: 'AgentRun', change: (o) => (at(o, 'spec').timeoutSeconds = '10m'), path: 'spec.timeoutSeconds', message: 'must be', server: 'spec.timeoutSeconds' },
  { name: 'name too long', kind: 'AgentRun', change: (o) => (at(o, 'metadata').name = long(64)), path: 'metadata.name', message: 'at most 63 characters', server: 'metadata.name must be at most 63 characters' },
  { name: 'duplicate skill', kind: 'AgentRun', change: (o) => (at(o, 'spec').skills = [{ name: 'git' }, { name: 'git' }]), path: 'spec.skills[1].name', message: 'duplicate', server: 'Duplicate value' },
  { name: 'skill name not a DNS label', kind: 'AgentRun', change: (o) => (at(o, 'spec').skills = [{ name: 'Git' }]), path: 'spec.skills[0].name', message: 'DNS label', server: 'spec.skills[0].name' },
  { name: 'too many skills', kind: 'AgentRun', change: (o) => (at(o, 'spec').skills = Array.from({ length: 17 }, (_, i) => ({ name: `s${i}` }))), path: 'spec.skills', message: 'at most 16 items', server: 'must have at most 16 items' },
  { name: 'reserved env name', kind: 'AgentRun', change: (o) => (at(o, 'spec.agent').env = [{ name: 'SKILLPOD_TASK', value: 'x' }]), path: 'spec.agent.env[0].name', message: 'reserved', server: 'names starting with SKILLPOD_ are reserved' },
  { name: 'env value and valueFrom', kind: 'AgentRun', change: (o) => (at(o, 'spec.agent').env = [{ name: 'A', value: 'x', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }]), path: 'spec.agent.env[0]', message: 'mutually exclusive', server: 'value and valueFrom are mutually exclusive' },
  { name: 'env valueFrom with two sources', kind: 'AgentRun', change: (o) => (at(o, 'spec.agent').env = [{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'k' }, configMapKeyRef: { name: 'c', key: 'k' } } }]), path: 'spec.agent.env[0].valueFrom', message: 'exactly one', server: 'exactly one of secretKeyRef or configMapKeyRef' },
  { name: 'negative quantity', kind: 'AgentRun', change: (o) => (at(o, 'spec.agent').resources = { limits: { cpu: '-1' } }), path: 'spec.agent.resources.limits.cpu', message: 'quantity', server: 'spec.agent.resources.limits.cpu' },
  { name: 'bad resource name', kind: 'AgentRun', change: (o) => (at(o, 'spec.agent').resources = { limits: { 'c p u': '1' } }), path: 'spec.agent.resources.limits', message: 'qualified name', server: 'keys must be a qualified name' },
  { name: 'bad cidr', kind: 'AgentRun', change: (o) => (at(o, 'spec.agent').egress = [{ to: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }]), path: 'spec.agent.egress[0].to[0].ipBlock.cidr', message: 'CIDR', server: 'must be a CIDR' },
  { name: 'except outside cidr', kind: 'AgentRun', change: (o) => (at(o, 'spec.agent').egress = [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['192.168.0.0/16'] } }] }]), path: 'spec.agent.egress[0].to[0].ipBlock.except', message: 'within cidr', server: 'every except entry must lie within cidr' },
  { name: 'ipBlock with selector', kind: 'AgentRun', change: (o) => (at(o, 'spec.agent').egress = [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }]), path: 'spec.agent.egress[0].to[0]', message: 'ipBlock alone', server: 'set either ipBlock alone' },
  { name: 'empty peer', kind: 'AgentRun', change: (o) => (at(o, 'spec.agent').egress = [{ to: [{}] }]), path: 'spec.agent.egress[0].to[0]', message: 'ipBlock alone', server: 'set either ipBlock alone' },
  { name: 'endPort without port', kind: 'AgentRun', change: (o) => (at(o, 'spec.agent').egress = [{ ports: [{ endPort: 80 }] }]), path: 'spec.agent.egress[0].ports[0].endPort', message: 'endPort requires', server: 'endPort requires a numeric port' },
  { name: 'endPort below port', kind: 'AgentRun', change: (o) => (at(o, 'spec.agent').egress = [{ ports: [{ port: 90, endPort: 80 }] }]), path: 'spec.agent.egress[0].ports[0].endPort', message: 'endPort requires', server: 'endPort requires a numeric port' },
  { name: 'selector In without values', kind: 'AgentRun', change: (o) => (at(o, 'spec.agent').egress = [{ to: [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'In' }] } }] }]), path: 'spec.agent.egress[0].to[0].podSelector.matchExpressions[0]', message: 'values must be non-empty', server: 'values must be non-empty for In and NotIn' },
  { name: 'toleration Exists with value', kind: 'AgentRun', change: (o) => (at(o, 'spec').tolerations = [{ key: 'k', operator: 'Exists', value: 'v' }]), path: 'spec.tolerations[0]', message: 'value must be empty', server: 'value must be empty when operator is Exists' },
  { name: 'tolerationSeconds without NoExecute', kind: 'AgentRun', change: (o) => (at(o, 'spec').tolerations = [{ key: 'k', tolerationSeconds: 5 }]), path: 'spec.tolerations[0]', message: 'NoExecute', server: 'tolerationSeconds requires effect NoExecute' },
  { name: 'reserved pod label', kind: 'AgentRun', change: (o) => (at(o, 'spec').podLabels = { 'skillpod.io/run': 'other' }), path: 'spec.podLabels', message: 'reserved', server: 'reserved for the operator' },
  { name: 'managed-by pod label', kind: 'AgentRun', change: (o) => (at(o, 'spec').podLabels = { 'app.kubernetes.io/managed-by': 'me' }), path: 'spec.podLabels', message: 'reserved', server: 'reserved for the operator' },
  { name: 'reserved pod annotation', kind: 'AgentRun', change: (o) => (at(o, 'spec').podAnnotations = { 'skillpod.io/disabled-skills': '' }), path: 'spec.podAnnotations', message: 'reserved', server: 'reserved for the operator' },
  { name: 'reserved subdomain annotation', kind: 'AgentRun', change: (o) => (at(o, 'spec').podAnnotations = { 'x.skillpod.io/a': '' }), path: 'spec.podAnnotations', message: 'reserved', server: 'reserved for the operator' },
  { name: 'bad pod label key', kind: 'AgentRun', change: (o) => (at(o, 'spec').podLabels = { 'a b': 'c' }), path: 'spec.podLabels', message: 'qualified name', server: 'keys must be a qualified name' },
  { name: 'bad pod label value', kind: 'AgentRun', change: (o) => (at(o, 'spec').podLabels = { a: 'b c' }), path: 'spec.podLabels.a', message: 'label value', server: 'spec.podLabels.a' },
  { name: 'negative ttl', kind: 'AgentRun', change: (o) => (at(o, 'spec').ttlSecondsAfterFinished = -1), path: 'spec.ttlSecondsAfterFinished', message: 'at least 0', server: 'greater than or equal to 0' },
  { name: 'image with spaces', kind: 'AgentRun', change: (o) => (at(o, 'spec.agent').image = 'my image'), path: 'spec.agent.image', message: 'image reference', server: 'spec.agent.image' },
  { name: 'bad phase', kind: 'AgentRun', change: (o) => (o.status = { phase: 'Done' }), path: 'status.phase', message: 'must be one of', serverAccepts: 'status is ignored on create' },
  // SkillPack
  { name: 'no tools', kind: 'SkillPack', change: (o) => (at(o, 'spec').tools = []), path: 'spec.tools', message: 'must not be empty', server: 'spec.tools' },
  { name: 'tools missing', kind: 'SkillPack', change: (o) => delete at(o, 'spec').tools, path: 'spec.tools', message: 'is required', server: 'spec.tools: Required value' },
  { name: 'duplicate tools', kind: 'SkillPack', change: (o) => (at(o, 'spec').tools = [{ name: 'a', command: ['a'] }, { name: 'a', command: ['b'] }]), path: 'spec.tools', message: 'unique', server: 'tool names must be unique' },
  { name: 'missing description', kind: 'SkillPack', change: (o) => delete at(o, 'spec').description, path: 'spec.description', message: 'is required', server: 'spec.description: Required value' },
  { name: 'description too long', kind: 'SkillPack', change: (o) => (at(o, 'spec').description = long(1025)), path: 'spec.description', message: 'at most 1024 characters', server: 'spec.description' },
  { name: 'missing image', kind: 'SkillPack', change: (o) => delete at(o, 'spec').image, path: 'spec.image', message: 'is required', server: 'spec.image: Required value' },
  { name: 'pack name too long', kind: 'SkillPack', change: (o) => (at(o, 'metadata').name = long(58)), path: 'metadata.name', message: 'DNS label of at most 57', server: 'metadata.name must be a DNS label of at most 57 characters' },
  { name: 'pack name with a dot', kind: 'SkillPack', change: (o) => (at(o, 'metadata').name = 'a.b'), path: 'metadata.name', message: 'DNS label', server: 'metadata.name must be a DNS label' },
  { name: 'tool without command', kind: 'SkillPack', change: (o) => (at(o, 'spec.tools.0').command = []), path: 'spec.tools[0].command', message: 'must not be empty', server: 'spec.tools[0].command' },
  { name: 'tool name not a DNS label', kind: 'SkillPack', change: (o) => (at(o, 'spec.tools.0').name = 'Get_Pods'), path: 'spec.tools[0].name', message: 'DNS label', server: 'spec.tools[0].name' },
  { name: 'tool timeout too long', kind: 'SkillPack', change: (o) => (at(o, 'spec.tools.0').timeoutSeconds = 3601), path: 'spec.tools[0].timeoutSeconds', message: 'at most 3600', server: 'less than or equal to 3600' },
  { name: 'denied flag without dash', kind: 'SkillPack', change: (o) => (at(o, 'spec.tools.0.argPolicy').deniedFlags = ['kubeconfig']), path: 'spec.tools[0].argPolicy.deniedFlags[0]', message: 'must be a flag', server: 'deniedFlags[0]' },
  { name: 'denied flag with value', kind: 'SkillPack', change: (o) => (at(o, 'spec.tools.0.argPolicy').deniedFlags = ['--as=admin']), path: 'spec.tools[0].argPolicy.deniedFlags[0]', message: 'must be a flag', server: 'deniedFlags[0]' },
  { name: 'lookahead pattern', kind: 'SkillPack', change: (o) => (at(o, 'spec.tools.0.argPolicy').allowedPatterns = ['(?=a)a']), path: 'spec.tools[0].argPolicy.allowedPatterns[0]', message: 'RE2', serverAccepts: 'checked by the operator' },
  { name: 'unbalanced pattern', kind: 'SkillPack', change: (o) => (at(o, 'spec.tools.0.argPolicy').deniedPatterns = ['(a']), path: 'spec.tools[0].argPolicy.deniedPatterns[0]', message: 'RE2', serverAccepts: 'checked by the operator' },
  { name: 'argPolicy without freeArguments', kind: 'SkillPack', change: (o) => delete at(o, 'spec.tools.0').freeArguments, path: 'spec.tools[0].argPolicy', message: 'freeArguments: true only', server: 'argPolicy applies to tools with freeArguments: true only' },
  { name: 'freeArguments with parameters', kind: 'SkillPack', change: (o) => (at(o, 'spec.tools.2').freeArguments = true), path: 'spec.tools[2]', message: 'takes no parameters or args', server: 'a tool with freeArguments takes no parameters or args' },
  { name: 'undeclared placeholder', kind: 'SkillPack', change: (o) => (at(o, 'spec.tools.2').args = [...(at(o, 'spec.tools.2').args as unknown[]), ['--namespace', '{namespace}']]), path: 'spec.tools[2]', message: '{namespace} is not a declared parameter', serverAccepts: 'checked by the SkillPack admission policy and the operator' },
  { name: 'unused parameter', kind: 'SkillPack', change: (o) => (at(o, 'spec.tools.2.parameters.properties').extra = { type: 'string' }), path: 'spec.tools[2]', message: 'parameter extra is not used in args', serverAccepts: 'checked by the SkillPack admission policy and the operator' },
  { name: 'required not declared', kind: 'SkillPack', change: (o) => (at(o, 'spec.tools.2.parameters').required = ['resource', 'kind']), path: 'spec.tools[2].parameters.required', message: 'declared parameter', server: 'every name in required must be a declared parameter' },
  { name: 'enum on an integer', kind: 'SkillPack', change: (o) => (at(o, 'spec.tools.2.parameters.properties.limit').enum = ['1']), path: 'spec.tools[2].parameters.properties.limit', message: 'string parameters only', server: 'apply to string parameters only' },
  { name: 'array without items', kind: 'SkillPack', change: (o) => delete at(o, 'spec.tools.2.parameters.properties.labels').items, path: 'spec.tools[2].parameters.properties.labels', message: 'need items', server: 'array parameters need items' },
  { name: 'unknown parameter type', kind: 'SkillPack', change: (o) => (at(o, 'spec.tools.2.parameters.properties.limit').type = 'number'), path: 'spec.tools[2].parameters.properties.limit.type', message: 'must be one of', server: 'Unsupported value: "number"' },
  { name: 'bad parameter name', kind: 'SkillPack', change: (o) => { const props = at(o, 'spec.tools.2.parameters.properties'); props['label-selector'] = props.labels; delete props.labels; at(o, 'spec.tools.2').args = [['{resource}'], ['{name}'], ['--chunk-size={limit}'], ['--output', 'wide', '{wide}'], ['--selector', '{label-selector}']]; }, path: 'spec.tools[2].parameters.properties', message: 'parameter names must start with a letter', server: 'parameter names must start with a letter' },
  { name: 'boolean placeholder inside text', kind: 'SkillPack', change: (o) => (at(o, 'spec.tools.2').args = [['{resource}'], ['{name}'], ['--chunk-size={limit}'], ['--wide={wide}'], ['--selector', '{labels}']]), path: 'spec.tools[2]', message: 'must be a whole element', serverAccepts: 'checked by the SkillPack admission policy and the operator' },
  { name: 'args without parameters', kind: 'SkillPack', change: (o) => (at(o, 'spec.tools.1').args = [['--short']]), path: 'spec.tools[1].args', message: 'args needs parameters', server: 'args needs parameters' },
  { name: 'a group of a boolean alone', kind: 'SkillPack', change: (o) => (at(o, 'spec.tools.2').args = [['{resource}'], ['{name}'], ['--chunk-size={limit}'], ['{wide}'], ['--selector', '{labels}']]), path: 'spec.tools[2]', message: 'renders nothing', serverAccepts: 'checked by the SkillPack admission policy and the operator' },
  { name: 'two arrays in one group', kind: 'SkillPack', change: (o) => { at(o, 'spec.tools.2.parameters.properties').more = { type: 'array', items: { type: 'string' } }; at(o, 'spec.tools.2').args = [['{resource}'], ['{name}'], ['--chunk-size={limit}'], ['--output', 'wide', '{wide}'], ['--selector', '{labels}', '{more}']]; }, path: 'spec.tools[2]', message: 'one array parameter per group', serverAccepts: 'checked by the SkillPack admission policy and the operator' },
  { name: 'rule without verbs', kind: 'SkillPack', change: (o) => delete at(o, 'spec.rbac.rules.0').verbs, path: 'spec.rbac.rules[0].verbs', message: 'is required', server: 'spec.rbac.rules[0].verbs: Required value' },
  { name: 'resource not lowercase', kind: 'SkillPack', change: (o) => (at(o, 'spec.rbac.rules.0').resources = ['Pods']), path: 'spec.rbac.rules[0].resources[0]', message: 'must be a resource', server: 'spec.rbac.rules[0].resources[0]' },
  { name: 'cluster rule mixing URLs and resources', kind: 'SkillPack', change: (o) => (at(o, 'spec.rbac.clusterRules.1').resources = ['pods']), path: 'spec.rbac.clusterRules[1]', message: 'either apiGroups and resources', server: 'a rule has either apiGroups and resources, or nonResourceURLs alone' },
  { name: 'cluster rule with neither', kind: 'SkillPack', change: (o) => (at(o, 'spec.rbac').clusterRules = [{ verbs: ['get'] }]), path: 'spec.rbac.clusterRules[0]', message: 'either apiGroups and resources', server: 'a rule has either apiGroups and resources, or nonResourceURLs alone' },
  { name: 'bad condition status', kind: 'SkillPack', change: (o) => (o.status = { conditions: [{ type: 'Ready', status: 'Yes', reason: 'Valid', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] }), path: 'status.conditions[0].status', message: 'must be one of', serverAccepts: 'status is ignored on create' },
];
