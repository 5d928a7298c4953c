// observe: the world as one value for decide(). Reads the caches; the only request is the direct read that confirms
// a started run's pod is really gone when the cache has no pod (a cache may lag; a lost pod fails the run).
import { isFinishedPhase } from '../api/index.ts';
import type { APIServerEndpoint } from '../builders/index.ts';
import type { GrantPolicy } from '../policy/grant-policy.ts';
import type { KubeObject, ResourceClient, Store } from '../runtime/index.ts';
import type { CachedPack } from '../skillpack/cached.ts';
import { readinessOf } from '../skillpack/readiness.ts';
import type { Observed, PackView } from './decide/index.ts';
import { podForCache, type CachedRun, type PodView } from './views.ts';

export interface ObserveDeps {
  runs: Pick<Store<CachedRun>, 'get'>;
  packs: Pick<Store<CachedPack>, 'get'>;
  pods: Pick<Store<PodView>, 'get'>;
  client: ResourceClient;
  grantPolicy: () => GrantPolicy;
  apiServer: () => APIServerEndpoint[];
  settings: Observed['settings'];
}

/** The run and what it depends on; undefined when the run is gone (owner references and the finalizer did the rest). */
export async function observe(deps: ObserveDeps, namespace: string | undefined, name: string): Promise<Observed | undefined> {
  const run = deps.runs.get(namespace, name);
  if (!run) return undefined;
  const grantPolicy = deps.grantPolicy();
  const base = { run, grantPolicy, settings: deps.settings, apiServer: [] as APIServerEndpoint[], podLost: false, packs: new Map<string, PackView>() };
  if (!run.run || run.run.metadata.deletionTimestamp) return base;
  const { pod, podLost } = await findPod(deps, run);
  return { ...base, packs: viewPacks(deps, run, grantPolicy), pod, podLost, apiServer: deps.apiServer() };
}

/** Each skill's pack as usable or not, with the reason: the same check the pack controller makes. */
function viewPacks(deps: ObserveDeps, cached: CachedRun, policy: GrantPolicy): Map<string, PackView> {
  const views = new Map<string, PackView>();
  for (const skill of cached.run?.spec.skills ?? []) {
    const pack = deps.packs.get(undefined, skill.name);
    if (!pack) {
      views.set(skill.name, { ready: false, reason: 'NotFound', message: `SkillPack ${skill.name} not found` });
      continue;
    }
    const { pack: parsed, condition } = readinessOf(pack, policy);
    const ready = condition.status === 'True';
    views.set(skill.name, { ...(parsed ? { pack: parsed } : {}), ready, reason: condition.reason,
      message: ready ? '' : `SkillPack ${skill.name} is not Ready (${condition.reason}): ${condition.message}` });
  }
  return views;
}

/** The pod from the cache; a pod missing from the cache of a started, unfinished run is confirmed gone by a direct read. */
async function findPod(deps: ObserveDeps, cached: CachedRun): Promise<{ pod?: PodView; podLost: boolean }> {
  const podName = cached.status?.podName;
  const namespace = cached.metadata.namespace;
  if (!podName) return { podLost: false };
  const pod = deps.pods.get(namespace, podName);
  if (pod) return { pod, podLost: false };
  if (isFinishedPhase(cached.status?.phase)) return { podLost: false };
  const read = await deps.client.find<KubeObject>({ apiVersion: 'v1', kind: 'Pod' }, { namespace, name: podName });
  return read ? { pod: podForCache(read), podLost: false } : { podLost: true };
}
