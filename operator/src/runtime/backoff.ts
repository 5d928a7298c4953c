/** Delays for retrying: per-key exponential backoff for reconciles, jittered backoff for restarting watches. */

export interface ExponentialOptions {
  /** Delay after the first failure. */
  baseMs: number;
  /** Upper bound of any delay. */
  maxMs: number;
}

/**
 * base * 2^failures, capped. `failures` counts the failures before this one (0 for the first retry), as in
 * client-go's ItemExponentialFailureRateLimiter.
 */
export function exponentialDelay(failures: number, { baseMs, maxMs }: ExponentialOptions): number {
  // 2^failures overflows to Infinity long before the cap matters; Math.min copes with that.
  const delay = baseMs * 2 ** Math.max(0, failures);
  return Math.min(Number.isFinite(delay) ? delay : maxMs, maxMs);
}

/**
 * Spreads `ms` over [ms, ms * (1 + factor)). Many informers restarting together after an API server comes back
 * would otherwise all hit it in the same instant.
 */
export function jitter(ms: number, factor: number, random: () => number = Math.random): number {
  return ms + ms * factor * random();
}

export interface BackoffOptions extends ExponentialOptions {
  /** Jitter factor, see `jitter`. */
  jitter?: number;
  random?: () => number;
}

/** Stateful jittered exponential backoff for one retry loop (an informer's restarts, a lease's retries). */
export class Backoff {
  #failures = 0;
  readonly #options: BackoffOptions;

  constructor(options: BackoffOptions) {
    this.#options = options;
  }

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    const base = exponentialDelay(this.#failures++, this.#options);
    return Math.min(jitter(base, this.#options.jitter ?? 0, this.#options.random), this.#options.maxMs);
  }

  /** Call after a success: the next failure starts from the base delay again. */
  reset(): void {
    this.#failures = 0;
  }

  get failures(): number {
    return this.#failures;
  }
}
