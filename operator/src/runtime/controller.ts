import { randomUUID } from 'node:crypto';
import type { ExponentialOptions } from './backoff.ts';
import { realClock, type Clock } from './clock.ts';
import { classifyError, errorFields, type ApiErrorInfo } from './errors.ts';
import type { Informer, InformerEvent } from './informer.ts';
import { silentLogger, type Logger } from './logger.ts';
import type { Metrics, ReconcileResultLabel } from './metrics.ts';
import { WorkQueue, type QueueOutcome, type QueueTask } from './queue.ts';
import { objectKey, splitKey, type KubeObject } from './resource.ts';

/**
 * A controller: informer events become keys, keys go through a work queue, and each key is reconciled by one
 * function that reads the desired state and acts. The reconcile function is level-based: it gets a key, not an
 * event, and must work out everything from the cache and the API.
 */

export interface ReconcileContext {
  /** `namespace/name`, or `name` for a cluster-scoped object. */
  key: string;
  namespace?: string;
  name: string;
  /** Unique per attempt; in every log line of `log`. */
  reconcileID: string;
  /** Child logger with `controller`, `key` and `reconcileID`. */
  log: Logger;
  /** Aborted when shutdown abandons this reconcile. */
  signal: AbortSignal;
  /** Consecutive failed attempts for this key before this one. */
  failures: number;
}

/** Nothing (done), a delayed re-run (timeouts, TTLs, polling), or a re-run with backoff. */
export type ReconcileResult = void | { requeueAfterMs?: number; requeue?: boolean };

export type Reconciler = (ctx: ReconcileContext) => Promise<ReconcileResult>;

/** Thrown by a reconciler for a failure that retrying cannot fix; logged and counted, never retried. */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

/** Maps an informer event to the keys to reconcile (e.g. a pod to its owning run). */
export type KeyMapper<T> = (event: InformerEvent<T>) => string | Iterable<string> | undefined | null;

/** How urgent the keys of an event are (higher runs first; default 0): see WorkQueue. */
export type EventPriority<T> = (event: InformerEvent<T>) => number;

export interface ControllerOptions {
  name: string;
  reconcile: Reconciler;
  /** Reconciles running at once (never two for one key). Default 1. */
  concurrency?: number;
  /** Per-key failure backoff. Default 5 ms doubling up to 5 minutes. */
  backoff?: ExponentialOptions;
  logger?: Logger;
  metrics?: Metrics;
  clock?: Clock;
}

/**
 * Minimum delay before retrying a key, by the kind of error. Conflicts retry at once (the next attempt reads
 * fresh state; the per-key backoff still grows if they repeat). A server asking us to slow down is obeyed. A
 * server that is down or failing gets at least a second: a thousand keys retrying in 5 ms would not help it.
 */
