// SkillPack: a skill described once by a cluster admin (design.md section 2). Cluster-scoped because it decides
// what permissions runs receive.
import { z } from 'zod';
import { cel, operatorCheck } from './cel.ts';
import { API_VERSION, LIMITS, SKILLPACK } from './constants.ts';
import { ClusterPolicyRuleSchema, EgressListSchema, EnvListSchema, PolicyRuleSchema, ResourceRequirementsSchema } from './core.ts';
import { DNS_LABEL_RE, dnsLabel, image, re2Pattern } from './formats.ts';
import { ConditionsSchema, ObjectMetaSchema } from './meta.ts';

const FLAG_RE = /^-+[^-\s=][^\s=]*$/;
const FLAG_MESSAGE = "must be a flag such as '-n', '--kubeconfig' or '-name' (no '=' or spaces)";
const flag = () => z.string().min(2).max(256).regex(FLAG_RE, { message: FLAG_MESSAGE });

/** Argument policy of a free-argument tool. The executor (sidecar-images/executor) parses it from SKILLPOD_TOOLS. */
export const ArgPolicySchema = z
  .object({
    allowedFlags: z
      .array(
        z
          .object({
            flag: flag().describe("The flag as the agent may write it, e.g. '--tail' or '-n'."),
            value: re2Pattern()
              .optional()
              .describe('RE2 expression the whole value must match; when absent the flag takes no value.'),
          })
          .describe('A flag the agent may pass, and the values it may take.'),
      )
      .max(128)
      .optional()
      .describe('Allowlist of flags: when set, every argument starting with - must be one of these (as --flag=value or --flag value).'),
    deniedFlags: z
      .array(flag())
      .max(64)
      .optional()
      .describe(
        "Flags the agent may not pass, in any spelling the tool's parser accepts ('--token x', '--token=x', case and '_' folded), e.g. --kubeconfig, --server, --token, --as.",
      ),
    allowedPatterns: z
      .array(re2Pattern())
      .max(64)
      .optional()
      .describe(
        'RE2 expressions matched against whole arguments; when set, every argument (with allowedFlags: every argument that is not an allowed flag or its value) must match one of them.',
      ),
    deniedPatterns: z
      .array(re2Pattern())
      .max(64)
      .optional()
      .describe('RE2 expressions searched for in each argument (unanchored); an argument containing a match is refused.'),
    maxArgs: z.int().min(0).max(1024).optional().describe("Largest number of arguments the agent may append; the executor's default (1024) when absent."),
    parser: z
      .enum(['getopt', 'pflag'])
      .optional()
      .describe(
        "How the tool parses flags: 'getopt' (GNU tools, curl: unambiguous prefixes of long flags count, so denied flags match their prefixes) or 'pflag' (kubectl, helm and other cobra tools: no abbreviations). Default getopt.",
      ),
  })
  .describe("Checks on the arguments the agent appends to a free-argument tool's command.");
export type ArgPolicy = z.output<typeof ArgPolicySchema>;

export const PARAMETER_NAME = '^[a-zA-Z][a-zA-Z0-9_]{0,62}$';
const PARAMETER_NAME_RE = new RegExp(PARAMETER_NAME);
/** `{name}` in an argument template; any other brace text (`{.metadata.name}`) is literal. */
export const PLACEHOLDER_RE = /\{([a-zA-Z][a-zA-Z0-9_]{0,62})\}/g;

const parameterName = () =>
  z.string().min(1).max(63).regex(PARAMETER_NAME_RE, { message: 'must start with a letter and hold only letters, digits and _ (at most 63)' });

const stringChecks = {
  enum: z.array(z.string().max(1024)).min(1).max(256).optional().describe('The only values allowed.'),
  pattern: re2Pattern().optional().describe('RE2 expression the value must contain a match of (JSON Schema semantics: anchor it with ^ and $).'),
  minLength: z.int().min(0).max(1048576).optional().describe('Fewest characters (Unicode code points).'),
  maxLength: z.int().min(0).max(1048576).optional().describe('Most characters (Unicode code points).'),
};

const lengthOrder = {
  rule: '!has(self.minLength) || !has(self.maxLength) || self.minLength <= self.maxLength',
  message: 'minLength must not exceed maxLength',
} as const;
const lengthsOrdered = (p: { minLength?: number | undefined; maxLength?: number | undefined }) =>
  p.minLength === undefined || p.maxLength === undefined || p.minLength <= p.maxLength;

