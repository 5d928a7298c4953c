import PQueue from 'p-queue';
import { exponentialDelay, type ExponentialOptions } from './backoff.ts';
import { MAX_TIMER_MS, realClock, type Clock, type TimerHandle } from './clock.ts';

/**
 * A work queue keyed by string, after client-go's workqueue:
 * - adds of a key that is already waiting merge into one;
 * - a key is never handled twice at once: an add while it runs marks it dirty, and it runs again afterwards;
 * - failures retry with per-key exponential backoff (reset when the key succeeds), never below a requested
 *   delay (Retry-After); a requested delay also holds back adds from events until it has passed, so a server
 *   that asked us to wait is not asked again by the same key before then;
 * - delayed adds (`addAfter`) keep the earliest deadline per key;
 * - at most `concurrency` handlers run at once (p-queue does the bounding);
 * - keys wait in priority order, first in, first out within a priority: an add with a higher priority moves a
 *   waiting key forward (a run whose agent has ended, so that its grants are revoked, need not wait behind a
 *   thousand creations);
 * - a handler that throws is retried like a failure and never stops the others.
 */

/** What the handler wants next for its key. */
export type QueueOutcome =
  | { type: 'done' }
  | { type: 'requeueAfter'; delayMs: number }
  | { type: 'retry'; minDelayMs?: number };

export interface QueueTask {
  key: string;
  /** Consecutive failures of this key so far (0 on a first or successful-before attempt). */
  failures: number;
  /** Aborted when the queue abandons the handler (shutdown grace period over). */
  signal: AbortSignal;
}

export type QueueHandler = (task: QueueTask) => Promise<QueueOutcome | void>;

/** Metric hooks; the queue itself knows nothing of Prometheus. */
export interface QueueHooks {
  added?(): void;
  retried?(): void;
  /** Seconds between the (first) add and the start of the handler. */
  queueLatency?(seconds: number): void;
  /** Seconds the handler ran. */
  workDuration?(seconds: number): void;
}

export interface WorkQueueOptions {
  name: string;
  handler: QueueHandler;
  /** Handlers running at once. Default 1. */
  concurrency?: number;
  /** Per-key failure backoff. Default 5 ms doubling up to 5 minutes. */
  backoff?: ExponentialOptions;
  clock?: Clock;
  /** Called when the handler throws (the key is retried with backoff all the same). */
  onError?: (key: string, err: unknown) => void;
  hooks?: QueueHooks;
}

export interface QueueStats {
  /** Keys waiting for a free worker. */
  depth: number;
  /** Keys being handled. */
  inflight: number;
  /** Keys waiting for a delayed add. */
  delayed: number;
  longestRunningSeconds: number;
  unfinishedWorkSeconds: number;
}

export const DEFAULT_QUEUE_BACKOFF: ExponentialOptions = { baseMs: 5, maxMs: 5 * 60_000 };

interface Delayed {
  deadline: number;
  timer: TimerHandle;
}

export class WorkQueue {
  readonly name: string;
  readonly concurrency: number;
  readonly #handler: QueueHandler;
  readonly #clock: Clock;
  readonly #backoff: ExponentialOptions;
  readonly #onError: ((key: string, err: unknown) => void) | undefined;
  readonly #hooks: QueueHooks;
  readonly #pq: PQueue;

  /** Keys that must run (again): waiting in p-queue, or running and re-added meanwhile. Value: time of first add. */
  readonly #dirty = new Map<string, number>();
  /** Keys with a task waiting in p-queue. */
  readonly #queued = new Set<string>();
  /** The highest priority asked for a dirty key since it was last handed to the handler. */
  readonly #priority = new Map<string, number>();
  /** Keys being handled, with their start time and abort controller. */
  readonly #processing = new Map<string, { started: number; abort: AbortController }>();
  readonly #delayed = new Map<string, Delayed>();
  readonly #failures = new Map<string, number>();
  /** Keys that may not run before this time: a retry's requested minimum delay (Retry-After). */
  readonly #notBefore = new Map<string, number>();
  #shuttingDown = false;
  #idleWaiters: Array<() => void> = [];

