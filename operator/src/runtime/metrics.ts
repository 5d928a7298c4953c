import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { InformerHooks } from './informer.ts';
import type { KubeHttpHooks } from './kube-http.ts';
import type { QueueHooks, QueueStats } from './queue.ts';

/**
 * The operator's Prometheus registry, with the metric names and labels of controller-runtime (so existing
 * dashboards and alerts for Go operators work unchanged), plus informer and leader-election metrics.
 * Gauges that describe state (queue depth, running workers, informer synced) are computed at scrape time from
 * the tracked objects rather than kept up to date by hand.
 */

const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75,
  2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
/** As client-go's rest_client_rate_limiter_duration_seconds (k8s.io/component-base/metrics/prometheus/restclient). */
const RATE_LIMITER_BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0];
/** As client-go's rest_client_request_duration_seconds (the same buckets as its rate limiter's). */
const REQUEST_BUCKETS = RATE_LIMITER_BUCKETS;
/** prometheus.ExponentialBuckets(10e-9, 10, 12), as in controller-runtime's workqueue metrics. */
const WORKQUEUE_BUCKETS = Array.from({ length: 12 }, (_, i) => Number((1e-8 * 10 ** i).toPrecision(1)));

export type ReconcileResultLabel = 'success' | 'error' | 'requeue' | 'requeue_after';

interface TrackedQueue {
  stats(): QueueStats;
  readonly concurrency: number;
}

interface TrackedInformer {
  readonly name: string;
  readonly synced: boolean;
  readonly watching: boolean;
  readonly lastEventAt: number | undefined;
  readonly store: { readonly size: number };
}

export interface MetricsOptions {
  /** Node process metrics (CPU, memory, event loop lag, GC). Default true. */
  processMetrics?: boolean;
}

export class Metrics {
  readonly registry = new Registry();

  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly terminalReconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;

  readonly workqueueAdds: Counter<'name' | 'controller'>;
  readonly workqueueRetries: Counter<'name' | 'controller'>;
  readonly workqueueQueueDuration: Histogram<'name' | 'controller'>;
  readonly workqueueWorkDuration: Histogram<'name' | 'controller'>;

  readonly informerRestarts: Counter<'informer' | 'reason'>;
  readonly rateLimiterDuration: Histogram<'verb'>;
  readonly restRequests: Counter<'code' | 'method' | 'host'>;
  readonly restRequestDuration: Histogram<'verb' | 'host'>;

