import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { kubeEventRecorder } from './events.ts';
import type { KubeRequest } from './runtime/kube-http.ts';
import { silentLogger } from './runtime/logger.ts';

const run = { apiVersion: 'skillpod.io/v1alpha1', kind: 'AgentRun', metadata: { name: 'r', namespace: 'ns', uid: 'u1' } };

function fakeApi(options: { missing?: boolean } = {}) {
  const requests: KubeRequest[] = [];
  return {
    requests,
    http: {
      request: (req: KubeRequest): Promise<never> => {
        requests.push(req);
        if (options.missing && req.method === 'PATCH') return Promise.reject(new ApiException(404, 'not found', '{}', {}));
        return Promise.resolve(undefined as never);
      },
    },
  };
}
const settle = () => new Promise((r) => setTimeout(r, 10));

describe('kubeEventRecorder', () => {
  it('folds a repeat into one Event: count and lastTimestamp patched', async () => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    const api = fakeApi();
    const rec = kubeEventRecorder(api.http, silentLogger, { now: () => new Date(t) });
    for (let i = 0; i < 5; i++) {
      rec.record(run, 'Warning', 'PodRefused', 'quota');
      t += 1000;
    }
    await settle();
    expect(api.requests.map((r) => r.method)).toEqual(['POST', 'PATCH', 'PATCH', 'PATCH', 'PATCH']);
    const name = (api.requests[0]!.body as { metadata: { name: string } }).metadata.name;
    expect(api.requests.slice(1).every((r) => r.path === `/api/v1/namespaces/ns/events/${name}`)).toBe(true);
    expect(api.requests[4]!.body).toEqual({ count: 5, lastTimestamp: '2026-01-01T00:00:04Z', message: 'quota' });
  });

  it('keeps different reasons, messages and objects apart, and starts anew after the window', async () => {
    let t = 0;
    const api = fakeApi();
    const rec = kubeEventRecorder(api.http, silentLogger, { now: () => new Date(t), windowMs: 60_000 });
    rec.record(run, 'Warning', 'PodRefused', 'a');
    rec.record(run, 'Warning', 'PodRefused', 'b');
    rec.record(run, 'Warning', 'GrantRefused', 'a');
    rec.record({ ...run, metadata: { ...run.metadata, name: 'other', uid: 'u2' } }, 'Warning', 'PodRefused', 'a');
    t += 61_000;
    rec.record(run, 'Warning', 'PodRefused', 'a');
    await settle();
    expect(api.requests.map((r) => r.method)).toEqual(['POST', 'POST', 'POST', 'POST', 'POST']);
  });

  it('combines more than similarLimit messages of one object and reason into one Event', async () => {
    const api = fakeApi();
    const rec = kubeEventRecorder(api.http, silentLogger, { similarLimit: 3 });
    for (let i = 0; i < 8; i++) rec.record(run, 'Warning', 'Flaky', `attempt ${i}`);
    await settle();
    expect(api.requests.map((r) => r.method)).toEqual(['POST', 'POST', 'POST', 'POST', 'PATCH', 'PATCH', 'PATCH', 'PATCH']);
    expect((api.requests[3]!.body as { message: string }).message).toBe('(combined from similar events): attempt 3');
    expect(api.requests[7]!.body).toMatchObject({ count: 5, message: '(combined from similar events): attempt 7' });
  });

  it('creates the Event again when the one it would patch is gone', async () => {
    const api = fakeApi({ missing: true });
    const rec = kubeEventRecorder(api.http, silentLogger);
    rec.record(run, 'Normal', 'Started', 'x');
    rec.record(run, 'Normal', 'Started', 'x');
    await settle();
    expect(api.requests.map((r) => r.method)).toEqual(['POST', 'PATCH', 'POST']);
    expect(api.requests[2]!.body).toMatchObject({ count: 2, reason: 'Started' });
  });
});
