// Wires the operator together: informers, controllers and the runtime server under one Manager. `main.ts` only
// parses settings and calls this; tests call it in-process with the operator's own ServiceAccount credentials.
import type { KubeConfig } from '@kubernetes/client-node';
import { API_VERSION, SKILLPACK } from './api/index.ts';
import type { Settings } from './config/settings.ts';
import { kubeEventRecorder } from './events.ts';
import { DEFAULT_GRANT_POLICY, type GrantPolicy } from './policy/grant-policy.ts';
import { Manager, type KubeObject, type Logger } from './runtime/index.ts';
import { skillPackReconciler } from './skillpack/controller.ts';

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  settings: Settings;
  logger: Logger;
  handleSignals?: boolean;
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
    leaderElection: settings.leaderElect
      ? { namespace: settings.operatorNamespace, name: settings.leaderElectionId, leaseDurationMs: settings.leaseDurationSeconds * 1000 }
      : false,
    shutdownGraceMs: settings.shutdownGraceSeconds * 1000,
    handleSignals: options.handleSignals ?? false,
  });
  const events = kubeEventRecorder(manager.http, logger);
  const grantPolicy = options.grantPolicy ?? (() => DEFAULT_GRANT_POLICY);
  const resyncPeriodMs = settings.resyncSeconds * 1000;

  const packs = manager.informer<KubeObject>({
    name: 'skillpacks',
    resource: { apiVersion: API_VERSION, plural: SKILLPACK.plural },
    resyncPeriodMs,
  });
  manager
    .controller({ name: 'skillpack', concurrency: Math.min(4, settings.concurrency), reconcile: skillPackReconciler({ packs, http: manager.http, events, grantPolicy }) })
    .watch(packs);
  return manager;
}
