// Kubernetes-shaped pieces passed through to the pod, its RBAC and its NetworkPolicy. Field names match the
// core API so that users can paste what they know; each is stricter than upstream where a value would only
// fail later, at pod creation, when the run could no longer tell the user why.
import { z } from 'zod';
import { cel, listMap } from './cel.ts';
import { containsCIDR, isCIDR } from './cidr.ts';
import { cidr, dnsSubdomain, envVarName, labelValue, qualifiedName, qualifiedNameMap } from './formats.ts';

const has = (v: unknown) => v !== undefined;

// ---------------------------------------------------------------------------------------------- env

const KeySelector = (what: string) =>
  z
    .object({
      name: dnsSubdomain().describe(`Name of the ${what} in the run's namespace.`),
      key: z
        .string()
        .min(1)
        .max(253)
        .regex(/^[-._a-zA-Z0-9]+$/, { message: 'must be a valid data key (letters, digits, -, _ and .)' })
        .describe(`Key within the ${what}.`),
      optional: z.boolean().optional().describe(`Whether the container may start when the ${what} or its key is missing.`),
    })
    .describe(`Selects a key of a ${what}.`);

export const EnvVarSourceSchema = cel(
  z
    .object({
      secretKeyRef: KeySelector('Secret').optional(),
      configMapKeyRef: KeySelector('ConfigMap').optional(),
    })
    .describe('Source of the value: exactly one of secretKeyRef or configMapKeyRef.'),
  {
    rule: 'has(self.secretKeyRef) != has(self.configMapKeyRef)',
    message: 'exactly one of secretKeyRef or configMapKeyRef must be set',
  },
  (v) => has(v.secretKeyRef) !== has(v.configMapKeyRef),
);

export const EnvVarSchema = cel(
  z
    .object({
      name: cel(
        envVarName().describe('Name of the variable. Names starting with SKILLPOD_ are reserved for the operator.'),
        { rule: "!self.startsWith('SKILLPOD_')", message: 'names starting with SKILLPOD_ are reserved for the operator' },
        (v) => !v.startsWith('SKILLPOD_'),
      ),
      value: z.string().max(32768).optional().describe('Literal value.'),
      valueFrom: EnvVarSourceSchema.optional(),
    })
    .describe('An environment variable: a literal value or a reference to a Secret or ConfigMap key.'),
  { rule: '!(has(self.value) && has(self.valueFrom))', message: 'value and valueFrom are mutually exclusive' },
  (v) => !(has(v.value) && has(v.valueFrom)),
);
export type EnvVar = z.output<typeof EnvVarSchema>;

export const EnvListSchema = listMap(z.array(EnvVarSchema).max(64), ['name']);

// ---------------------------------------------------------------------------------------------- resources

/** resource.Quantity without a sign: negative requests and limits are never meant. */
const QUANTITY_RE = /^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;

export const QuantitySchema = z
  .union([z.int().min(0), z.string().max(64).regex(QUANTITY_RE, { message: "must be a quantity such as '500m', '1' or '256Mi'" })])
  .meta({ 'x-kubernetes-int-or-string': true })
  .describe("A quantity such as '500m', '1' or '256Mi'.");
export type Quantity = z.output<typeof QuantitySchema>;

const ResourceList = (what: string) =>
  qualifiedNameMap(QuantitySchema, 16).describe(what);

export const ResourceRequirementsSchema = z
  .object({
    limits: ResourceList('Maximum amount of compute resources allowed, e.g. cpu: 500m, memory: 256Mi.').optional(),
    requests: ResourceList('Minimum amount of compute resources required; defaults to the limits when absent.').optional(),
  })
  .describe('Compute resources (requests and limits), as on a container.');
export type ResourceRequirements = z.output<typeof ResourceRequirementsSchema>;

// ---------------------------------------------------------------------------------------------- pod placement

export const LocalObjectReferenceSchema = z
  .object({ name: dnsSubdomain().describe('Name of the object in the same namespace.') })
  .describe('A reference to an object in the same namespace.');
export type LocalObjectReference = z.output<typeof LocalObjectReferenceSchema>;