export const ParameterItemsSchema = cel(
  z
    .object({
      type: z.literal('string').describe('Array items are strings.'),
      description: z.string().max(1024).optional().describe('What each item means.'),
      ...stringChecks,
    })
    .describe('Schema of each item of an array parameter.'),
  lengthOrder,
  lengthsOrdered,
);

export type ParameterItems = z.output<typeof ParameterItemsSchema>;

const STRING_ONLY = ['enum', 'pattern', 'minLength', 'maxLength'] as const;
const INTEGER_ONLY = ['minimum', 'maximum'] as const;
const ARRAY_ONLY = ['items', 'maxItems'] as const;
const hasAny = (keys: readonly string[]) => keys.map((k) => `has(self.${k})`).join(' || ');
const setAny = (p: Record<string, unknown>, keys: readonly string[]) => keys.some((k) => p[k] !== undefined);

let ParameterBase = z
  .object({
    type: z.enum(['string', 'integer', 'boolean', 'array']).describe('JSON type of the value.'),
    description: z.string().max(1024).optional().describe('What the parameter means, shown to the agent and the model.'),
    ...stringChecks,
    minimum: z.int().optional().describe('Smallest value (integer parameters).'),
    maximum: z.int().optional().describe('Largest value (integer parameters).'),
    items: ParameterItemsSchema.optional().describe('Schema of each item (array parameters; required there).'),
    maxItems: z.int().min(0).max(256).optional().describe('Most items (array parameters; at most 256 either way).'),
  })
  .describe('One typed parameter (a JSON Schema subset: nothing else is accepted).');
ParameterBase = cel(ParameterBase, { rule: `self.type == 'string' || !(${hasAny(STRING_ONLY)})`, message: 'enum, pattern, minLength and maxLength apply to string parameters only' }, (p) => p.type === 'string' || !setAny(p, STRING_ONLY));
ParameterBase = cel(ParameterBase, { rule: `self.type == 'integer' || !(${hasAny(INTEGER_ONLY)})`, message: 'minimum and maximum apply to integer parameters only' }, (p) => p.type === 'integer' || !setAny(p, INTEGER_ONLY));
ParameterBase = cel(ParameterBase, { rule: `self.type == 'array' ? has(self.items) : !(${hasAny(ARRAY_ONLY)})`, message: 'array parameters need items; items and maxItems apply to array parameters only' }, (p) => (p.type === 'array' ? p.items !== undefined : !setAny(p, ARRAY_ONLY)));
ParameterBase = cel(ParameterBase, lengthOrder, lengthsOrdered);
ParameterBase = cel(ParameterBase, { rule: '!has(self.minimum) || !has(self.maximum) || self.minimum <= self.maximum', message: 'minimum must not exceed maximum' }, (p) => p.minimum === undefined || p.maximum === undefined || p.minimum <= p.maximum);
export const ParameterSchema = ParameterBase;
export type Parameter = z.output<typeof ParameterSchema>;

const MAX_PARAMETERS = 32;
let ParametersBase = z
  .object({
    type: z.literal('object').describe('Always object: the input is one JSON object.'),
    properties: cel(
      z
        .record(z.string(), ParameterSchema)
        .refine((r) => Object.keys(r).length <= MAX_PARAMETERS, { message: `must have at most ${MAX_PARAMETERS} parameters` })
        .meta({ maxProperties: MAX_PARAMETERS }),
      { rule: `self.all(k, k.matches('${PARAMETER_NAME}'))`, message: 'parameter names must start with a letter and hold only letters, digits and _ (at most 63)' },
      (r) => Object.keys(r).every((k) => PARAMETER_NAME_RE.test(k)),
    ).describe('The parameters by name; the input may hold no other key.'),
    required: z.array(parameterName()).max(MAX_PARAMETERS).optional().describe('Parameters the input must give.'),
  })
  .describe('JSON Schema of the input of a typed tool: an object of typed parameters. The executor validates the input against it and renders argv from args.');
ParametersBase = cel(
  ParametersBase,
  { rule: '!has(self.required) || self.required.all(r, r in self.properties)', message: 'every name in required must be a declared parameter', fieldPath: '.required' },
  (p) => (p.required ?? []).every((r) => r in p.properties),
  ['required'],
);
export const ParametersSchema = ParametersBase;
export type Parameters = z.output<typeof ParametersSchema>;

/** Placeholder names of one template element, in order. */
export function placeholders(element: string): string[] {
  return [...element.matchAll(PLACEHOLDER_RE)].map((m) => m[1] ?? '');
}

/**
 * The template rules the CRD's CEL cannot state cheaply (docs/api.md, "Typed tools"); the executor checks them
 * again at start. Returns the first problem, or true.
 */
