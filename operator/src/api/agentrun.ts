// AgentRun: one run of an untrusted agent with the skills it asks for (design.md section 2).
import { z } from 'zod';
import { cel, immutableField, listMap } from './cel.ts';
import { AGENTRUN, API_VERSION, LABEL_MANAGED_BY, LIMITS, RESERVED_KEY_PREFIX } from './constants.ts';
import { EgressListSchema, EnvListSchema, LocalObjectReferenceSchema, ResourceRequirementsSchema, TolerationSchema } from './core.ts';
import { dnsLabel, dnsSubdomain, image, labelValue, qualifiedNameMap, timestamp } from './formats.ts';
import { ConditionsSchema, ObjectMetaSchema } from './meta.ts';

export const AgentSchema = z
  .object({
    image: image().optional().describe("The agent's image; the operator's default agent image when absent."),
    command: z.array(z.string().max(4096)).max(32).optional().describe("Entrypoint; the image's when absent."),
    args: z.array(z.string().max(4096)).max(128).optional().describe("Arguments to the entrypoint; the image's when absent."),
    env: EnvListSchema.optional().describe("Environment of the agent container. The task arrives in SKILLPOD_TASK and /skillpod/task."),
    resources: ResourceRequirementsSchema.optional().describe('Resources of the agent container; operator defaults apply when absent.'),
    egress: EgressListSchema.optional().describe(
      'What the agent itself may reach (e.g. its model endpoint), bounded by the install-time policy. Egress is per pod: skills reach it too.',
    ),
  })
  .describe('The agent container. Immutable after creation.');
export type Agent = z.output<typeof AgentSchema>;

export const SkillRefSchema = z
  .object({
    name: dnsLabel(LIMITS.skillPackNameMax).describe('Name of a SkillPack.'),
    enabled: z
      .boolean()
      .default(true)
      .describe('Whether the agent may use the skill now; switch it off and on during the run with kubectl patch.'),
  })
  .describe('A skill the run uses.');
export type SkillRef = z.output<typeof SkillRefSchema>;

/** Keys the operator sets on the pod itself; a user value would shadow or fake them. */
export function isReservedKey(key: string): boolean {
  return key.startsWith(RESERVED_KEY_PREFIX) || key.includes(`.${RESERVED_KEY_PREFIX}`);
}
const RESERVED_RULE = `!k.startsWith('${RESERVED_KEY_PREFIX}') && !k.contains('.${RESERVED_KEY_PREFIX}')`;

const PodLabelsSchema = cel(
  qualifiedNameMap(labelValue(), 32),
  {
    rule: `self.all(k, ${RESERVED_RULE} && k != '${LABEL_MANAGED_BY}')`,
    message: `keys under ${RESERVED_KEY_PREFIX} and ${LABEL_MANAGED_BY} are reserved for the operator`,
  },
  (m) => Object.keys(m).every((k) => !isReservedKey(k) && k !== LABEL_MANAGED_BY),
);

const PodAnnotationsSchema = cel(
  qualifiedNameMap(z.string().max(4096), 32),
  { rule: `self.all(k, ${RESERVED_RULE})`, message: `keys under ${RESERVED_KEY_PREFIX} are reserved for the operator` },
  (m) => Object.keys(m).every((k) => !isReservedKey(k)),
);

const spec = z
  .object({
    task: z.string().min(1).max(65536).describe('What the agent should do (required, non-empty). Immutable.'),
    agent: AgentSchema.optional(),
    skills: listMap(z.array(SkillRefSchema).max(LIMITS.skillsPerRun), ['name'])
      .optional()
      .describe('Skills of the run, one sidecar each; a list keyed by name. Using a SkillPack needs the verb use on it.'),
    timeoutSeconds: z
      .int()
      .min(1)
      .max(86400)
      .default(600)
      .describe('Time the run may take from its start before it fails with reason Timeout. Immutable.'),
    ttlSecondsAfterFinished: z
      .int()
      .min(0)
      .max(31536000)
      .optional()
      .describe('Seconds after the run finishes until it is deleted with everything it owns; kept until deleted when absent.'),
    imagePullSecrets: listMap(z.array(LocalObjectReferenceSchema).max(16), ['name'])
      .optional()
      .describe("Secrets in the run's namespace for pulling the agent and skill images."),
    nodeSelector: qualifiedNameMap(labelValue(), 32).optional().describe('Node labels the pod must be scheduled on.'),
    tolerations: z.array(TolerationSchema).max(32).optional().describe("Tolerations of the pod."),
    runtimeClassName: dnsSubdomain()
      .optional()
      .describe('RuntimeClass of the pod; gVisor or Kata give the strongest isolation for untrusted agents.'),
    podLabels: PodLabelsSchema.optional().describe(
      `Extra labels on the pod. Keys under ${RESERVED_KEY_PREFIX} and ${LABEL_MANAGED_BY} are reserved.`,
    ),
    podAnnotations: PodAnnotationsSchema.optional().describe(`Extra annotations on the pod. Keys under ${RESERVED_KEY_PREFIX} are reserved.`),
  })
  .describe('Desired state of the AgentRun. The operator never writes it.');

