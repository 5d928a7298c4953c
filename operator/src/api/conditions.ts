// Condition types and reasons the operator writes on AgentRuns and SkillPacks (contract): `kubectl wait
// --for=condition=…`, the Argo CD health checks (argocd/health/) and users' alerts match on these strings, so they
// are named once here; test/unit/argocd-health.test.ts checks the Lua scripts name only these.

/** AgentRun condition types. `Succeeded` is terminal: True on success, False with a reason on failure. */
export const RunCondition = {
  Ready: 'Ready',
  Succeeded: 'Succeeded',
  SkillPacksReady: 'SkillPacksReady',
  SkillsInPod: 'SkillsInPod',
  GrantsRevoked: 'GrantsRevoked',
} as const;

/** Why an AgentRun is not Ready (Ready=False), or Ready=True's reason (`Running`). */
export const ReadyReason = {
  Running: 'Running',
  Finished: 'Finished',
  InvalidSpec: 'InvalidSpec',
  WaitingForSkillPacks: 'WaitingForSkillPacks',
  PodPending: 'PodPending',
  SkillsNotReady: 'SkillsNotReady',
  /** The API server refused the run's pod (quota, Pod Security, a webhook, the operator's bounds). */
  PodRefused: 'PodRefused',
  /** The API server refused one of the run's grants (RBAC the operator lacks, the grant policy's bounds). */
  GrantRefused: 'GrantRefused',
  NoAgentImage: 'NoAgentImage',
  InvalidSettings: 'InvalidSettings',
  AgentEgressNotAllowed: 'AgentEgressNotAllowed',
} as const;

/** Succeeded's reason: AgentSucceeded when True, why the run failed when False, the phase while Unknown. */
export const SucceededReason = {
  AgentSucceeded: 'AgentSucceeded',
  AgentFailed: 'AgentFailed',
  AgentNotStarted: 'AgentNotStarted',
  SkillNotReady: 'SkillNotReady',
  InitFailed: 'InitFailed',
  PodFailed: 'PodFailed',
  PodLost: 'PodLost',
  Timeout: 'Timeout',
} as const;

export const SkillPacksReadyReason = {
  AllSkillPacksReady: 'AllSkillPacksReady',
  SkillPackNotFound: 'SkillPackNotFound',
  SkillPackNotReady: 'SkillPackNotReady',
} as const;

export const SkillsInPodReason = {
  AllSkillsInPod: 'AllSkillsInPod',
  SkillNotInPod: 'SkillNotInPod',
} as const;

export const GrantsRevokedReason = {
  RunFinished: 'RunFinished',
} as const;

/** SkillPack condition types and reasons. */
export const PackCondition = {
  Ready: 'Ready',
  FreeArguments: 'FreeArguments',
} as const;

export const PackReason = {
  Valid: 'Valid',
  InvalidSpec: 'InvalidSpec',
  OutsideGrantPolicy: 'OutsideGrantPolicy',
  FreeArgumentsWithCredentials: 'FreeArgumentsWithCredentials',
  FreeArgumentTools: 'FreeArgumentTools',
  TypedToolsOnly: 'TypedToolsOnly',
} as const;

/** Reasons of Events the operator records on AgentRuns beyond the condition reasons above. */
export const RunEventReason = {
  PodCreated: 'PodCreated',
  Started: 'Started',
  Succeeded: 'Succeeded',
  SkillGranted: 'SkillGranted',
  SkillRevoked: 'SkillRevoked',
} as const;

type ValueOf<T> = T[keyof T];
export type RunConditionType = ValueOf<typeof RunCondition>;
export type ReadyReasonValue = ValueOf<typeof ReadyReason>;
export type SucceededReasonValue = ValueOf<typeof SucceededReason>;

/** Every condition type and reason above, for checks that a script or fixture names only these. */
export const ALL_CONDITION_TYPES: ReadonlySet<string> = new Set([...Object.values(RunCondition), ...Object.values(PackCondition)]);
export const ALL_CONDITION_REASONS: ReadonlySet<string> = new Set([
  ...Object.values(ReadyReason), ...Object.values(SucceededReason), ...Object.values(SkillPacksReadyReason),
  ...Object.values(SkillsInPodReason), ...Object.values(GrantsRevokedReason), ...Object.values(PackReason),
  // Succeeded=Unknown carries the phase as its reason while the run goes on.
  'Pending', 'Running',
]);
