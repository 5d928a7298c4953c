// SkillPack: a skill described once by a cluster admin (design.md section 2). Cluster-scoped because it decides
// what permissions runs receive.
import { z } from 'zod';
import { cel } from './cel.ts';
import { API_VERSION, LIMITS, SKILLPACK } from './constants.ts';
import { ClusterPolicyRuleSchema, EgressListSchema, EnvListSchema, PolicyRuleSchema, ResourceRequirementsSchema } from './core.ts';
import { DNS_LABEL_RE, dnsLabel, image, re2Pattern } from './formats.ts';
import { ConditionsSchema, ObjectMetaSchema } from './meta.ts';

/** Argument policy of a tool. The executor (sidecar-images/executor) parses it from SKILLPOD_TOOLS. */
export const ArgPolicySchema = z
  .object({
    deniedFlags: z
      .array(
        z
          .string()
          .min(2)
          .max(256)
          .regex(/^-+[^-\s=][^\s=]*$/, { message: "must be a flag such as '-n', '--kubeconfig' or '-name' (no '=' or spaces)" }),
      )
      .max(64)
      .optional()
      .describe(
        "Flags the agent may not pass, in any spelling the tool's parser accepts ('--token x', '--token=x', case and '_' folded), e.g. --kubeconfig, --server, --token, --as.",
      ),
    allowedPatterns: z
      .array(re2Pattern())
      .max(64)
      .optional()
      .describe('RE2 expressions matched against whole arguments; when set, every argument must match one of them.'),
    deniedPatterns: z
      .array(re2Pattern())
      .max(64)
      .optional()
      .describe('RE2 expressions searched for in each argument (unanchored); an argument containing a match is refused.'),
    maxArgs: z.int().min(0).max(1024).optional().describe("Largest number of arguments the agent may append; the executor's default (1024) when absent."),
  })
  .describe("Checks on the arguments the agent appends to the tool's command.");
export type ArgPolicy = z.output<typeof ArgPolicySchema>;

export const ToolSchema = z
  .object({
    name: dnsLabel().describe('Name the agent calls the tool by; unique within the pack.'),
    description: z.string().max(1024).optional().describe('What the tool does, shown to the agent.'),
    command: z
      .array(z.string().min(1).max(4096))
      .min(1)
      .max(32)
      .describe("Argument vector prefix, run with execve (never a shell); the agent's arguments are appended."),
    timeoutSeconds: z.int().min(1).max(3600).default(60).describe('Time a call may take before its process group is killed.'),
    argPolicy: ArgPolicySchema.optional(),
  })
  .describe('A command the agent may run in the skill sidecar.');
export type Tool = z.output<typeof ToolSchema>;

export const ToolsSchema = cel(
  z.array(ToolSchema).min(1).max(LIMITS.toolsPerPack),
  { rule: 'self.all(t, self.exists_one(u, u.name == t.name))', message: 'tool names must be unique' },
  (tools) => new Set(tools.map((t) => t.name)).size === tools.length,
);

export const SkillPackRBACSchema = z
  .object({
    rules: z
      .array(PolicyRuleSchema)
      .max(32)
      .optional()
      .describe("Rules granted, in the run's namespace, to runs that enable this skill, for the life of the run."),
    clusterRules: z
      .array(ClusterPolicyRuleSchema)
      .max(32)
      .optional()
      .describe(
        'Cluster-wide rules granted to runs that enable this skill. Off by default in the install allowlist: while a run lives, editors of its namespace can use them.',
      ),
  })
  .describe("Kubernetes permissions the skill's tools need; bounded by the install-time allowlist.");
export type SkillPackRBAC = z.output<typeof SkillPackRBACSchema>;

export const SkillPackSpecSchema = z
  .object({
    description: z.string().min(1).max(1024).describe('What the skill offers, shown to the agent and in listings.'),
    instructions: z
      .string()
      .max(65536)
      .optional()
      .describe('Markdown shown to the agent as /skills/<pack>/SKILL.md.'),
    image: image().describe('Image that holds the tools; any image works (the executor is injected).'),
    tools: ToolsSchema.describe('Commands the agent may run in this skill; at least one, names unique.'),
    env: EnvListSchema.optional().describe("Environment of this skill's sidecar only (never the agent's)."),
    resources: ResourceRequirementsSchema.optional().describe('Resources of the sidecar; operator defaults apply when absent.'),
    rbac: SkillPackRBACSchema.optional(),
    egress: EgressListSchema.optional().describe('NetworkPolicy egress rules the tools need (egress is per pod, not per container).'),
  })
  .describe('Desired state of the SkillPack.');
export type SkillPackSpec = z.output<typeof SkillPackSpecSchema>;

export const SkillPackStatusSchema = z
  .object({
    observedGeneration: z.int().min(0).optional().describe('The metadata.generation the status was computed for.'),
    conditions: ConditionsSchema.optional().describe('Ready is True when the pack is valid and within the install allowlist.'),
  })
  .describe('Observed state of the SkillPack, written by the operator.');
export type SkillPackStatus = z.output<typeof SkillPackStatusSchema>;

export const SkillPackSchema = cel(
  z
    .object({
      apiVersion: z.literal(API_VERSION),
      kind: z.literal(SKILLPACK.kind),
      metadata: ObjectMetaSchema,
      spec: SkillPackSpecSchema,
      status: SkillPackStatusSchema.optional(),
    })
    .describe(
      'SkillPack describes one skill: an image with tools the agent may run, their argument policies, and the permissions and egress they need. Cluster-scoped: only cluster admins write them.',
    ),
  {
    rule: `self.metadata.name.size() <= ${LIMITS.skillPackNameMax} && !self.metadata.name.contains('.')`,
    message: `metadata.name must be a DNS label of at most ${LIMITS.skillPackNameMax} characters (it becomes the container name skill-<name>)`,
  },
  (p) => p.metadata.name === undefined || (p.metadata.name.length <= LIMITS.skillPackNameMax && DNS_LABEL_RE.test(p.metadata.name)),
  ['metadata', 'name'],
);
export type SkillPack = z.output<typeof SkillPackSchema>;
export type SkillPackInput = z.input<typeof SkillPackSchema>;
