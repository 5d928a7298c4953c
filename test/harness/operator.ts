// Runs the operator in-process for a test, under its own chart ServiceAccount (never as system:masters), so a
// permission missing from helm/skillpod/files/operator-rbac.yaml shows up as a failing test.
import { resolve } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { loadSettings, type Settings } from '../../operator/src/config/settings.ts';
import { install } from '../../operator/src/install/apply.ts';
import { createOperator, type OperatorOptions } from '../../operator/src/operator.ts';
import { createLogger, type Manager } from '../../operator/src/runtime/index.ts';
import { testCluster } from './context.ts';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const OPERATOR_NAMESPACE = 'skillpod-system';
export const OPERATOR_SERVICE_ACCOUNT = 'skillpod-operator';

let installed: Promise<void> | undefined;

/** CRDs, operator RBAC and admission policies, once per test file (server-side apply makes repeats no-ops). */
export function installSkillpod(): Promise<void> {
  installed ??= install(testCluster.kubeConfig(), { root: repoRoot, skillPacks: false }).then(() => undefined);
  return installed;
}

/** A kubeconfig holding a fresh token of the operator's ServiceAccount (TokenRequest API). */
export async function operatorKubeConfig(): Promise<KubeConfig> {
  const core = testCluster.kubeConfig().makeApiClient(CoreV1Api);
  const request = await core.createNamespacedServiceAccountToken({
    namespace: OPERATOR_NAMESPACE, name: OPERATOR_SERVICE_ACCOUNT, body: { spec: { audiences: [], expirationSeconds: 7200 } },
  });
  return testCluster.kubeConfigForToken(request.status?.token ?? '');
}

export interface TestOperator {
  manager: Manager;
  settings: Settings;
  url: string;
  stop(): Promise<void>;
}

export async function startOperator(args: string[] = [], extra: Partial<OperatorOptions> = {}): Promise<TestOperator> {
  await installSkillpod();
  const settings = loadSettings(['--server-bind-address', '127.0.0.1:0', '--resync-seconds', '30', ...args], {});
  const logger = createLogger({ level: (process.env.SKILLPOD_TEST_LOG_LEVEL as Settings['logLevel'] | undefined) ?? 'silent' });
  const manager = createOperator({ kubeConfig: await operatorKubeConfig(), settings, logger, ...extra });
  await manager.start();
  const address = manager.server?.address;
  return {
    manager,
    settings,
    url: address ? `http://127.0.0.1:${address.port}` : '',
    stop: async () => { await manager.stop(); },
  };
}
