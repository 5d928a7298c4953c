import { jitter } from './backoff.ts';
import { realClock, sleep, type Clock, type TimerHandle } from './clock.ts';
import { classifyError, errorFields } from './errors.ts';
import { ResourceClient } from './client.ts';
import type { KubeHttp } from './kube-http.ts';
import { silentLogger, type Logger } from './logger.ts';
import type { ObjectMeta } from './resource.ts';

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
 * - the holder renews every `retryPeriodMs`; every write carries the resourceVersion it read, so two candidates
 *   can never both win a round (the loser gets 409);
 * - a candidate takes the lease only when its holder is empty, or when the lease has not changed for
 *   `leaseDurationSeconds` *as measured on the candidate's own clock* since it last saw it change (clocks of
 *   different nodes are never compared);
 * - the holder gives up when it has not renewed for `renewDeadlineMs` (shorter than the lease duration, so it
 *   stops before anyone else may start), and `onStoppedLeading` fires;
 * - `stop()` releases a held lease (empty holder, 1 s duration) so that a successor takes over at once.
 * An elector leads at most once: after leadership ends the process is expected to stop (as controller-runtime
 * does), because work begun as leader may still be in flight.
 */

export interface LeaderElectorOptions {
  http: Pick<KubeHttp, 'request'>;
  namespace: string;
  /** Lease name. */
  name: string;
  /** Unique per process: pod name plus a random suffix. */
  identity: string;
  /** Default 15 s. */
  leaseDurationMs?: number;
  /** Default 10 s; must be below the lease duration. */
  renewDeadlineMs?: number;
  /** Default 2 s. */
  retryPeriodMs?: number;
  /** `signal` aborts when leadership ends. */
  onStartedLeading?: (signal: AbortSignal) => void;
  onStoppedLeading?: () => void;
  onNewLeader?: (identity: string) => void;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
}

export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: LeaseSpec;
}

const LEASE = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' };