export function templateProblem(tool: { parameters?: Parameters | undefined; args?: string[][] | undefined }): string | true {
  const params = tool.parameters?.properties ?? {};
  const used = new Set<string>();
  for (const [g, group] of (tool.args ?? []).entries()) {
    let arrays = 0;
    const wholeBoolean = (e: string) => { const [n] = placeholders(e); return n !== undefined && e === `{${n}}` && params[n]?.type === 'boolean'; };
    if (group.every(wholeBoolean)) {
      return `args[${g}]: a group of boolean placeholders only renders nothing: put the flag beside it`;
    }
    for (const element of group) {
      for (const name of placeholders(element)) {
        const p = params[name];
        if (!p) return `args[${g}]: {${name}} is not a declared parameter`;
        used.add(name);
        if (p.type === 'boolean' && element !== `{${name}}`) return `args[${g}]: boolean {${name}} must be a whole element (it renders no argument of its own)`;
        if (p.type === 'array') arrays++;
      }
    }
    if (arrays > 1) return `args[${g}]: at most one array parameter per group`;
  }
  const unused = Object.keys(params).filter((n) => !used.has(n));
  return unused.length === 0 ? true : `parameter ${unused.join(', ')} is not used in args`;
}

let ToolBase = z
  .object({
    name: dnsLabel().describe('Name the agent calls the tool by; unique within the pack.'),
    description: z.string().max(1024).optional().describe('What the tool does, shown to the agent.'),
    command: z
      .array(z.string().min(1).max(4096))
      .min(1)
      .max(32)
      .describe('Argument vector prefix, run with execve (never a shell); the rendered template (or, for a free-argument tool, the agent\'s arguments) is appended.'),
    timeoutSeconds: z.int().min(1).max(3600).default(60).describe('Time a call may take before its process group is killed.'),
    parameters: ParametersSchema.optional(),
    args: z
      .array(z.array(z.string().min(1).max(1024)).min(1).max(8))
      .max(32)
      .optional()
      .describe(
        'Argument template of a typed tool: groups of elements rendered in order after command. A group is dropped when a parameter it names is absent (or a false boolean), repeated once per item of an array parameter; {name} is replaced by the value; a boolean placeholder is a whole element and renders nothing; a value that would start with - as the first element of its group is refused.',
      ),
    freeArguments: z
      .boolean()
      .optional()
      .describe('The agent appends its own arguments, checked only by argPolicy. The exception: prefer parameters. Grant policies may forbid it in packs that hold RBAC or Secrets.'),
    argPolicy: ArgPolicySchema.optional(),
  })
  .describe('A command the agent may run in the skill sidecar: typed (parameters and args), without input, or with free arguments.');
ToolBase = cel(
  ToolBase,
  { rule: '!has(self.freeArguments) || !self.freeArguments || !(has(self.parameters) || has(self.args))', message: 'a tool with freeArguments takes no parameters or args' },
  (t) => !t.freeArguments || (t.parameters === undefined && t.args === undefined),
);
ToolBase = cel(
  ToolBase,
  { rule: '!has(self.argPolicy) || (has(self.freeArguments) && self.freeArguments)', message: 'argPolicy applies to tools with freeArguments: true only', fieldPath: '.argPolicy' },
  (t) => t.argPolicy === undefined || t.freeArguments === true,
  ['argPolicy'],
);
// Placeholders declared, parameters used, booleans whole, one array per group: CEL on the CRD would exceed the API
// server's estimated cost budget (64 tools × 32 groups × 8 elements), so the SkillPack admission policy checks them
// (its cost is counted on the real object), the operator too (Ready=False), and the executor again at start.
ToolBase = cel(
  ToolBase,
  { rule: '!has(self.args) || has(self.parameters)', message: 'args needs parameters (a fixed argument belongs in command)', fieldPath: '.args' },
  (t) => t.args === undefined || t.parameters !== undefined,
  ['args'],
);
export const ToolSchema = operatorCheck(ToolBase, 'argument template', templateProblem);
export type Tool = z.output<typeof ToolSchema>;

/** A tool whose caller appends its own arguments (the explicit exception to typed tools). */
export function isFreeArgumentTool(tool: Pick<Tool, 'freeArguments'>): boolean {
  return tool.freeArguments === true;
}

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
    startupTimeoutSeconds: z
      .int()
      .min(1)
      .max(600)
      .default(30)
      .describe('How long the sidecar may take to answer its startup probe (the image pulled, the executor serving); past it the kubelet restarts the sidecar and the run fails naming this skill.'),
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