  constructor(options: WorkQueueOptions) {
    this.name = options.name;
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.#handler = options.handler;
    this.#clock = options.clock ?? realClock;
    this.#backoff = options.backoff ?? DEFAULT_QUEUE_BACKOFF;
    this.#onError = options.onError;
    this.#hooks = options.hooks ?? {};
    // Paused until start(): keys added before (e.g. while waiting for leadership) are kept, merged, and run then.
    this.#pq = new PQueue({ concurrency: this.concurrency, autoStart: false });
  }

  /** Starts handing keys to the handler. */
  start(): void {
    if (!this.#shuttingDown) this.#pq.start();
  }

  get started(): boolean {
    return !this.#pq.isPaused;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Queues `key` now, at `priority` (higher runs first; default 0). Merges with a pending add, keeping the higher
   * priority; a running key runs again once it is done.
   */
  add(key: string, priority = 0): void {
    if (this.#shuttingDown) return;
    if (this.#dirty.has(key)) {
      this.#raise(key, priority);
      return;
    }
    const wait = this.#heldFor(key);
    if (wait > 0) {
      this.addAfter(key, wait);
      return;
    }
    // Counted only when not merged, as client-go's workqueue_adds_total does.
    this.#hooks.added?.();
    this.#dirty.set(key, this.#clock.now());
    if (priority !== 0) this.#priority.set(key, priority);
    if (!this.#processing.has(key)) this.#enqueue(key);
  }

  /** A dirty key asked for again at `priority`: it keeps the higher one, and moves forward if it waits. */
  #raise(key: string, priority: number): void {
    if (priority <= (this.#priority.get(key) ?? 0)) return;
    this.#priority.set(key, priority);
    // Waiting in p-queue (a key leaves #queued the moment its task starts, so p-queue still holds it).
    if (this.#queued.has(key)) this.#pq.setPriority(key, priority);
  }

  /** Queues `key` after `delayMs`. If the key already waits for an earlier deadline, that one stands. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const delay = Math.min(delayMs, MAX_TIMER_MS);
    const deadline = this.#clock.now() + delay;
    const existing = this.#delayed.get(key);
    if (existing) {
      if (existing.deadline <= deadline) return;
      this.#clock.clearTimeout(existing.timer);
    }
    const timer = this.#clock.setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delay);
    this.#delayed.set(key, { deadline, timer });
  }

  /** Queues `key` after its next backoff step (at least `minDelayMs`), and counts a failure. */
  addRateLimited(key: string, minDelayMs = 0): void {
    if (this.#shuttingDown) return;
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    this.#hooks.retried?.();
    if (minDelayMs > 0) this.#notBefore.set(key, Math.max(this.#notBefore.get(key) ?? 0, this.#clock.now() + minDelayMs));
    this.addAfter(key, Math.max(exponentialDelay(failures, this.#backoff), minDelayMs));
  }

  /** Clears the failure count of `key` (its next failure backs off from the base delay). */
  forget(key: string): void {
    this.#failures.delete(key);
    this.#notBefore.delete(key);
  }

  /** How long `key` is still held back by a requested retry delay (0: not held). */
  #heldFor(key: string): number {
    const notBefore = this.#notBefore.get(key);
    if (notBefore === undefined) return 0;
    const wait = notBefore - this.#clock.now();
    if (wait <= 0) this.#notBefore.delete(key);
    return Math.max(0, wait);
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** True when `key` waits, runs, or is due for a delayed add. */
  has(key: string): boolean {
    return this.#dirty.has(key) || this.#processing.has(key) || this.#delayed.has(key);
  }

  /** When `key` is due to be added by a delayed add, if it is. */
  deadline(key: string): number | undefined {
    return this.#delayed.get(key)?.deadline;
  }

  get depth(): number {
    return this.#queued.size;
  }

  get inflight(): number {
    return this.#processing.size;
  }

  stats(): QueueStats {
    const now = this.#clock.now();
    let longest = 0;
    let unfinished = 0;
    for (const { started } of this.#processing.values()) {
      const s = (now - started) / 1000;
      unfinished += s;
      longest = Math.max(longest, s);
    }
    return {
      depth: this.depth,
      inflight: this.inflight,
      delayed: this.#delayed.size,
      longestRunningSeconds: longest,
      unfinishedWorkSeconds: unfinished,
    };
  }

  /** Resolves when nothing waits for a worker and nothing runs (delayed adds may still be pending). */
  onIdle(): Promise<void> {
    if (this.#queued.size === 0 && this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Stops taking work: new adds are ignored, waiting and delayed keys are dropped, and running handlers get
   * `graceMs` to finish. Handlers still running then are abandoned (their signal aborts; their outcome is
   * ignored) and returned.
   */
  async shutDown(graceMs: number): Promise<{ abandoned: string[] }> {
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) this.#clock.clearTimeout(timer);
    this.#delayed.clear();
    this.#notBefore.clear();
    this.#pq.clear();
    this.#queued.clear();
    this.#dirty.clear();
    this.#priority.clear();
    if (this.#processing.size > 0) {
      let timer: TimerHandle | undefined;
      const graceOver = new Promise<void>((resolve) => {
        timer = this.#clock.setTimeout(resolve, graceMs);
      });
      await Promise.race([this.onIdle(), graceOver]);
      if (timer !== undefined) this.#clock.clearTimeout(timer);
    }
    const abandoned = [...this.#processing.keys()];
    for (const { abort } of this.#processing.values()) abort.abort(new Error(`work queue ${this.name} shut down`));
    this.#notifyIdle(true);
    return { abandoned };
  }

  #enqueue(key: string): void {
    if (this.#queued.has(key) || this.#shuttingDown) return;
    this.#queued.add(key);
    this.#pq.add(() => this.#process(key), { id: key, priority: this.#priority.get(key) ?? 0 }).catch((err: unknown) => this.#onError?.(key, err));
  }

  async #process(key: string): Promise<void> {
    // Dropped by shutDown() while it waited in p-queue.
    if (!this.#queued.delete(key)) return;
    const now = this.#clock.now();
    const addedAt = this.#dirty.get(key) ?? now;
    this.#dirty.delete(key);
    this.#priority.delete(key);
    const abort = new AbortController();
    this.#processing.set(key, { started: now, abort });
    this.#hooks.queueLatency?.((now - addedAt) / 1000);

    let outcome: QueueOutcome | void;
    try {
      outcome = await this.#handler({ key, failures: this.failures(key), signal: abort.signal });
    } catch (err) {
      this.#onError?.(key, err);
      outcome = { type: 'retry' };
    }
    this.#hooks.workDuration?.((this.#clock.now() - now) / 1000);
    this.#processing.delete(key);

    // After shutdown (including a handler abandoned by it and finishing late) nothing is requeued.
    if (!this.#shuttingDown) {
      const o = outcome ?? { type: 'done' };
      if (o.type === 'retry') {
        this.addRateLimited(key, o.minDelayMs ?? 0);
      } else {
        this.forget(key);
        if (o.type === 'requeueAfter') this.addAfter(key, o.delayMs);
      }
      // Re-added while it ran: run it again now (the earlier add saw it running and only marked it), or once
      // a requested retry delay has passed.
      if (this.#dirty.has(key)) {
        const wait = this.#heldFor(key);
        if (wait > 0) {
          this.#dirty.delete(key);
          this.#priority.delete(key);
          this.addAfter(key, wait);
        } else {
          this.#enqueue(key);
        }
      }
    }
    this.#notifyIdle(false);
  }

  #notifyIdle(force: boolean): void {
    if (!force && (this.#queued.size > 0 || this.#processing.size > 0)) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}
