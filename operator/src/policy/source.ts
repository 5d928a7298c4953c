// Where the running operator gets its grant policy: the ConfigMap `skillpod-grant-policy` in its own namespace,
// through an informer on that one object, so a change is seen within a second and every SkillPack and AgentRun is
// judged again (operator.ts enqueues them on this informer's events). Only when the ConfigMap is absent does the
// built-in DEFAULT_GRANT_POLICY apply, and that is logged: it is the policy `make install` would have set.
import type { Informer, KubeObject, Logger, Manager } from '../runtime/index.ts';
import { GRANT_POLICY_CONFIGMAP, parseGrantPolicyData } from './configmap.ts';
import { DEFAULT_GRANT_POLICY, type GrantPolicy } from './grant-policy.ts';

interface ConfigMapLike extends KubeObject {
  data?: Record<string, string>;
}

export interface GrantPolicyReading {
  policy: GrantPolicy;
  /** The ConfigMap was not found: the policy is the built-in default. */
  absent: boolean;
  problems: string[];
}

/** The policy a ConfigMap (or its absence) stands for. Pure. */
export function grantPolicyOf(configMap: ConfigMapLike | undefined): GrantPolicyReading {
  if (!configMap) return { policy: DEFAULT_GRANT_POLICY, absent: true, problems: [] };
  const { policy, problems } = parseGrantPolicyData(configMap.data);
  return { policy, absent: false, problems };
}

/**
 * The current policy from a cache lookup, parsed once per resourceVersion, with one log line each time the
 * ConfigMap appears, disappears, or changes with entries that had to be left out.
 */
export function cachedGrantPolicy(read: () => ConfigMapLike | undefined, log: Logger, where: string): () => GrantPolicy {
  let version: string | undefined | null = null; // null: nothing read yet
  let current: GrantPolicy = DEFAULT_GRANT_POLICY;
  return () => {
    const object = read();
    const seen = object ? (object.metadata?.resourceVersion ?? '') : undefined;
    if (seen === version) return current;
    const reading = grantPolicyOf(object);
    if (reading.absent) log.warn({ configMap: where }, 'grant policy ConfigMap not found: using the built-in default policy');
    else if (reading.problems.length > 0) log.warn({ configMap: where, problems: reading.problems }, 'grant policy entries left out');
    else log.info({ configMap: where, resourceVersion: seen }, 'grant policy loaded');
    version = seen;
    current = reading.policy;
    return current;
  };
}

export interface GrantPolicySource {
  /** Its events mean the policy may have changed. */
  informer: Informer<KubeObject>;
  current: () => GrantPolicy;
}

/** An informer on the one ConfigMap (a field selector, so RBAC may name it by resourceNames). */
export function watchGrantPolicy(manager: Manager, namespace: string, log: Logger): GrantPolicySource {
  const informer = manager.informer<KubeObject>({
    name: 'configmaps/grant-policy',
    resource: { apiVersion: 'v1', plural: 'configmaps', namespace, fieldSelector: `metadata.name=${GRANT_POLICY_CONFIGMAP}` },
    resyncPeriodMs: 0,
  });
  const current = cachedGrantPolicy(() => informer.store.get(namespace, GRANT_POLICY_CONFIGMAP), log.child({ component: 'grant-policy' }),
    `${namespace}/${GRANT_POLICY_CONFIGMAP}`);
  return { informer, current };
}