export const TolerationSchema = cel(
  cel(
    cel(
      z
        .object({
          key: qualifiedName().optional().describe('Taint key to match; empty with operator Exists matches every taint.'),
          operator: z.enum(['Exists', 'Equal']).optional().describe('Exists or Equal (the default).'),
          value: labelValue().optional().describe('Taint value to match when the operator is Equal.'),
          effect: z
            .enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'])
            .optional()
            .describe('Taint effect to match; empty matches all effects.'),
          tolerationSeconds: z
            .int()
            .min(0)
            .optional()
            .describe('How long a NoExecute taint is tolerated before eviction; unset means forever.'),
        })
        .describe('A toleration, as on a pod.'),
      {
        rule: "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
        message: 'value must be empty when operator is Exists',
      },
      (t) => t.operator !== 'Exists' || !t.value,
    ),
    {
      rule: "has(self.key) || (has(self.operator) && self.operator == 'Exists')",
      message: 'an empty key requires operator Exists',
    },
    (t) => has(t.key) || t.operator === 'Exists',
  ),
  {
    rule: "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
    message: 'tolerationSeconds requires effect NoExecute',
  },
  (t) => !has(t.tolerationSeconds) || t.effect === 'NoExecute',
);
export type Toleration = z.output<typeof TolerationSchema>;

// ---------------------------------------------------------------------------------------------- selectors

export const LabelSelectorRequirementSchema = cel(
  z
    .object({
      key: qualifiedName().describe('Label key the selector applies to.'),
      operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']).describe('In, NotIn, Exists or DoesNotExist.'),
      values: z.array(labelValue()).max(32).optional().describe('Values for In and NotIn; empty for Exists and DoesNotExist.'),
    })
    .describe('A label selector requirement.'),
  {
    rule: "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)",
    message: 'values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist',
  },
  (r) => (['In', 'NotIn'].includes(r.operator) ? (r.values?.length ?? 0) > 0 : (r.values?.length ?? 0) === 0),
);

export const LabelSelectorSchema = z
  .object({
    matchLabels: qualifiedNameMap(labelValue(), 16)
      .optional()
      .describe('Labels that must all match.'),
    matchExpressions: z.array(LabelSelectorRequirementSchema).max(16).optional().describe('Requirements that must all match.'),
  })
  .describe('A label selector; an empty selector matches everything.');
export type LabelSelector = z.output<typeof LabelSelectorSchema>;

// ---------------------------------------------------------------------------------------------- egress

export const IPBlockSchema = cel(
  z
    .object({
      cidr: cel(cidr().describe('The allowed CIDR, e.g. 10.0.0.0/8.'), { rule: 'isCIDR(self)', message: 'must be a CIDR such as 10.0.0.0/8 or fd00::/8' }, null),
      except: z
        .array(cel(cidr(), { rule: 'isCIDR(self)', message: 'must be a CIDR such as 10.0.0.0/8 or fd00::/8' }, null))
        .max(16)
        .optional()
        .describe('CIDRs within cidr that stay excluded.'),
    })
    .describe('An IP range (NetworkPolicy ipBlock).'),
  {
    rule: '!has(self.except) || !isCIDR(self.cidr) || self.except.all(e, !isCIDR(e) || cidr(self.cidr).containsCIDR(e))',
    message: 'every except entry must lie within cidr',
    fieldPath: '.except',
  },
  (b) => !isCIDR(b.cidr) || (b.except ?? []).every((e) => !isCIDR(e) || containsCIDR(b.cidr, e)),
  ['except'],
);

export const NetworkPolicyPeerSchema = cel(
  z
    .object({
      ipBlock: IPBlockSchema.optional(),
      namespaceSelector: LabelSelectorSchema.optional().describe(
        'Namespaces whose pods may be reached; with podSelector, only the selected pods in them.',
      ),
      podSelector: LabelSelectorSchema.optional().describe("Pods that may be reached, in the run's namespace unless namespaceSelector is set."),
    })
    .describe('A destination: ipBlock alone, or namespaceSelector and/or podSelector.'),
  {
    rule: 'has(self.ipBlock) ? !(has(self.namespaceSelector) || has(self.podSelector)) : (has(self.namespaceSelector) || has(self.podSelector))',
    message: 'set either ipBlock alone, or namespaceSelector and/or podSelector',
  },
  (p) => (has(p.ipBlock) ? !(has(p.namespaceSelector) || has(p.podSelector)) : has(p.namespaceSelector) || has(p.podSelector)),
);

