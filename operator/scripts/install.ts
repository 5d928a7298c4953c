// `make install`: applies to the current kubeconfig everything a cluster needs before the operator runs.
import { resolve } from 'node:path';
import { install } from '../src/install/apply.ts';
import { loadKubeConfig } from '../src/runtime/kubeconfig.ts';

const root = resolve(import.meta.dirname, '../..');
try {
  const kc = await loadKubeConfig();
  const objects = await install(kc, { root });
  for (const o of objects) console.log(`applied ${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`);
  console.log(`installed into ${kc.getCurrentCluster()?.server}`);
} catch (err) {
  console.error(`install failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
