// Wires the operator together: informers, controllers and the runtime server under one Manager. `main.ts` only
// parses settings and calls this; tests call it in-process with the operator's own ServiceAccount credentials.
import type { KubeConfig } from '@kubernetes/client-node';
import { AGENTRUN, API_VERSION, LABEL_MANAGED_BY, LABEL_RUN, MANAGED_BY, SKILLPACK, type AgentRun } from './api/index.ts';
import { podForCache, withoutManagedFields } from './agentrun/cached.ts';
import { Applier } from './agentrun/kube-objects.ts';
import { agentRunReconciler } from './agentrun/reconcile.ts';
import { podEventPriority, runEventPriority } from './agentrun/priority.ts';
import { orphanSweep } from './agentrun/sweep.ts';
import type { APIServerEndpoint } from './builders/index.ts';
import type { Settings } from './config/settings.ts';
import { kubeEventRecorder } from './events.ts';
import { AgentRunMetrics } from './metrics/agentruns.ts';
import type { GrantPolicy } from './policy/grant-policy.ts';
import { watchGrantPolicy } from './policy/source.ts';
import { keyOf, Manager, type KubeObject, type Logger } from './runtime/index.ts';
import { skillPackReconciler } from './skillpack/controller.ts';

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  settings: Settings;
  logger: Logger;
  handleSignals?: boolean;
  /** Tests only: a fixed policy instead of the ConfigMap skillpod-grant-policy in the operator's namespace. */
  grantPolicy?: () => GrantPolicy;
}

function parseBindAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i) || '0.0.0.0', port: Number(address.slice(i + 1)) };
}

