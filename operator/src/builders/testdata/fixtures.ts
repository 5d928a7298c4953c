// Test fixtures for the builders: a representative run and its packs, parsed through the API schemas so that
// schema defaults (enabled, timeoutSeconds, protocol) are applied as the API server would apply them.
import { parseAgentRun, parseSkillPack, type AgentRun, type AgentRunInput, type SkillPack, type SkillPackInput } from '../../api/index.ts';
import { settingsSchema } from '../../config/settings.ts';
import type { BuilderSettings } from '../pod.ts';

export const settings: BuilderSettings = {
  ...settingsSchema.parse({ defaultAgentImage: 'ghcr.io/skillpod/agent:v0.1.0' }),
};

export function pack(name: string, spec: Partial<SkillPackInput['spec']> = {}): SkillPack {
  const parsed = parseSkillPack({
    apiVersion: 'skillpod.io/v1alpha1',
    kind: 'SkillPack',
    metadata: { name, uid: `pack-${name}`, generation: 1 },
    spec: {
      description: `The ${name} skill.`,
      image: `registry.example.com/skills/${name}:v1`,
      tools: [{ name: 'run', command: [name] }],
      ...spec,
    },
  });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

export const RUN_UID = '3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f';

export function agentRun(spec: Partial<AgentRunInput['spec']> = {}, meta: { name?: string; namespace?: string; uid?: string } = {}): AgentRun {
  const parsed = parseAgentRun({
    apiVersion: 'skillpod.io/v1alpha1',
    kind: 'AgentRun',
    metadata: { name: meta.name ?? 'triage-incident-4711', namespace: meta.namespace ?? 'team-a', uid: meta.uid ?? RUN_UID, generation: 1 },
    spec: { task: 'Find out why the checkout deployment is crash-looping and write a short report.', ...spec },
  });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

export const kubectlPack = pack('kubectl', {
  description: 'Read-only kubectl for the run namespace.',
  instructions: '# kubectl\n\nUse `get`, `describe` and `logs` to inspect workloads in your namespace.',
  image: 'registry.example.com/skills/kubectl:v1.36.0',
  tools: [
    {
      name: 'get',
      description: 'kubectl get.',
      command: ['kubectl', 'get'],
      parameters: {
        type: 'object',
        properties: {
          resource: { type: 'string', enum: ['pods', 'deployments'], description: 'What to list.' },
          name: { type: 'string', pattern: '^[a-z0-9][-a-z0-9.]*$', maxLength: 253 },
          labels: { type: 'array', items: { type: 'string', pattern: '^[a-z]+=[a-z0-9]+$' }, maxItems: 4 },
          wide: { type: 'boolean' },
        },
        required: ['resource'],
      },
      args: [['{resource}'], ['{name}'], ['--selector', '{labels}'], ['--output=wide', '{wide}']],
    },
    {
      name: 'logs',
      command: ['kubectl', 'logs'],
      timeoutSeconds: 30,
      freeArguments: true,
      argPolicy: { allowedFlags: [{ flag: '--tail', value: '[0-9]+' }, { flag: '--previous' }], allowedPatterns: ['[a-z0-9][-a-z0-9./]*'], parser: 'pflag' },
    },
  ],
  env: [{ name: 'KUBECACHEDIR', value: '/tmp/.kube/cache' }],
  rbac: {
    rules: [
      { apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['apps'], resources: ['deployments', 'replicasets'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
    ],
    clusterRules: [
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] },
      { nonResourceURLs: ['/healthz', '/version'], verbs: ['get'] },
    ],
  },
});

export const gitPack = pack('git', {
  description: 'git over HTTPS to GitHub.',
  image: 'registry.example.com/skills/git:2.49',
  tools: [{ name: 'git', description: 'Run git.', command: ['git'], freeArguments: true, argPolicy: { deniedPatterns: ['^--upload-pack'] } }],
  env: [
    { name: 'GIT_TOKEN', valueFrom: { secretKeyRef: { name: 'github-token', key: 'token' } } },
    { name: 'HOME', value: '/workspace' },
  ],
  resources: { requests: { cpu: '100m' }, limits: { memory: '512Mi' } },
  egress: [{ ports: [{ port: 443 }], to: [{ ipBlock: { cidr: '140.82.112.0/20' } }] }],
});

export const helmPack = pack('helm', {
  description: 'helm list and status.',
  image: 'registry.example.com/skills/helm:3.18',
  tools: [{ name: 'helm', command: ['helm'] }],
  rbac: { rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }] },
});

export const packs = new Map([kubectlPack, gitPack, helmPack].map((p) => [p.metadata.name ?? '', p]));

/** Two packs with RBAC (one also with clusterRules, one switched off), one without, and every placement field. */
export const representativeRun = agentRun({
  agent: {
    image: 'registry.example.com/agents/claude-agent:2.1',
    command: ['agent'],
    args: ['--max-turns', '40'],
    env: [
      { name: 'MODEL_API_KEY', valueFrom: { secretKeyRef: { name: 'model-credentials', key: 'api-key' } } },
      { name: 'MODEL', value: 'claude-sonnet' },
    ],
    resources: { requests: { cpu: '500m' }, limits: { memory: '2Gi' } },
    egress: [{ ports: [{ port: 443 }], to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }] }],
  },
  skills: [{ name: 'kubectl' }, { name: 'git' }, { name: 'helm', enabled: false }],
  timeoutSeconds: 1800,
  imagePullSecrets: [{ name: 'regcred' }, { name: 'mirror' }],
  nodeSelector: { 'node.example.com/pool': 'agents', 'kubernetes.io/arch': 'amd64' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'agents', effect: 'NoSchedule' }],
  runtimeClassName: 'gvisor',
  podLabels: { team: 'payments', 'app.kubernetes.io/name': 'incident-triage' },
  podAnnotations: { 'example.com/ticket': 'INC-4711' },
});

export const apiServer = [
  { ip: '192.168.10.5', port: 6443 },
  { ip: '192.168.10.6', port: 6443 },
];
