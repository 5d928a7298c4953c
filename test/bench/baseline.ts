// The floor the operator is measured against: the least any controller must do for a run, with nothing else.
// It watches AgentRuns and pods like the operator, and per run makes exactly the objects the operator makes (built
// by the operator's own builders, so they are the same objects): POST ServiceAccount, ConfigMap, Role,
// RoleBinding, NetworkPolicy and Pod; when the agent container has ended, DELETE RoleBinding, Role,
// ServiceAccount and NetworkPolicy. No status, no events, no reads beyond its two watches; keep-alive connections,
// and at most `concurrency` runs worked on at once, like the operator's work queue.
// Started by test/bench/operator.ts as a child process: `node test/bench/baseline.ts <config.json>`.
import { readFileSync } from 'node:fs';
import { parseAgentRun } from '../../operator/src/api/index.ts';
import { buildRunObjects } from '../../operator/src/agentrun/decide/render.ts';
import { loadSettings } from '../../operator/src/config/settings.ts';
import { DEFAULT_GRANT_POLICY } from '../../operator/src/policy/grant-policy.ts';
import { packForCache } from '../../operator/src/skillpack/cached.ts';
import { skillPackReadiness } from '../../operator/src/skillpack/readiness.ts';
import { isStatus, KubeClient, ObjectWatcher, type WatchedObject } from '../harness/workload.ts';

export interface BaselineConfig {
  server: string;
  caFile: string;
  token: string;
  namespace: string;
  concurrency: number;
  pack: string;
}

const config = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as BaselineConfig;
const client = new KubeClient({ server: config.server, ca: readFileSync(config.caFile), token: config.token, maxSockets: config.concurrency + 4 });
const settings = loadSettings([], {});
const ns = config.namespace;

const packObject = await client.get<WatchedObject>(`/apis/skillpod.io/v1alpha1/skillpacks/${config.pack}`);
const { pack } = skillPackReadiness(packForCache(packObject), DEFAULT_GRANT_POLICY);
if (!pack) throw new Error(`SkillPack ${config.pack} does not parse`);
const packs = new Map([[config.pack, pack]]);

// A bounded pool of workers, as the operator's work queue has.
const work: Array<() => Promise<void>> = [];
let running = 0;
function submit(job: () => Promise<void>): void {
  work.push(job);
  pump();
}
function pump(): void {
  while (running < config.concurrency && work.length > 0) {
    const job = work.shift()!;
    running++;
    void job().catch((err: unknown) => console.error(String(err))).finally(() => {
      running--;
      pump();
    });
  }
}

async function create(path: string, body: unknown): Promise<void> {
  try {
    await client.json('POST', path, { body });
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
  }
}

async function remove(path: string): Promise<void> {
  try {
    await client.json('DELETE', path, { query: { propagationPolicy: 'Background' } });
  } catch (err) {
    if (!isStatus(err, 404)) throw err;
  }
}

const started = new Set<string>();
const revoked = new Set<string>();
const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}`;

const runs = new ObjectWatcher(client, `/apis/skillpod.io/v1alpha1/namespaces/${ns}/agentruns`, (type, raw) => {
  if (type !== 'ADDED' || started.has(raw.metadata.uid)) return;
  started.add(raw.metadata.uid);
  submit(async () => {
    const parsed = parseAgentRun(raw);
    if (!parsed.ok) throw new Error(parsed.error);
    const o = buildRunObjects({ run: parsed.value, packs, settings, apiServer: [] });
    await create(`/api/v1/namespaces/${ns}/serviceaccounts`, o.serviceAccount);
    await create(`/api/v1/namespaces/${ns}/configmaps`, o.configMap);
    if (o.role && o.roleBinding) {
      await create(`${rbac}/roles`, o.role);
      await create(`${rbac}/rolebindings`, o.roleBinding);
    }
    await create(`/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`, o.networkPolicy);
    await create(`/api/v1/namespaces/${ns}/pods`, o.pod);
  });
});

interface PodLite {
  status?: { containerStatuses?: Array<{ name: string; state?: { terminated?: unknown } }> };
}

const pods = new ObjectWatcher(client, `/api/v1/namespaces/${ns}/pods`, (type, pod) => {
  if (type === 'DELETED' || revoked.has(pod.metadata.uid)) return;
  const agent = (pod as PodLite).status?.containerStatuses?.find((c) => c.name === 'agent');
  if (!agent?.state?.terminated) return;
  revoked.add(pod.metadata.uid);
  const child = pod.metadata.name; // the pod, the grants and the ConfigMap share the run's child name
  submit(async () => {
    await remove(`${rbac}/rolebindings/${child}`);
    await remove(`${rbac}/roles/${child}`);
    await remove(`/api/v1/namespaces/${ns}/serviceaccounts/${child}`);
    await remove(`/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies/${child}`);
  });
}, 'app.kubernetes.io/managed-by=skillpod');

runs.start();
pods.start();
await Promise.all([runs.synced, pods.synced]);
console.log('ready');
process.on('SIGTERM', () => {
  void Promise.all([runs.stop(), pods.stop()]).then(() => process.exit(0));
});