export function createOperator(options: OperatorOptions): Manager {
  const { settings, logger } = options;
  const manager = new Manager({
    kubeConfig: options.kubeConfig,
    logger,
    server: parseBindAddress(settings.serverBindAddress),
    ...(settings.metricsBindAddress ? { metricsServer: { ...parseBindAddress(settings.metricsBindAddress), secure: settings.metricsSecure,
      ...(settings.metricsCertDir ? { certDir: settings.metricsCertDir } : {}) } } : {}),
    leaderElection: settings.leaderElect
      ? { namespace: settings.operatorNamespace, name: settings.leaderElectionId, leaseDurationMs: settings.leaseDurationSeconds * 1000 }
      : false,
    shutdownGraceMs: settings.shutdownGraceSeconds * 1000,
    apiRateLimit: { qps: settings.apiQps, burst: settings.apiBurst },
    handleSignals: options.handleSignals ?? false,
  });
  const events = kubeEventRecorder(manager.http, logger);
  const policySource = options.grantPolicy ? { current: options.grantPolicy } : watchGrantPolicy(manager, settings.operatorNamespace, logger);
  const grantPolicy = policySource.current;
  const resyncPeriodMs = settings.resyncSeconds * 1000;

  const packs = manager.informer<KubeObject>({
    name: 'skillpacks',
    resource: { apiVersion: API_VERSION, plural: SKILLPACK.plural },
    resyncPeriodMs,
    transform: withoutManagedFields,
  });
  const namespaces = settings.watchNamespaces.length > 0 ? settings.watchNamespaces : [undefined];
  const runs = namespaces.map((namespace) => manager.informer<KubeObject>({
    name: `agentruns${namespace ? `/${namespace}` : ''}`,
    resource: { apiVersion: API_VERSION, plural: AGENTRUN.plural, ...(namespace ? { namespace } : {}) },
    resyncPeriodMs,
    transform: withoutManagedFields,
  }));
  const pods = namespaces.map((namespace) => manager.informer<KubeObject>({
    name: `pods${namespace ? `/${namespace}` : ''}`,
    resource: { apiVersion: 'v1', plural: 'pods', ...(namespace ? { namespace } : {}), labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}` },
    resyncPeriodMs: 0,
    // Metadata and status only: the reconcile never reads a pod's spec (see agentrun/cached.ts).
    transform: podForCache,
  }));
  // The API server's addresses, for the egress of runs whose skills hold RBAC: the one EndpointSlice the API server
  // keeps for itself (`default/kubernetes`), by name, so the operator's RBAC names it (operator-rbac.yaml).
  const apiEndpoints = manager.informer<KubeObject>({
    name: 'endpointslices/kubernetes',
    resource: { apiVersion: 'discovery.k8s.io/v1', plural: 'endpointslices', namespace: 'default', fieldSelector: 'metadata.name=kubernetes' },
    resyncPeriodMs: 0,
  });
  const multiStore = <T extends KubeObject>(informers: Array<{ store: { get(ns: string | undefined, name: string): T | undefined } }>) => ({
    get: (ns: string | undefined, name: string) => informers.map((i) => i.store.get(ns, name)).find((o) => o !== undefined),
  });
  const runStore = multiStore(runs);
  // Domain metrics (runs by phase, durations, grants alive, …) from the caches and their transitions (metrics/).
  new AgentRunMetrics({ registry: manager.metrics.registry, runs, pods, packs, leading: () => manager.isLeader, namespaceLabel: settings.metricsNamespaceLabel });
  const applier = new Applier(manager.http);
  manager.add(orphanSweep({
    http: manager.http, applier, cachedRun: (ns, name) => runStore.get(ns, name), synced: () => manager.synced,
    log: logger.child({ component: 'orphan-sweep' }), intervalMs: settings.resyncSeconds * 1000,
  }));
  const runController = manager.controller({
    name: 'agentrun',
    concurrency: settings.concurrency,
    reconcile: agentRunReconciler({
      runs: { store: runStore as never }, packs, pods: { store: multiStore(pods) as never },
      http: manager.http, applier, events, settings, grantPolicy,
      apiServer: () => apiServerEndpoints(apiEndpoints.store.list()),
    }),
  });
  // Revocations go ahead of creations in the queue (agentrun/priority.ts).
  for (const informer of runs) runController.watch(informer, undefined, runEventPriority);
  for (const informer of pods) {
    runController.watch(informer, ({ object }) => {
      const run = object.metadata?.labels?.[LABEL_RUN];
      return run ? keyOf(object.metadata?.namespace, run) : undefined;
    }, podEventPriority);
  }
  // A pack that appears, becomes Ready or changes concerns every run that names it.
  runController.watch(packs, ({ object }) => runs.flatMap((i) => i.store.list()
    .filter((r) => (r as unknown as AgentRun).spec?.skills?.some((s) => s.name === object.metadata?.name))
    .map((r) => keyOf(r.metadata?.namespace, r.metadata?.name ?? ''))));

  const packController = manager
    .controller({ name: 'skillpack', concurrency: Math.min(4, settings.concurrency), reconcile: skillPackReconciler({ packs, http: manager.http, events, grantPolicy }) })
    .watch(packs);
  // A changed grant policy concerns every pack and every run.
  if ('informer' in policySource) {
    packController.watch(policySource.informer, () => packs.store.list().map((p) => keyOf(undefined, p.metadata?.name ?? '')));
    runController.watch(policySource.informer, () => runs.flatMap((i) => i.store.list().map((r) => keyOf(r.metadata?.namespace, r.metadata?.name ?? ''))));
  }
  return manager;
}

interface EndpointSlice extends KubeObject {
  endpoints?: Array<{ addresses?: string[]; conditions?: { ready?: boolean } }>;
  ports?: Array<{ port?: number; name?: string }>;
}

function apiServerEndpoints(slices: KubeObject[]): APIServerEndpoint[] {
  return (slices as EndpointSlice[]).flatMap((slice) => (slice.endpoints ?? [])
    .filter((e) => e.conditions?.ready !== false)
    .flatMap((e) => (e.addresses ?? []).flatMap((ip) => (slice.ports ?? []).map((p) => ({ ip, port: p.port ?? 443 })))));
}