const PortSchema = z
  .union([
    z.int().min(1).max(65535),
    z.string().min(1).max(15).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'must be a port number or an IANA service name' }),
  ])
  .meta({ 'x-kubernetes-int-or-string': true })
  .describe('Port number or named port; all ports when absent.');

export const NetworkPolicyPortSchema = cel(
  z
    .object({
      protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP').describe('TCP, UDP or SCTP.'),
      port: PortSchema.optional(),
      endPort: z.int().min(1).max(65535).optional().describe('Last port of a range starting at port (numeric port only).'),
    })
    .describe('A port (or port range) and protocol.'),
  {
    rule: '!has(self.endPort) || (has(self.port) && type(self.port) == int && self.endPort >= self.port)',
    message: 'endPort requires a numeric port not greater than endPort',
    fieldPath: '.endPort',
  },
  (p) => !has(p.endPort) || (typeof p.port === 'number' && (p.endPort ?? 0) >= p.port),
  ['endPort'],
);

export const EgressRuleSchema = z
  .object({
    ports: z.array(NetworkPolicyPortSchema).max(16).optional().describe('Destination ports; all ports when absent.'),
    to: z.array(NetworkPolicyPeerSchema).max(16).optional().describe('Destinations; everywhere when absent (still never link-local).'),
  })
  .describe('A NetworkPolicy egress rule.');
export type EgressRule = z.output<typeof EgressRuleSchema>;

export const EgressListSchema = z.array(EgressRuleSchema).max(16);

// ---------------------------------------------------------------------------------------------- RBAC

const API_GROUP_RE = /^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$/;
const RESOURCE_RE = /^(\*|[a-z][-a-z0-9]*)(\/(\*|[a-z][-a-z0-9]*))?$/;
const VERB_RE = /^(\*|[a-z][a-zA-Z-]*)$/;

const apiGroups = z
  .array(z.string().max(253).regex(API_GROUP_RE, { message: "must be an API group ('' for the core group) or *" }))
  .min(1)
  .max(32)
  .describe("API groups of the resources; '' is the core group, * all groups.");
const resources = z
  .array(z.string().min(1).max(253).regex(RESOURCE_RE, { message: "must be a resource such as 'pods', 'pods/log' or *" }))
  .min(1)
  .max(32)
  .describe("Resources (plural, lowercase), with subresources as 'pods/log'; * is all.");
const verbs = z
  .array(z.string().min(1).max(64).regex(VERB_RE, { message: "must be a verb such as 'get' or *" }))
  .min(1)
  .max(32)
  .describe("Verbs such as get, list, watch, create; * is all.");
const resourceNames = z
  .array(z.string().min(1).max(253))
  .min(1)
  .max(64)
  .optional()
  .describe('Names the rule is restricted to; all names when absent.');

export const PolicyRuleSchema = z
  .object({ apiGroups, resources, verbs, resourceNames })
  .describe("A PolicyRule granted in the run's namespace.");
export type PolicyRule = z.output<typeof PolicyRuleSchema>;

export const ClusterPolicyRuleSchema = cel(
  z
    .object({
      apiGroups: apiGroups.optional(),
      resources: resources.optional(),
      verbs,
      resourceNames,
      nonResourceURLs: z
        .array(z.string().min(1).max(1024).regex(/^(\*|\/\S*)$/, { message: "must be a path such as '/healthz' or '/metrics/*'" }))
        .min(1)
        .max(32)
        .optional()
        .describe("Non-resource URL paths such as '/healthz'; a final * matches a prefix."),
    })
    .describe('A cluster-wide PolicyRule: either resources (apiGroups and resources) or nonResourceURLs.'),
  {
    rule: 'has(self.nonResourceURLs) ? !(has(self.apiGroups) || has(self.resources) || has(self.resourceNames)) : (has(self.apiGroups) && has(self.resources))',
    message: 'a rule has either apiGroups and resources, or nonResourceURLs alone',
  },
  (r) =>
    has(r.nonResourceURLs)
      ? !(has(r.apiGroups) || has(r.resources) || has(r.resourceNames))
      : has(r.apiGroups) && has(r.resources),
);
export type ClusterPolicyRule = z.output<typeof ClusterPolicyRuleSchema>;

