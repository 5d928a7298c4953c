// Names that other parts of Skillpod (operator, pod builder, chart, docs) agree on. Fixed by the API contract
// (design.md section 2): changing any of them is a breaking change.

export const GROUP = 'skillpod.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** The `kubectl get skillpod` category. Not `all`: `kubectl get all` is for core workloads (see docs/api.md). */
export const CATEGORY = 'skillpod';

export const AGENTRUN = {
  kind: 'AgentRun',
  listKind: 'AgentRunList',
  plural: 'agentruns',
  singular: 'agentrun',
  shortNames: ['ar'],
  scope: 'Namespaced',
} as const;

export const SKILLPACK = {
  kind: 'SkillPack',
  listKind: 'SkillPackList',
  plural: 'skillpacks',
  singular: 'skillpack',
  shortNames: ['skp'],
  scope: 'Cluster',
} as const;

/** Labels on everything the operator creates (contract). */
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'skillpod';
/** The field manager of every write the operator makes (server-side apply, status and metadata patches, creates). */
export const FIELD_MANAGER = 'skillpod-operator';
export const LABEL_PART_OF = 'app.kubernetes.io/part-of';
export const LABEL_RUN = 'skillpod.io/run';
export const LABEL_RUN_UID = 'skillpod.io/run-uid';
export const LABEL_RUN_NAMESPACE = 'skillpod.io/run-namespace';

/** Pod annotation read by the executors' switch-off gate (contract, design.md section 4). */
export const ANNOTATION_DISABLED_SKILLS = 'skillpod.io/disabled-skills';

/**
 * The finalizer on runs that may hold cluster-scoped grants (ClusterRole, ClusterRoleBinding: no owner reference can
 * collect them): set before they are made, released after they are gone.
 */
export const FINALIZER_CLUSTER_GRANTS = 'skillpod.io/cluster-grants';

/** Keys under this prefix belong to the operator; users cannot set them through podLabels/podAnnotations. */
export const RESERVED_KEY_PREFIX = 'skillpod.io/';

/**
 * Limits shared by the schemas and the code that fills them. The operator truncates `status.result` to
 * RESULT_MAX_LENGTH (the kubelet already caps one termination message at 4096 bytes).
 */
export const LIMITS = {
  skillPackNameMax: 57, // `skill-` + name must fit a 63-character container name
  agentRunNameMax: 63, // the name becomes a label value
  skillsPerRun: 16,
  toolsPerPack: 64,
  resultMax: 4096,
  conditionsMax: 32,
} as const;
