// Wires the operator together under one Manager: each controller declares its own informers and watches (its setup
// function); this file only calls them. `main.ts` parses settings and calls this; tests call it in-process with the
// operator's own ServiceAccount credentials.
import { setupAgentRunController } from './agentrun/controller.ts';
import type { Settings } from './config/settings.ts';
import { kubeEventRecorder } from './events.ts';
import { AgentRunMetrics } from './metrics/agentruns.ts';
import type { GrantPolicy } from './policy/grant-policy.ts';
import { watchGrantPolicy } from './policy/source.ts';
import { Manager, type KubeConfigSource, type Logger } from './runtime/index.ts';
import { setupSkillPackController } from './skillpack/controller.ts';

export interface OperatorOptions {
  /** runtime/kubeconfig.ts's loadKubeConfig, or client-node's KubeConfig (tests). */
  kubeConfig: KubeConfigSource;
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
  const policyChanged = 'informer' in policySource ? policySource.informer : undefined;
  const packs = setupSkillPackController(manager, { settings, events, grantPolicy, policyChanged });
  const agentRuns = setupAgentRunController(manager, { settings, packs, events, grantPolicy, policyChanged, logger });
  // Domain metrics (runs by phase, durations, grants alive, …) from the caches and their transitions (metrics/).
  if (settings.domainMetrics) {
    new AgentRunMetrics({ registry: manager.metrics.registry, runs: agentRuns.runs, pods: agentRuns.pods, packs,
      leading: () => manager.isLeader, namespaceLabel: settings.metricsNamespaceLabel });
  }
  return manager;
}