// Transition rules sit on spec, where adding or removing an optional field is visible as well.
export const AgentRunSpecSchema = cel(
  cel(cel(spec, immutableField('task', true), null), immutableField('agent', false), null),
  immutableField('timeoutSeconds', false),
  null,
);
export type AgentRunSpec = z.output<typeof AgentRunSpecSchema>;

export const AgentRunPhaseSchema = z.enum(['Pending', 'Running', 'Succeeded', 'Failed']);
export type AgentRunPhase = z.output<typeof AgentRunPhaseSchema>;

export const RBACStateSchema = z.enum(['Granted', 'Revoked', 'None']);
export type RBACState = z.output<typeof RBACStateSchema>;

export const SkillStatusSchema = z
  .object({
    name: dnsLabel(LIMITS.skillPackNameMax).describe('Name of the SkillPack.'),
    enabled: z.boolean().describe('What the spec asks.'),
    ready: z.boolean().describe('Whether the sidecar is running and its gate and permissions match enabled.'),
    rbac: RBACStateSchema.describe("Granted, Revoked (switched off, or the pack is gone or not Ready) or None (the pack needs no RBAC)."),
    message: z.string().max(1024).optional().describe('Why the skill is not ready, when it is not.'),
  })
  .describe('Observed state of one skill.');
export type SkillStatus = z.output<typeof SkillStatusSchema>;

export const UsageSchema = z
  .object({
    inputTokens: z.int().min(0).optional().describe('Tokens the model read (prompts, tool results), over the whole run.'),
    outputTokens: z.int().min(0).optional().describe('Tokens the model wrote, over the whole run.'),
    model: z.string().max(256).optional().describe('The model the agent used, as it named it.'),
  })
  .describe("The agent's own account of its model usage: reported by the agent, not measured by Skillpod.");
export type Usage = z.output<typeof UsageSchema>;

export const AgentRunStatusSchema = z
  .object({
    phase: AgentRunPhaseSchema.optional().describe('Pending, Running, Succeeded or Failed.'),
    conditions: ConditionsSchema.optional().describe(
      'Ready, and Succeeded (terminal: True on success, False with a reason on failure), each with observedGeneration.',
    ),
    observedGeneration: z.int().min(0).optional().describe('The metadata.generation the status was computed for.'),
    podName: dnsSubdomain().optional().describe('Name of the run\'s pod; set before the pod is created, never reused.'),
    serviceAccountName: dnsSubdomain().optional().describe("Name of the run's own ServiceAccount."),
    startTime: timestamp().optional().describe('When the operator started the run.'),
    completionTime: timestamp().optional().describe('When the run succeeded or failed.'),
    result: z
      .string()
      .max(LIMITS.resultMax)
      .optional()
      .describe("The agent's termination message (Kubernetes caps it at 4 KiB per container, 12 KiB per pod)."),
    resultTruncated: z.boolean().optional().describe('True when result was cut.'),
    usage: UsageSchema.optional().describe(
      'Token usage the agent reported with its result (the termination-message envelope, docs/agents.md); absent when it reported none.',
    ),
    skills: listMap(z.array(SkillStatusSchema).max(LIMITS.skillsPerRun), ['name']).optional().describe('State of each skill of the spec.'),
    skillsReady: z
      .string()
      .max(16)
      .regex(/^[0-9]+\/[0-9]+$/, { message: "must be '<ready>/<enabled>'" })
      .optional()
      .describe("Ready skills out of enabled ones, such as '2/3'; the Skills column of kubectl get."),
  })
  .describe('Observed state of the AgentRun, written by the operator.');
export type AgentRunStatus = z.output<typeof AgentRunStatusSchema>;

/** Succeeded and Failed are terminal: a run in either never changes phase again, and holds no grant. */
export const isFinishedPhase = (phase: string | undefined): phase is 'Succeeded' | 'Failed' => phase === 'Succeeded' || phase === 'Failed';

/** The Skills printer column, computed from status.skills: ready out of enabled. */
export function skillsReadySummary(skills: readonly SkillStatus[]): string {
  const enabled = skills.filter((s) => s.enabled);
  return `${enabled.filter((s) => s.ready).length}/${enabled.length}`;
}

export const AgentRunSchema = cel(
  z
    .object({
      apiVersion: z.literal(API_VERSION),
      kind: z.literal(AGENTRUN.kind),
      metadata: ObjectMetaSchema,
      spec: AgentRunSpecSchema,
      status: AgentRunStatusSchema.optional(),
    })
    .describe(
      'AgentRun runs one AI agent in one pod, beside one sidecar per skill, with the permissions of its enabled skills for the life of the run only.',
    ),
  {
    rule: `self.metadata.name.size() <= ${LIMITS.agentRunNameMax}`,
    message: `metadata.name must be at most ${LIMITS.agentRunNameMax} characters (it becomes a label value)`,
  },
  (r) => r.metadata.name === undefined || r.metadata.name.length <= LIMITS.agentRunNameMax,
  ['metadata', 'name'],
);
export type AgentRun = z.output<typeof AgentRunSchema>;
export type AgentRunInput = z.input<typeof AgentRunSchema>;


