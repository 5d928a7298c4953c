import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.ts';

describe('Metrics', () => {
  it('exposes controller-runtime names and labels, computing state gauges at scrape time', async () => {
    const m = new Metrics({ processMetrics: false });
    let inflight = 2;
    m.trackQueue('agentrun', {
      concurrency: 4,
      stats: () => ({ depth: 3, inflight, delayed: 1, longestRunningSeconds: 1.5, unfinishedWorkSeconds: 2.5 }),
    });
    m.trackInformer({ name: 'agentruns', synced: true, watching: false, lastEventAt: 1_700_000_000_000, store: { size: 7 } });
    m.trackLeader('skillpod-operator', () => true);
    m.recordReconcile('agentrun', 'success', 0.02);
    m.recordReconcile('agentrun', 'error', 0.5);
    const hooks = m.queueHooks('agentrun');
    hooks.added?.();
    hooks.retried?.();
    hooks.queueLatency?.(0.001);
    hooks.workDuration?.(0.2);
    m.informerHooks('agentruns').restarted?.('quiet');
    m.kubeHttpHooks().rateLimited?.('POST', 0.3);
    inflight = 1;

    const text = await m.text();
    for (const line of [
      'controller_runtime_reconcile_total{controller="agentrun",result="success"} 1',
      'controller_runtime_reconcile_total{controller="agentrun",result="error"} 1',
      'controller_runtime_reconcile_errors_total{controller="agentrun"} 1',
      'controller_runtime_reconcile_time_seconds_count{controller="agentrun"} 2',
      'controller_runtime_max_concurrent_reconciles{controller="agentrun"} 4',
      'controller_runtime_active_workers{controller="agentrun"} 1',
      'workqueue_depth{name="agentrun",controller="agentrun"} 3',
      'workqueue_adds_total{name="agentrun",controller="agentrun"} 1',
      'workqueue_retries_total{name="agentrun",controller="agentrun"} 1',
      'workqueue_queue_duration_seconds_count{name="agentrun",controller="agentrun"} 1',
      'workqueue_work_duration_seconds_count{name="agentrun",controller="agentrun"} 1',
      'workqueue_longest_running_processor_seconds{name="agentrun",controller="agentrun"} 1.5',
      'workqueue_unfinished_work_seconds{name="agentrun",controller="agentrun"} 2.5',
      'skillpod_informer_synced{informer="agentruns"} 1',
      'skillpod_informer_objects{informer="agentruns"} 7',
      'skillpod_informer_last_event_timestamp_seconds{informer="agentruns"} 1700000000',
      'skillpod_informer_restarts_total{informer="agentruns",reason="quiet"} 1',
      'leader_election_master_status{name="skillpod-operator"} 1',
      'rest_client_rate_limiter_duration_seconds_count{verb="POST"} 1',
      'rest_client_rate_limiter_duration_seconds_bucket{le="0.25",verb="POST"} 0',
      'rest_client_rate_limiter_duration_seconds_bucket{le="0.5",verb="POST"} 1',
    ]) {
      expect(text).toContain(line);
    }
    expect(text).toContain('workqueue_work_duration_seconds_bucket{le="1e-8",name="agentrun",controller="agentrun"}');
    expect(text).toContain('workqueue_work_duration_seconds_bucket{le="1000",name="agentrun",controller="agentrun"}');
  });
});
