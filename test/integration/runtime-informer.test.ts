// The supervised informer against a real kube-apiserver: it follows creates, updates and deletes, survives the
// API server being stopped and started (a real outage, not a mock), relists when its resourceVersion has expired,
// restarts a watch that went quiet, and resyncs.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { Informer, type InformerEvent, type InformerHooks, type InformerOptions } from '../../operator/src/runtime/informer.ts';
import { KubeHttp } from '../../operator/src/runtime/kube-http.ts';
import { createLogger } from '../../operator/src/runtime/logger.ts';
import type { KubeObject } from '../../operator/src/runtime/resource.ts';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

let kc: KubeConfig;
let core: CoreV1Api;
let ns: string;
const informers: Informer<KubeObject>[] = [];
const logger = createLogger({ level: process.env.SKILLPOD_TEST_LOG === '1' ? 'debug' : 'silent' });

beforeAll(async () => {
  kc = testCluster.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  ns = await testCluster.createNamespace('rt-informer');
});

afterEach(async () => {
  await Promise.all(informers.splice(0).map((i) => i.stop()));
});

afterAll(async () => {
  await testCluster.deleteNamespace(ns);
});

function configMapInformer<T extends KubeObject = ConfigMap>(
  extra: Partial<InformerOptions<T>> = {},
): { informer: Informer<T>; events: Array<InformerEvent<T>>; restarts: string[] } {
  const restarts: string[] = [];
  const hooks: InformerHooks = { restarted: (reason) => restarts.push(reason) };
  const informer = new Informer<T>({
    http: new KubeHttp(kc),
    resource: { apiVersion: 'v1', plural: 'configmaps', namespace: ns },
    logger,
    hooks,
    // Short backoff: the tests wait for recovery, not for the production delays.
    backoff: { baseMs: 200, maxMs: 1000, jitter: 0.5 },
    ...extra,
  });
  const events: Array<InformerEvent<T>> = [];
  informer.addHandler((e) => events.push(e));
  informers.push(informer as unknown as Informer<KubeObject>);
  return { informer, events, restarts };
}

const createCm = (name: string, data: Record<string, string> = {}, labels: Record<string, string> = {}) =>
  core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name, labels }, data } });

describe('Informer', () => {
  it('lists, then follows creates, updates and deletes', async () => {
    await createCm('before', { a: '1' });
    const { informer, events } = configMapInformer();
    informer.start();
    await informer.waitForSync();
    expect(informer.synced).toBe(true);
    // Items of a list carry no kind; the informer puts it back.
    expect(informer.store.get(ns, 'before')).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1', data: { a: '1' } });
    expect(events).toContainEqual(expect.objectContaining({ type: 'added' }));

    await createCm('later', { b: '1' });
    await eventually(() => expect(informer.store.get(ns, 'later')?.data).toEqual({ b: '1' }));
    await core.patchNamespacedConfigMap({ namespace: ns, name: 'later', body: [{ op: 'replace', path: '/data/b', value: '2' }] });
    await eventually(() => expect(informer.store.get(ns, 'later')?.data).toEqual({ b: '2' }));
    const update = events.find((e) => e.type === 'updated' && e.object.metadata?.name === 'later');
    expect(update?.old?.data).toEqual({ b: '1' });

    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'later' });
    await eventually(() => expect(informer.store.get(ns, 'later')).toBeUndefined());
    expect(events.at(-1)).toMatchObject({ type: 'deleted', object: { metadata: { name: 'later' } } });
    // kube-root-ca.crt arrives whenever the root-CA publisher gets to the new namespace: not part of this test.
    expect(informer.store.list(ns).map((o) => o.metadata?.name).filter((n) => n !== 'kube-root-ca.crt')).toEqual(['before']);
    expect(informer.watching).toBe(true);
  });

  it('keeps only what the transform keeps, and honours a label selector', async () => {
    await createCm('labelled', { big: 'x'.repeat(10_000) }, { app: 'rt-test' });
    await createCm('unlabelled', {}, {});
    const { informer } = configMapInformer<KubeObject & { size: number }>({
      resource: { apiVersion: 'v1', plural: 'configmaps', namespace: ns, labelSelector: 'app=rt-test' },
      transform: (o) => ({
        metadata: { name: o.metadata?.name, namespace: o.metadata?.namespace, resourceVersion: o.metadata?.resourceVersion },
        size: JSON.stringify((o as ConfigMap).data ?? {}).length,
      }),
    });
    informer.start();
    await informer.waitForSync();
    expect(informer.store.keys()).toEqual([`${ns}/labelled`]);
    expect(informer.store.get(ns, 'labelled')).toEqual({
      metadata: { name: 'labelled', namespace: ns, resourceVersion: expect.any(String) as unknown },
      size: 10_010,
    });
  });

  it('restarts a watch that went quiet, and resyncs periodically', async () => {
    const { informer, events, restarts } = configMapInformer({ quietTimeoutMs: 1500, resyncPeriodMs: 1000 });
    informer.start();
    await informer.waitForSync();
    await eventually(() => expect(restarts).toContain('quiet'), 10_000);
    await eventually(() => expect(events.some((e) => e.type === 'resync')).toBe(true), 10_000);
    await createCm('after-quiet');
    await eventually(() => expect(informer.store.get(ns, 'after-quiet')).toBeDefined());
  });

  it('survives kube-apiserver being stopped and started, relists, and follows changes made meanwhile', async () => {
    const { informer, restarts } = configMapInformer();
    informer.start();
    await informer.waitForSync();
    await createCm('before-outage');
    await eventually(() => expect(informer.store.get(ns, 'before-outage')).toBeDefined());
    const listedBefore = informer.lastListAt;

    await testCluster.stopApiServer();
    try {
      await eventually(() => expect(informer.watching).toBe(false), 30_000);
      // It keeps trying (with backoff) while the server is away, and keeps serving its cache.
      await eventually(() => expect(restarts.filter((r) => r === 'error').length).toBeGreaterThanOrEqual(2), 30_000);
      expect(informer.store.get(ns, 'before-outage')).toBeDefined();
      expect(informer.synced).toBe(true);
    } finally {
      await testCluster.startApiServer();
    }

    await eventually(() => expect(informer.watching).toBe(true), 60_000);
    // The new API server's watch cache starts at the current revision: the informer's resourceVersion is too
    // old for it (410), so it lists again.
    await eventually(() => expect(informer.lastListAt).toBeGreaterThan(listedBefore ?? 0), 30_000);
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'before-outage' });
    await createCm('after-outage', { c: '3' });
    await eventually(() => {
      expect(informer.store.get(ns, 'before-outage')).toBeUndefined();
      expect(informer.store.get(ns, 'after-outage')?.data).toEqual({ c: '3' });
    }, 30_000);
  });

  it('never gives up on a list that fails (here: a resource that does not exist), and stops cleanly', async () => {
    const { informer, restarts } = configMapInformer({
      resource: { apiVersion: 'example.invalid/v1', plural: 'nothings' },
    });
    informer.start();
    await eventually(() => expect(restarts.length).toBeGreaterThanOrEqual(3), 15_000);
    expect(informer.synced).toBe(false);
    const stopping = informer.stop();
    await expect(stopping).resolves.toBeUndefined();
    expect(informer.running).toBe(false);
  });
});
