import { realClock, type Clock, type TimerHandle } from './clock.ts';

/**
 * A client-side limit on requests to the API server, as client-go's QPS/Burst (`flowcontrol.NewTokenBucketRateLimiter`):
 * a bucket of `burst` tokens, full at the start, refilled at `qps` tokens per second; every request takes one.
 * Off by default (qps 0): the API server's Priority and Fairness is the real protection, and the runtime already
 * waits out 429 + Retry-After (docs/operations.md).
 */

export interface RateLimiter {
  /** Resolves once a token is taken (callers are served first come, first served); rejects if `signal` aborts first. */
  wait(signal?: AbortSignal): Promise<void>;
}

export interface TokenBucketOptions {
  /** Tokens per second; 0 means no limit. */
  qps: number;
  /** Capacity: how many requests may go at once after a quiet spell. At least 1 when qps > 0. */
  burst: number;
  clock?: Clock;
}

interface Waiter {
  resolve: () => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/**
 * Floating point: refill arithmetic can leave 0.9999999… where exactly one token is due, and 333.0000001 ms can come
 * out where 333 is meant (qps 3). Within EPSILON of a whole token counts as one, and the timer aims half of that
 * early, so that it never fires a millisecond late nor so early that the token is not there yet.
 */
const EPSILON = 1e-6;

export class TokenBucket implements RateLimiter {
  readonly qps: number;
  readonly burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #last: number;
  /** Callers waiting, oldest first. A token never goes to a newcomer while someone waits. */
  readonly #waiters: Waiter[] = [];
  /** Set while someone waits: fires when the next token is due. */
  #timer: TimerHandle | undefined;

  constructor(options: TokenBucketOptions) {
    const { qps, burst } = options;
    if (!Number.isFinite(qps) || qps < 0) throw new RangeError(`qps must be a finite number >= 0, not ${qps}`);
    // client-go refuses the same: a bucket that holds no token would never let a request through.
    if (qps > 0 && !(Number.isInteger(burst) && burst >= 1)) throw new RangeError(`burst must be an integer >= 1 when qps > 0, not ${burst}`);
    this.qps = qps;
    this.burst = burst;
    this.#clock = options.clock ?? realClock;
    this.#tokens = burst;
    this.#last = this.#clock.now();
  }

  /** Callers waiting for a token. */
  get waiting(): number {
    return this.#waiters.length;
  }

  wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.qps === 0) return Promise.resolve();
    if (this.#waiters.length === 0 && this.#take()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve, signal,
        onAbort: () => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          // It took nothing, so the next in line is due no later than before; only a bucket nobody waits for
          // must not keep a timer.
          if (this.#waiters.length === 0) this.#cancelTimer();
          reject(signal?.reason as Error);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.push(waiter);
      this.#schedule();
    });
  }

  #refill(): void {
    const now = this.#clock.now();
    // A wall clock stepped backwards adds nothing (and takes nothing away).
    const elapsedMs = Math.max(0, now - this.#last);
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsedMs * this.qps) / 1000);
    this.#last = now;
  }

  #take(): boolean {
    this.#refill();
    if (this.#tokens < 1 - EPSILON) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Serves waiters in order while tokens last, then sleeps until the next token is due. */
  #drain(): void {
    this.#timer = undefined;
    while (this.#waiters.length > 0 && this.#take()) {
      const waiter = this.#waiters.shift()!;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.resolve();
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#waiters.length === 0) return;
    this.#refill();
    const dueMs = Math.max(0, Math.ceil(((1 - EPSILON / 2 - this.#tokens) * 1000) / this.qps));
    this.#timer = this.#clock.setTimeout(() => this.#drain(), dueMs);
  }

  #cancelTimer(): void {
    if (this.#timer === undefined) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
