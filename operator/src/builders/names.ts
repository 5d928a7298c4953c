// Names and well-known keys of everything built for one AgentRun. Pure string functions: no I/O.
//
// Every child of a run carries a suffix taken from the run's UID, so a run deleted and re-created under the same
// name never meets (or adopts) its predecessor's objects while those are still being garbage-collected.
import {
  ANNOTATION_DISABLED_SKILLS,
  API_VERSION,
  AGENTRUN,
  LABEL_MANAGED_BY,
  LABEL_RUN,
  LABEL_RUN_NAMESPACE,
  LABEL_RUN_UID,
  MANAGED_BY,
} from '../api/index.ts';

export { ANNOTATION_DISABLED_SKILLS, LABEL_MANAGED_BY, LABEL_RUN, LABEL_RUN_NAMESPACE, LABEL_RUN_UID, MANAGED_BY };
export const OWNER_API_VERSION = API_VERSION;
export const OWNER_KIND = AGENTRUN.kind;

/**
 * Pod annotation holding, as JSON, what each SkillPack of the run granted when the pod was created
 * (see grants.ts). Later reconciles intersect a pack's current rules with it, so a pack that changes during a
 * run can only shrink what the run holds.
 */
export const ANNOTATION_GRANTS = 'skillpod.io/grants';

/** Longest DNS label (pod, container and volume names; hostnames). */
export const DNS_LABEL_MAX = 63;
/**
 * Hex digits of the run UID kept in child names: 48 bits, so two runs of one name in one namespace meet a
 * collision with odds of about 1 in 10^14 (8 digits, 32 bits, made a birthday collision plausible at scale).
 */
const UID_DIGITS = 12;
/** `-` plus the UID digits. */
const SUFFIX_LENGTH = UID_DIGITS + 1;

/** The first 12 hex characters of a UID without its dashes, lowercased: `3f2a9c1e-5b7d-...` → `3f2a9c1e5b7d`. */
export function uidSuffix(uid: string): string {
  const hex = uid.replace(/-/g, '').toLowerCase();
  if (!new RegExp(`^[0-9a-f]{${UID_DIGITS}}`).test(hex)) throw new Error(`run UID ${JSON.stringify(uid)} does not start with ${UID_DIGITS} hex characters`);
  return hex.slice(0, UID_DIGITS);
}

/**
 * Name of every namespaced child of a run (ServiceAccount, Role, RoleBinding, ConfigMap, NetworkPolicy, Pod):
 * `<run name>-<uid suffix>`, a DNS label of at most 63 characters. The run name may be a DNS subdomain; its dots
 * become dashes (the kubelet refuses a pod whose name is not a valid hostname) and it is cut to fit.
 */
export function childName(runName: string, uid: string): string {
  let base = runName.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, DNS_LABEL_MAX - SUFFIX_LENGTH);
  base = base.replace(/^-+|-+$/g, '');
  const suffix = uidSuffix(uid);
  return base === '' ? `run-${suffix}` : `${base}-${suffix}`;
}

/**
 * Name of the run's ClusterRole and ClusterRoleBinding: `skillpod:<namespace>:<child name>`. Cluster-scoped names
 * must be unique across namespaces; RBAC names may contain colons (as `system:` ones do), at most 253 characters.
 */
export function clusterChildName(namespace: string, runName: string, uid: string): string {
  return `skillpod:${namespace}:${childName(runName, uid)}`;
}

/** Container of one skill's sidecar: `skill-<pack>` (SkillPack names are at most 57 characters). */
export function skillContainerName(pack: string): string {
  return `skill-${pack}`;
}

export const AGENT_CONTAINER = 'agent';
export const INSTALL_CONTAINER = 'skillpod-install';

/** ConfigMap keys: the task, and one Markdown document per pack (rendered as /skills/<pack>/SKILL.md). */
export const TASK_KEY = 'task';
export function skillDocKey(pack: string): string {
  return `${pack}.md`;
}