/** MicroTime wants exactly six fractional digits (`2006-01-02T15:04:05.000000Z`). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  readonly identity: string;
  readonly #client: ResourceClient;
  readonly #ns: string;
  readonly #name: string;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #opts: LeaderElectorOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #log: Logger;

  #stop = new AbortController();
  #loop: Promise<void> | undefined;
  /** The lease as last read or written by us. */
  #observed: Lease | undefined;
  /** When (our clock) the lease last changed as we saw it. */
  #observedAt = 0;
  #leading = false;
  #leadership: AbortController | undefined;
  #lastLeader: string | undefined;

  constructor(options: LeaderElectorOptions) {
    this.#opts = options;
    this.#client = new ResourceClient(options.http);
    this.#ns = options.namespace;
    this.#name = options.name;
    this.identity = options.identity;
    this.#leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (this.#renewDeadlineMs >= this.#leaseDurationMs) throw new Error('renewDeadline must be shorter than leaseDuration');
    if (this.#retryPeriodMs >= this.#renewDeadlineMs) throw new Error('retryPeriod must be shorter than renewDeadline');
    this.#clock = options.clock ?? realClock;
    this.#random = options.random ?? Math.random;
    this.#log = (options.logger ?? silentLogger).child({ component: 'leader-election', lease: `${this.#ns}/${this.#name}`, identity: this.identity });
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /** The holder we last saw (may be us). */
  get leader(): string | undefined {
    return this.#lastLeader;
  }

  /** Starts campaigning. Resolves when leadership has ended or the elector was stopped. */
  start(): Promise<void> {
    this.#loop ??= this.#run();
    return this.#loop;
  }

  /** Stops campaigning or leading; a held lease is released. */
  async stop(): Promise<void> {
    this.#stop.abort(new Error('leader elector stopped'));
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    this.#log.info('waiting for leadership');
    while (!signal.aborted && !(await this.#tryAcquireOrRenew(this.#renewDeadlineMs))) {
      await sleep(this.#clock, jitter(this.#retryPeriodMs, 1.2, this.#random), signal).catch(() => undefined);
    }
    if (signal.aborted) return;

    this.#leading = true;
    this.#leadership = new AbortController();
    this.#log.info('acquired leadership');
    this.#safely(() => this.#opts.onStartedLeading?.(this.#leadership!.signal));

    // Leadership ends when renewals fail for renewDeadline, whatever any request in flight still does.
    const lost = new AbortController();
    let deadline: TimerHandle | undefined;
    const armDeadline = (): void => {
      if (deadline !== undefined) this.#clock.clearTimeout(deadline);
      deadline = this.#clock.setTimeout(() => lost.abort(new Error('renew deadline passed')), this.#renewDeadlineMs);
    };
    armDeadline();
    const renewSignal = AbortSignal.any([signal, lost.signal]);
    let lastRenew = this.#clock.now();
    while (!renewSignal.aborted) {
      await sleep(this.#clock, this.#retryPeriodMs, renewSignal).catch(() => undefined);
      if (renewSignal.aborted) break;
      const remaining = this.#renewDeadlineMs - (this.#clock.now() - lastRenew);
      if (await this.#tryAcquireOrRenew(Math.max(250, remaining), renewSignal)) {
        lastRenew = this.#clock.now();
        armDeadline();
      }
    }
    if (deadline !== undefined) this.#clock.clearTimeout(deadline);

    this.#leading = false;
    this.#leadership.abort(new Error('leadership ended'));
    if (signal.aborted) {
      await this.#release();
    } else {
      this.#log.error({ renewDeadlineMs: this.#renewDeadlineMs }, 'lost leadership: could not renew the lease in time');
    }
    this.#safely(() => this.#opts.onStoppedLeading?.());
  }

  /** One round: read the lease, and create, take over or renew it if we may. True if we hold it now. */
  async #tryAcquireOrRenew(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const now = (): number => this.#clock.now();
    try {
      const call = { timeoutMs, ...(signal ? { signal } : {}) };
      const lease = await this.#client.find<Lease>(LEASE, { namespace: this.#ns, name: this.#name }, call);

      if (!lease) {
        const created = await this.#client.create<Lease>({
          apiVersion: LEASE.apiVersion,
          kind: LEASE.kind,
          metadata: { name: this.#name, namespace: this.#ns },
          spec: this.#spec(now(), now(), 0),
        }, call);
        this.#see(created);
        return true;
      }

      this.#see(lease);
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
      if (holder !== '' && holder !== this.identity && this.#observedAt + durationMs > now()) return false;

      const iHold = holder === this.identity;
      const transitions = (spec.leaseTransitions ?? 0) + (iHold ? 0 : 1);
      const acquireMs = iHold && spec.acquireTime ? Date.parse(spec.acquireTime) : now();
      // resourceVersion makes this a compare-and-swap: a concurrent writer makes it fail with 409.
      const updated = await this.#client.replace<Lease>(
        { ...lease, spec: { ...spec, ...this.#spec(Number.isNaN(acquireMs) ? now() : acquireMs, now(), transitions) } }, call);
      this.#see(updated);
      return true;
    } catch (err) {
      if (signal?.aborted) return false;
      const info = classifyError(err);
      // 409 is the normal outcome of losing a race; anything else is worth a line.
      if (info.kind === 'Conflict') this.#log.debug(errorFields(err), 'lost a lease update race');
      else this.#log.warn(errorFields(err), this.#leading ? 'failed to renew lease' : 'failed to acquire lease');
      return false;
    }
  }

  /** Hands the lease back: empty holder and a 1 s duration, so that others need not wait out the lease. */
  async #release(): Promise<void> {
    const timeoutMs = Math.min(this.#renewDeadlineMs, 5000);
    let lease = this.#observed;
    // Two tries: a renewal cut short by stop() may have landed, leaving us a stale resourceVersion (409).
    for (let attempt = 0; attempt < 2 && lease?.spec?.holderIdentity === this.identity; attempt++) {
      const t = microTime(this.#clock.now());
      try {
        await this.#client.replace<Lease>({ ...lease, spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, acquireTime: t, renewTime: t } },
          { timeoutMs });
        this.#log.info('released leadership');
        return;
      } catch (err) {
        if (attempt === 0 && classifyError(err).kind === 'Conflict') {
          lease = await this.#client.get<Lease>(LEASE, { namespace: this.#ns, name: this.#name }, { timeoutMs }).catch(() => undefined);
          continue;
        }
        this.#log.warn(errorFields(err), 'failed to release the lease; the next leader will wait for it to expire');
        return;
      }
    }
  }

  #spec(acquireMs: number, renewMs: number, transitions: number): LeaseSpec {
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.#leaseDurationMs / 1000),
      acquireTime: microTime(acquireMs),
      renewTime: microTime(renewMs),
      leaseTransitions: transitions,
    };
  }

  #see(lease: Lease): void {
    if (lease.metadata.resourceVersion !== this.#observed?.metadata.resourceVersion) this.#observedAt = this.#clock.now();
    this.#observed = lease;
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder !== '' && holder !== this.#lastLeader) {
      this.#lastLeader = holder;
      if (holder !== this.identity) this.#log.info({ leader: holder }, 'new leader observed');
      this.#safely(() => this.#opts.onNewLeader?.(holder));
    }
  }

  #safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log.error(errorFields(err), 'leader election callback threw');
    }
  }
}