export function retryDelayFor(info: ApiErrorInfo): number {
  switch (info.kind) {
    case 'TooManyRequests':
      return (info.retryAfterSeconds ?? 1) * 1000;
    case 'ServerError':
    case 'Network':
      return Math.max(1000, (info.retryAfterSeconds ?? 0) * 1000);
    default:
      return 0;
  }
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly #reconcile: Reconciler;
  readonly #log: Logger;
  readonly #metrics: Metrics | undefined;
  readonly #clock: Clock;
  readonly #sources: Array<{ informer: Informer<KubeObject>; map: KeyMapper<KubeObject>; priority?: EventPriority<KubeObject> }> = [];

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.#reconcile = options.reconcile;
    this.#log = (options.logger ?? silentLogger).child({ controller: options.name });
    this.#metrics = options.metrics;
    this.#clock = options.clock ?? realClock;
    this.queue = new WorkQueue({
      name: options.name,
      handler: (task) => this.#handle(task),
      concurrency: options.concurrency ?? 1,
      clock: this.#clock,
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.metrics ? { hooks: options.metrics.queueHooks(options.name) } : {}),
      // #handle never throws; this only fires on a bug in the queue wiring itself.
      onError: (key, err) => this.#log.error({ key, ...errorFields(err) }, 'work queue handler failed'),
    });
    options.metrics?.trackQueue(options.name, this.queue);
  }

  /**
   * Reconciles on events of `informer`. Without `map`, the key is the object's own key. Call before the manager
   * starts so that no event is missed; events that arrive before `start()` wait in the (paused) queue.
   * `priority` ranks the keys of an event in the queue.
   */
  watch<T extends KubeObject>(informer: Informer<T>, map?: KeyMapper<T>, priority?: EventPriority<T>): this {
    const mapper = (map ?? ((e: InformerEvent<T>) => objectKey(e.object))) as KeyMapper<KubeObject>;
    const source = {
      informer: informer as unknown as Informer<KubeObject>, map: mapper,
      ...(priority ? { priority: priority as unknown as EventPriority<KubeObject> } : {}),
    };
    this.#sources.push(source);
    informer.addHandler((event) => this.#enqueueMapped(source, event));
    return this;
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  enqueueAfter(key: string, delayMs: number): void {
    this.queue.addAfter(key, delayMs);
  }

  get started(): boolean {
    return this.queue.started;
  }

  /**
   * Starts the workers, after replaying every watched cache through its mapper (as controller-runtime's sources
   * do on start), so that nothing known before leadership or before the handler was attached is left out.
   */
  start(): void {
    for (const source of this.#sources) {
      for (const object of source.informer.store.list()) this.#enqueueMapped(source, { type: 'resync', object });
    }
    this.queue.start();
    this.#log.info({ workers: this.queue.concurrency }, 'controller started');
  }

  /** Stops taking work and waits up to `graceMs` for running reconciles; returns the keys it abandoned. */
  async stop(graceMs: number): Promise<{ abandoned: string[] }> {
    const result = await this.queue.shutDown(graceMs);
    if (result.abandoned.length > 0) this.#log.warn({ abandoned: result.abandoned }, 'abandoned running reconciles');
    this.#log.info('controller stopped');
    return result;
  }

  #enqueueMapped(source: { map: KeyMapper<KubeObject>; priority?: EventPriority<KubeObject> }, event: InformerEvent<KubeObject>): void {
    const keys = source.map(event);
    if (keys === undefined || keys === null) return;
    const priority = source.priority?.(event) ?? 0;
    if (typeof keys === 'string') this.queue.add(keys, priority);
    else for (const k of keys) this.queue.add(k, priority);
  }

  async #handle(task: QueueTask): Promise<QueueOutcome> {
    const reconcileID = randomUUID();
    const { namespace, name } = splitKey(task.key);
    const log = this.#log.child({ key: task.key, reconcileID });
    const started = this.#clock.now();
    const ctx: ReconcileContext = {
      key: task.key,
      name,
      reconcileID,
      log,
      signal: task.signal,
      failures: task.failures,
      ...(namespace !== undefined ? { namespace } : {}),
    };
    let label: ReconcileResultLabel;
    let outcome: QueueOutcome;
    try {
      const result = await this.#reconcile(ctx);
      if (result?.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
        label = 'requeue_after';
        outcome = { type: 'requeueAfter', delayMs: result.requeueAfterMs };
      } else if (result?.requeue) {
        label = 'requeue';
        outcome = { type: 'retry' };
      } else {
        label = 'success';
        outcome = { type: 'done' };
      }
      log.debug({ result: label, durationMs: this.#clock.now() - started }, 'reconciled');
    } catch (err) {
      label = 'error';
      outcome = this.#onError(err, log);
    }
    this.#metrics?.recordReconcile(this.name, label, (this.#clock.now() - started) / 1000);
    return outcome;
  }

  #onError(err: unknown, log: Logger): QueueOutcome {
    if (err instanceof TerminalError) {
      this.#metrics?.terminalReconcileErrors.inc({ controller: this.name });
      log.error({ error: { kind: 'Terminal', message: err.message } }, 'reconcile failed for good; not retrying');
      return { type: 'done' };
    }
    const info = classifyError(err);
    const minDelayMs = retryDelayFor(info);
    const fields = { ...errorFields(err), retryMinDelayMs: minDelayMs };
    // Conflicts and vanished objects are routine under concurrency; the rest deserve attention.
    if (info.kind === 'Conflict' || info.kind === 'NotFound') log.info(fields, 'reconcile will retry');
    else if (info.kind === 'Network' || info.kind === 'ServerError' || info.kind === 'TooManyRequests') log.warn(fields, 'reconcile failed; will retry');
    else log.error(fields, 'reconcile failed; will retry');
    return { type: 'retry', minDelayMs };
  }
}
