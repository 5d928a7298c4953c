// The pod of a run (contract, design.md sections 3 and 4), built the way Tekton builds its pods: an init container
// copies a static binary (the skill executor) into a shared emptyDir, and every skill sidecar runs it as its command,
// whatever the skill image is. Pure: the same run, packs and settings always give the same pod.
//
//   initContainers: skillpod-install (runs to completion), then one native sidecar `skill-<pack>` per skill
//                   (restartPolicy Always; its startupProbe holds the next container back until the executor answers)
//   containers:     agent
//
// Volumes (every container has its own /tmp: a shared one would let the agent plant files, such as a
// $HOME/.kube/config, that tools in a sidecar would trust):
//   skillpod-bin     emptyDir   /skillpod/bin (rw in skillpod-install, ro elsewhere)
//   workspace        emptyDir   /workspace (agent and sidecars)
//   ipc-<pack>       emptyDir   /ipc/<pack> (rw only in skill-<pack>, which creates /ipc/<pack>/exec.sock; ro in the
//                               agent: connecting to a Unix socket needs no write access. No other sidecar mounts it,
//                               so one pack can neither replace nor impersonate another's socket)
//   podinfo          downward   /skillpod/podinfo/annotations (sidecars: the switch-off gate)
//   skillpod-config  ConfigMap  /skillpod/task and /skills/<pack>/SKILL.md (agent, subPath, ro)
//   skillpod-token   projected  /var/run/secrets/kubernetes.io/serviceaccount (only sidecars of packs with RBAC)
//   agent-tmp, install-tmp, tmp-<pack>   emptyDir   /tmp
import type { V1Container, V1EnvVar, V1Pod, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { AgentRun, EnvVar, Parameter, ParameterItems, SkillPack, Tool } from '../api/index.ts';
import type { Settings } from '../config/settings.ts';
import { grantSnapshot, packHasRBAC, renderGrantSnapshot, skillNames, type PackMap } from './grants.ts';
import { mergeOwnFirst, runLabels, sortedMap } from './labels.ts';
import { AGENT_CONTAINER, ANNOTATION_DISABLED_SKILLS, ANNOTATION_GRANTS, INSTALL_CONTAINER, skillContainerName, skillDocKey, TASK_KEY } from './names.ts';
import { ownerReference } from './owner.ts';
import {
  BIN_DIR,
  ENV_TASK,
  executorSettings,
  installCommand,
  packIpcDir,
  PODINFO_ANNOTATIONS_FILE,
  PODINFO_DIR,
  probeCommand,
  serveCommand,
  skillDocPath,
  TASK_FILE,
  TERMINATION_MESSAGE_PATH,
  TMP_DIR,
  TOKEN_DIR,
  WORKSPACE_DIR,
} from './pod-paths.ts';
import { INSTALL_RESOURCES, mergeResources } from './resources.ts';
import type { RunRef } from './run.ts';
import { containerSecurityContext, DEFAULT_RUN_GID, podSecurityContext } from './security.ts';

/** The settings the builders read. `runGid` (the group shared by all containers) defaults to 65532. */
export type BuilderSettings = Pick<
  Settings,
  'agentUid' | 'sidecarUid' | 'executorImage' | 'defaultAgentImage' | 'defaultAgentResources' | 'defaultSkillResources'
> & { runGid?: number | undefined };

/** Lifetime of the projected token; the kubelet renews it at 80%. Not 3607, which API servers stretch to a year. */
export const TOKEN_EXPIRATION_SECONDS = 3600;
/**
 * One try a second for the pack's startupTimeoutSeconds: the executor answers at once, so the budget is for a big
 * image's first start. Past it the kubelet restarts the sidecar, and a restart before the agent starts fails the run
 * (agentrun/pod-observation.ts), so a sidecar that cannot start is reported in seconds, not minutes.
 */
const startupProbe = (pack: string, seconds: number) =>
  ({ exec: { command: probeCommand(pack) }, periodSeconds: 1, timeoutSeconds: 5, failureThreshold: seconds }) as const;

const VOLUME = {
  bin: 'skillpod-bin',
  workspace: 'workspace',
  podinfo: 'podinfo',
  config: 'skillpod-config',
  token: 'skillpod-token',
  agentTmp: 'agent-tmp',
  installTmp: 'install-tmp',
} as const;
/** `tmp-` + a pack name of at most 57 characters: a volume name of at most 61. */
const skillTmpVolume = (pack: string) => `tmp-${pack}`;
/** `ipc-` + a pack name of at most 57 characters. */
const skillIpcVolume = (pack: string) => `ipc-${pack}`;

export interface PodProblem {
  /** CamelCase, ready for a condition. */
  reason: 'SkillPackMissing' | 'NoAgentImage' | 'InvalidSettings' | 'AgentEgressNotAllowed';
  message: string;
}

/** Why no pod can be built yet, or undefined when it can. */
export function podProblem(agentRun: Pick<AgentRun, 'spec'>, packs: PackMap, settings: BuilderSettings): PodProblem | undefined {
  const missing = skillNames(agentRun).filter((n) => !packs.has(n));
  if (missing.length > 0) {
    return { reason: 'SkillPackMissing', message: `waiting for SkillPack ${missing.join(', ')} to exist and be Ready` };
  }
  if (!agentRun.spec.agent?.image && !settings.defaultAgentImage) {
    return { reason: 'NoAgentImage', message: 'spec.agent.image is not set and the operator has no default agent image' };
  }
  if (settings.agentUid === settings.sidecarUid) {
    return { reason: 'InvalidSettings', message: 'agentUid and sidecarUid must differ: the executors tell the agent apart by its UID' };
  }
  return undefined;
}

/** `spec.tools` as the executor reads it from SKILLPOD_TOOLS: the CRD's own field names, in schema order. */
export function toolsJSON(tools: readonly Tool[]): string {
  return JSON.stringify(
    tools.map((t) => ({
      name: t.name,
      description: t.description,
      command: t.command,
      timeoutSeconds: t.timeoutSeconds,
      parameters: t.parameters && {
        type: t.parameters.type,
        properties: Object.fromEntries(Object.entries(t.parameters.properties).map(([k, p]) => [k, parameterJSON(p)])),
        required: t.parameters.required,
      },
      args: t.args,
      freeArguments: t.freeArguments,
      argPolicy: t.argPolicy && {
        allowedFlags: t.argPolicy.allowedFlags?.map((f) => ({ flag: f.flag, value: f.value })),
        deniedFlags: t.argPolicy.deniedFlags,
        allowedPatterns: t.argPolicy.allowedPatterns,
        deniedPatterns: t.argPolicy.deniedPatterns,
        maxArgs: t.argPolicy.maxArgs,
        parser: t.argPolicy.parser,
      },
    })),
  );
}

/** The string keywords the executor knows, and nothing else (an allowlist on the way out too). */
const stringJSON = (p: Parameter | ParameterItems) => ({
  type: p.type,
  description: p.description,
  enum: p.enum,
  pattern: p.pattern,
  minLength: p.minLength,
  maxLength: p.maxLength,
});

function parameterJSON(p: Parameter): Record<string, unknown> {
  return { ...stringJSON(p), minimum: p.minimum, maximum: p.maximum, items: p.items && stringJSON(p.items), maxItems: p.maxItems };
}

function envVar(e: EnvVar): V1EnvVar {
  if (e.valueFrom?.secretKeyRef) return { name: e.name, valueFrom: { secretKeyRef: { ...e.valueFrom.secretKeyRef } } };
  if (e.valueFrom?.configMapKeyRef) return { name: e.name, valueFrom: { configMapKeyRef: { ...e.valueFrom.configMapKeyRef } } };
  return { name: e.name, value: e.value ?? '' };
}

/** HOME into /tmp unless the user's (or pack's) env sets it; ours first, so their values may refer to ours. */
function env(own: V1EnvVar[], user: readonly EnvVar[] | undefined): V1EnvVar[] {
  const theirs = (user ?? []).map(envVar);
  const home = theirs.some((e) => e.name === 'HOME') ? [] : [{ name: 'HOME', value: TMP_DIR }];
  return [...home, ...own, ...theirs];
}

const mount = (name: string, mountPath: string, readOnly: boolean, subPath?: string): V1VolumeMount =>
  subPath === undefined ? { name, mountPath, readOnly } : { name, mountPath, readOnly, subPath };
const byPath = (mounts: V1VolumeMount[]) => mounts.sort((a, b) => (a.mountPath < b.mountPath ? -1 : a.mountPath > b.mountPath ? 1 : 0));

function installContainer(settings: BuilderSettings, gid: number): V1Container {
  return {
    name: INSTALL_CONTAINER,
    image: settings.executorImage,
    command: installCommand(),
    resources: INSTALL_RESOURCES,
    securityContext: containerSecurityContext(settings.sidecarUid, gid),
    volumeMounts: byPath([mount(VOLUME.bin, BIN_DIR, false), mount(VOLUME.installTmp, TMP_DIR, false)]),
  };
}

function skillContainer(pack: SkillPack, settings: BuilderSettings, gid: number): V1Container {
  const name = pack.metadata.name ?? '';
  const mounts = [
    mount(VOLUME.workspace, WORKSPACE_DIR, false),
    mount(skillIpcVolume(name), packIpcDir(name), false),
    mount(VOLUME.bin, BIN_DIR, true),
    mount(VOLUME.podinfo, PODINFO_DIR, true),
    mount(skillTmpVolume(name), TMP_DIR, false),
  ];
  if (packHasRBAC(pack)) mounts.push(mount(VOLUME.token, TOKEN_DIR, true));
  return {
    name: skillContainerName(name),
    image: pack.spec.image,
    command: serveCommand(name),
    env: env(
      Object.entries(executorSettings(toolsJSON(pack.spec.tools), settings.agentUid)).map(([k, value]) => ({ name: k, value })),
      pack.spec.env,
    ),
    resources: mergeResources(pack.spec.resources, settings.defaultSkillResources),
    restartPolicy: 'Always',
    securityContext: containerSecurityContext(settings.sidecarUid, gid),
    startupProbe: startupProbe(name, pack.spec.startupTimeoutSeconds),
    volumeMounts: byPath(mounts),
  };
}

function agentContainer(agentRun: Pick<AgentRun, 'spec'>, packNames: readonly string[], settings: BuilderSettings, gid: number): V1Container {
  const agent = agentRun.spec.agent ?? {};
  return {
    name: AGENT_CONTAINER,
    image: agent.image || settings.defaultAgentImage,
    ...(agent.command ? { command: [...agent.command] } : {}),
    ...(agent.args ? { args: [...agent.args] } : {}),
    env: env([{ name: ENV_TASK, value: agentRun.spec.task }], agent.env),
    resources: mergeResources(agent.resources, settings.defaultAgentResources),
    securityContext: containerSecurityContext(settings.agentUid, gid),
    // The result is what the agent writes here, nothing else: FallbackToLogsOnError would copy the tail of its
    // logs into status.result, where readers of the AgentRun (not only of pod logs) would see it.
    terminationMessagePath: TERMINATION_MESSAGE_PATH,
    terminationMessagePolicy: 'File',
    volumeMounts: byPath([
      mount(VOLUME.workspace, WORKSPACE_DIR, false),
      ...packNames.map((p) => mount(skillIpcVolume(p), packIpcDir(p), true)),
      mount(VOLUME.bin, BIN_DIR, true),
      mount(VOLUME.config, TASK_FILE, true, TASK_KEY),
      ...packNames.map((p) => mount(VOLUME.config, skillDocPath(p), true, skillDocKey(p))),
      mount(VOLUME.agentTmp, TMP_DIR, false),
    ]),
  };
}

function volumes(run: RunRef, packs: readonly SkillPack[]): V1Volume[] {
  const emptyDir = (name: string): V1Volume => ({ name, emptyDir: {} });
  const out: V1Volume[] = [
    emptyDir(VOLUME.bin),
    emptyDir(VOLUME.workspace),
    emptyDir(VOLUME.agentTmp),
    emptyDir(VOLUME.installTmp),
    ...packs.map((p) => emptyDir(skillTmpVolume(p.metadata.name ?? ''))),
    ...packs.map((p) => emptyDir(skillIpcVolume(p.metadata.name ?? ''))),
    {
      name: VOLUME.podinfo,
      downwardAPI: { items: [{ path: PODINFO_ANNOTATIONS_FILE, fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.annotations' } }] },
    },
    { name: VOLUME.config, configMap: { name: run.childName } },
  ];
  if (packs.some(packHasRBAC)) {
    out.push({
      name: VOLUME.token,
      projected: {
        defaultMode: 0o644,
        sources: [
          { serviceAccountToken: { path: 'token', expirationSeconds: TOKEN_EXPIRATION_SECONDS } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The pod. Throws when podProblem() names a problem: check that first. The pod is created once and never
 * updated; the reconciler changes only the `skillpod.io/disabled-skills` annotation (`gate`, decided by
 * agentrun/decide/holdings.ts) afterwards.
 */
export function buildPod(run: RunRef, agentRun: Pick<AgentRun, 'spec'>, packs: PackMap, settings: BuilderSettings, gate: string): V1Pod {
  const problem = podProblem(agentRun, packs, settings);
  if (problem) throw new Error(`cannot build the pod of AgentRun ${run.namespace}/${run.name}: ${problem.message}`);
  const gid = settings.runGid ?? DEFAULT_RUN_GID;
  const names = skillNames(agentRun);
  const skillPacks = names.map((n) => packs.get(n) as SkillPack);
  const spec = agentRun.spec;
  const annotations: Record<string, string> = {
    [ANNOTATION_DISABLED_SKILLS]: gate,
    [ANNOTATION_GRANTS]: renderGrantSnapshot(grantSnapshot(agentRun, packs)),
  };
  const pod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: run.childName,
      namespace: run.namespace,
      labels: mergeOwnFirst(spec.podLabels, runLabels(run)),
      annotations: mergeOwnFirst(spec.podAnnotations, annotations),
      ownerReferences: [ownerReference(run)],
    },
    spec: {
      activeDeadlineSeconds: spec.timeoutSeconds,
      automountServiceAccountToken: false,
      containers: [agentContainer(agentRun, names, settings, gid)],
      enableServiceLinks: false,
      initContainers: [installContainer(settings, gid), ...skillPacks.map((p) => skillContainer(p, settings, gid))],
      restartPolicy: 'Never',
      securityContext: podSecurityContext(gid),
      serviceAccountName: run.childName,
      shareProcessNamespace: false,
      volumes: volumes(run, skillPacks),
    },
  };
  const podSpec = pod.spec!;
  if (spec.imagePullSecrets?.length) {
    podSpec.imagePullSecrets = [...spec.imagePullSecrets].sort((a, b) => (a.name < b.name ? -1 : 1)).map((s) => ({ name: s.name }));
  }
  if (spec.nodeSelector && Object.keys(spec.nodeSelector).length > 0) podSpec.nodeSelector = sortedMap(spec.nodeSelector);
  if (spec.runtimeClassName) podSpec.runtimeClassName = spec.runtimeClassName;
  if (spec.tolerations?.length) podSpec.tolerations = spec.tolerations.map((t) => ({ ...t }));
  return pod;
}