  readonly #queues = new Map<string, TrackedQueue>();
  readonly #informers = new Map<string, TrackedInformer>();
  readonly #leaders = new Map<string, () => boolean>();

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    const queues = this.#queues;
    const informers = this.#informers;
    const leaders = this.#leaders;

    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.terminalReconcileErrors = new Counter({
      name: 'controller_runtime_terminal_reconcile_errors_total',
      help: 'Total number of terminal reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
      registers,
      collect() {
        for (const [name, q] of queues) this.set({ controller: name }, q.concurrency);
      },
    });
    new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
      collect() {
        for (const [name, q] of queues) this.set({ controller: name }, q.stats().inflight);
      },
    });

    new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: ['name', 'controller'],
      registers,
      collect() {
        for (const [name, q] of queues) this.set({ name, controller: name }, q.stats().depth);
      },
    });
    this.workqueueAdds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name', 'controller'],
      registers,
    });
    this.workqueueRetries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name', 'controller'],
      registers,
    });
    this.workqueueQueueDuration = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name', 'controller'],
      buckets: WORKQUEUE_BUCKETS,
      registers,
    });
    this.workqueueWorkDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes.',
      labelNames: ['name', 'controller'],
      buckets: WORKQUEUE_BUCKETS,
      registers,
    });
    new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help:
        "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. " +
        'Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.',
      labelNames: ['name', 'controller'],
      registers,
      collect() {
        for (const [name, q] of queues) this.set({ name, controller: name }, q.stats().unfinishedWorkSeconds);
      },
    });
    new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: ['name', 'controller'],
      registers,
      collect() {
        for (const [name, q] of queues) this.set({ name, controller: name }, q.stats().longestRunningSeconds);
      },
    });

    new Gauge({
      name: 'skillpod_informer_synced',
      help: '1 once the informer has listed its resource at least once',
      labelNames: ['informer'],
      registers,
      collect() {
        for (const [name, i] of informers) this.set({ informer: name }, i.synced ? 1 : 0);
      },
    });
    new Gauge({
      name: 'skillpod_informer_watching',
      help: '1 while the informer has a watch open',
      labelNames: ['informer'],
      registers,
      collect() {
        for (const [name, i] of informers) this.set({ informer: name }, i.watching ? 1 : 0);
      },
    });
    new Gauge({
      name: 'skillpod_informer_last_event_timestamp_seconds',
      help: 'When the informer last received a watch event, bookmark or list (unix seconds)',
      labelNames: ['informer'],
      registers,
      collect() {
        for (const [name, i] of informers) if (i.lastEventAt !== undefined) this.set({ informer: name }, i.lastEventAt / 1000);
      },
    });
    new Gauge({
      name: 'skillpod_informer_objects',
      help: 'Objects in the informer cache',
      labelNames: ['informer'],
      registers,
      collect() {
        for (const [name, i] of informers) this.set({ informer: name }, i.store.size);
      },
    });
    this.informerRestarts = new Counter({
      name: 'skillpod_informer_restarts_total',
      help: 'List/watch restarts per informer and reason (error, expired, quiet, closed)',
      labelNames: ['informer', 'reason'],
      registers,
    });
    // client-go's name and buckets; its `host` label is left out (the operator talks to one API server).
    this.rateLimiterDuration = new Histogram({
      name: 'rest_client_rate_limiter_duration_seconds',
      help: 'Client side rate limiter latency in seconds. Broken down by verb.',
      labelNames: ['verb'],
      buckets: RATE_LIMITER_BUCKETS,
      registers,
    });
    // client-go's names and labels (k8s.io/client-go/tools/metrics as component-base registers them): every request
    // and watch by status code ("<error>" when no response came) and method; latency of requests (not watches).
    this.restRequests = new Counter({
      name: 'rest_client_requests_total',
      help: 'Number of HTTP requests, partitioned by status code, method, and host.',
      labelNames: ['code', 'method', 'host'],
      registers,
    });
    this.restRequestDuration = new Histogram({
      name: 'rest_client_request_duration_seconds',
      help: 'Request latency in seconds. Broken down by verb, and host.',
      labelNames: ['verb', 'host'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.',
      labelNames: ['name'],
      registers,
      collect() {
        for (const [name, isLeader] of leaders) this.set({ name }, isLeader() ? 1 : 0);
      },
    });

    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Hooks for a controller's work queue; `name` is the controller name (both labels, as controller-runtime). */
  queueHooks(name: string): QueueHooks {
    const labels = { name, controller: name };
    return {
      added: () => this.workqueueAdds.inc(labels),
      retried: () => this.workqueueRetries.inc(labels),
      queueLatency: (s) => this.workqueueQueueDuration.observe(labels, s),
      workDuration: (s) => this.workqueueWorkDuration.observe(labels, s),
    };
  }

  /** Scrape-time gauges (depth, workers, unfinished work) for a controller's queue. */
  trackQueue(name: string, queue: TrackedQueue): void {
    this.#queues.set(name, queue);
  }

  informerHooks(name: string): InformerHooks {
    return { restarted: (reason) => this.informerRestarts.inc({ informer: name, reason }) };
  }

  /**
   * Hooks for the API client: time spent waiting for the client-side rate limiter (`--api-qps`), by HTTP method;
   * every request's status code and latency.
   */
  kubeHttpHooks(): KubeHttpHooks {
    return {
      rateLimited: (verb, seconds) => this.rateLimiterDuration.observe({ verb }, seconds),
      requested: ({ method, code, host, seconds }) => {
        this.restRequests.inc({ code, method, host });
        if (seconds !== undefined) this.restRequestDuration.observe({ verb: method, host }, seconds);
      },
    };
  }

  trackInformer(informer: TrackedInformer): void {
    this.#informers.set(informer.name, informer);
  }

  trackLeader(leaseName: string, isLeader: () => boolean): void {
    this.#leaders.set(leaseName, isLeader);
  }

  recordReconcile(controller: string, result: ReconcileResultLabel, seconds: number): void {
    this.reconcileTotal.inc({ controller, result });
    this.reconcileTime.observe({ controller }, seconds);
    if (result === 'error') this.reconcileErrors.inc({ controller });
  }

  /** The exposition text, for /metrics. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
