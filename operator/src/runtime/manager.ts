import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { realClock, type Clock } from './clock.ts';
import { Controller, type ControllerOptions } from './controller.ts';
import { errorFields } from './errors.ts';
import { Informer, type InformerOptions } from './informer.ts';
import { KubeHttp } from './kube-http.ts';
import type { KubeConfigSource } from './kubeconfig.ts';
import { LeaderElector } from './leader.ts';
import { silentLogger, type Logger } from './logger.ts';
import { kubeMetricsAuthorizer } from './metrics-auth.ts';
import { Metrics } from './metrics.ts';
import { TokenBucket } from './rate-limit.ts';
import { collectionPath, type KubeObject } from './resource.ts';
import { selfSignedCertificate } from './self-signed.ts';
import { RuntimeServer } from './server.ts';

/**
 * Owns the parts of a running operator and their order:
 *   start:    server → informers → (leader election) → wait for caches → controllers and leader-only runnables
 *   shutdown: stop taking work → let in-flight reconciles finish within the grace period (abandon the rest) →
 *             release the Lease → close watches → close the server.
 * Losing leadership ends the manager (exit code 1): work begun as leader may still be in flight, and a fresh
 * process is the simple way to be sure none continues.
 */

export interface LeaderElectionConfig {
  namespace: string;
  /** Lease name. */
  name: string;
  /** Default: hostname (the pod name in a pod) plus a random suffix. */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface ManagerOptions {
  /** runtime's `loadKubeConfig`, or client-node's `KubeConfig` (tests). */
  kubeConfig: KubeConfigSource;
  logger?: Logger;
  metrics?: Metrics;
  /** The /healthz, /readyz, /metrics server; false for none. */
  server?: { host?: string; port: number } | false;
  /**
   * /metrics on a port of its own (then not on `server`'s). `secure`: over HTTPS (tls.crt and tls.key from
   * `certDir`, else a self-signed certificate made at start), only for callers the API server authenticates
   * (TokenReview) and authorizes for `get` on /metrics (SubjectAccessReview), as kubebuilder's secure metrics.
   */
  metricsServer?: { host?: string; port: number; secure?: boolean; certDir?: string };
  /** false (the default) runs the controllers at once. */
  leaderElection?: LeaderElectionConfig | false;
  /** How long in-flight reconciles may take to finish at shutdown. Default 30 s. */
  shutdownGraceMs?: number;
  /**
   * Client-side limit on requests to the API server, as client-go's QPS/Burst. Absent or qps 0: none (Priority and
   * Fairness on the server is the real protection, and 429 + Retry-After is honoured either way).
   */
  apiRateLimit?: { qps: number; burst: number };
  /** Installs SIGTERM/SIGINT handlers that shut down cleanly (a second signal exits at once). Default false. */
  handleSignals?: boolean;
  clock?: Clock;
}

/** Something that runs while the manager runs: a periodic sweep, say. Leader-only by default. */
export interface Runnable {
  name: string;
  /** Runs until `signal` aborts. A rejection is logged and shuts the manager down. */
  start(signal: AbortSignal): Promise<void> | void;
  /** Default true: runs only while leading (always, without leader election). */
  leaderOnly?: boolean;
}

export type ExitReason = 'signal' | 'stopped' | 'leader-lost' | 'error';

export interface ManagerExit {
  reason: ExitReason;
  /** 0 for a requested stop, 1 otherwise. */
  exitCode: number;
  /** Reconciles still running when the grace period ran out. */
  abandoned: Record<string, string[]>;
}

export class Manager {
  readonly http: KubeHttp;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly server: RuntimeServer | undefined;
  /** The separate /metrics server (`metricsServer`), if any. */
  readonly metricsServer: RuntimeServer | undefined;
  readonly done: Promise<ManagerExit>;

  readonly #opts: ManagerOptions;
  readonly #clock: Clock;
  readonly #leaseHttp: KubeHttp;
  readonly #informers: Array<Informer<KubeObject>> = [];
  readonly #controllers: Controller[] = [];
  readonly #runnables: Runnable[] = [];
  readonly #runnablesRunning: Array<Promise<void>> = [];
  readonly #stopAll = new AbortController();
  #elector: LeaderElector | undefined;
  #resolveDone!: (exit: ManagerExit) => void;
  #state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  #stopping: Promise<ManagerExit> | undefined;
  #signalHandler: ((signal: NodeJS.Signals) => void) | undefined;

  constructor(options: ManagerOptions) {
    this.#opts = options;
    this.#clock = options.clock ?? realClock;
    this.logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? new Metrics();
    const limit = options.apiRateLimit;
    const limited = limit !== undefined && limit.qps > 0;
    const client = () => new KubeHttp(options.kubeConfig, {
      // Without a limit no limiter at all, so that no wait of zero is recorded either (as client-go).
      ...(limited ? { rateLimiter: new TokenBucket({ ...limit, clock: this.#clock }) } : {}),
      hooks: this.metrics.kubeHttpHooks(),
    });
    this.http = client();
    // The Lease gets a client, and so a bucket, of its own, as in controller-runtime (its leader election makes its
    // own clients from the config): in a shared bucket a renewal would queue behind a backlog of reconcile writes,
    // and one held back past the renew deadline costs leadership.
    this.#leaseHttp = limited && options.leaderElection ? client() : this.http;
    const ms = options.metricsServer;
    if (ms) {
      const tls = !ms.secure ? undefined : ms.certDir
        ? { cert: readFileSync(join(ms.certDir, 'tls.crt')), key: readFileSync(join(ms.certDir, 'tls.key')) }
        : selfSignedCertificate([...new Set([hostname(), 'localhost', '127.0.0.1', ...(ms.host && ms.host !== '0.0.0.0' ? [ms.host] : [])])]);
      this.metricsServer = new RuntimeServer({
        ...(ms.host !== undefined ? { host: ms.host } : {}), port: ms.port, metrics: this.metrics, logger: this.logger, serve: { probes: false },
        ...(tls ? { tls, authorizeMetrics: kubeMetricsAuthorizer(this.http) } : {}),
      });
    }
    if (options.server) {
      this.server = new RuntimeServer({ ...options.server, metrics: this.metrics, logger: this.logger, ...(ms ? { serve: { metrics: false } } : {}) });
      this.server.addHealthCheck('ping', () => true);
      this.server.addHealthCheck('manager', () => this.#state !== 'stopped');
    }
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  /** Creates an informer that the manager starts, stops, reports on (/readyz, /metrics) and waits for. */
  informer<T extends KubeObject>(options: Omit<InformerOptions<T>, 'http' | 'hooks'>): Informer<T> {
    const name = options.name ?? collectionPath(options.resource);
    if (this.#informers.some((i) => i.name === name)) throw new Error(`duplicate informer name ${name}`);
    const informer = new Informer<T>({
      logger: this.logger,
      clock: this.#clock,
      ...options,
      name,
      http: this.http,
      hooks: this.metrics.informerHooks(name),
    });
    this.#informers.push(informer as unknown as Informer<KubeObject>);
    this.metrics.trackInformer(informer);
    this.server?.addReadyCheck(`informer/${informer.name}`, () =>
      informer.synced ? true : { ok: false, message: 'cache not synced' },
    );
    if (this.#state === 'running') informer.start();
    return informer;
  }

  /** Creates a controller that runs (while leading) once every informer has synced. */
  controller(options: Omit<ControllerOptions, 'metrics' | 'clock'>): Controller {
    if (this.#state !== 'new') throw new Error('add controllers before start()');
    const controller = new Controller({ logger: this.logger, ...options, metrics: this.metrics, clock: this.#clock });
    this.#controllers.push(controller);
    return controller;
  }

  add(runnable: Runnable): void {
    if (this.#state !== 'new') throw new Error('add runnables before start()');
    this.#runnables.push(runnable);
  }

  get informers(): ReadonlyArray<Informer<KubeObject>> {
    return this.#informers;
  }

  get controllers(): readonly Controller[] {
    return this.#controllers;
  }

  get isLeader(): boolean {
    return this.#opts.leaderElection ? (this.#elector?.isLeader ?? false) : this.#state === 'running';
  }

  /** True when every informer has synced. */
  get synced(): boolean {
    return this.#informers.every((i) => i.synced);
  }

  /**
   * Starts everything and returns once the server listens and the informers run (not waiting for sync or
   * leadership). `done` resolves when the manager has shut down.
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error('manager already started');
    this.#state = 'running';
    if (this.#opts.handleSignals) this.#installSignalHandlers();
    await this.server?.listen();
    try {
      await this.metricsServer?.listen();
    } catch (err) {
      await this.server?.close();
      throw err;
    }
    for (const i of this.#informers) i.start();

    const le = this.#opts.leaderElection;
    if (!le) {
      void this.#startLeaderWork();
      return;
    }
    const identity = le.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`;
    this.#elector = new LeaderElector({
      http: this.#leaseHttp,
      namespace: le.namespace,
      name: le.name,
      identity,
      ...(le.leaseDurationMs !== undefined ? { leaseDurationMs: le.leaseDurationMs } : {}),
      ...(le.renewDeadlineMs !== undefined ? { renewDeadlineMs: le.renewDeadlineMs } : {}),
      ...(le.retryPeriodMs !== undefined ? { retryPeriodMs: le.retryPeriodMs } : {}),
      clock: this.#clock,
      logger: this.logger,
      onStartedLeading: () => void this.#startLeaderWork(),
      onStoppedLeading: () => {
        if (this.#state === 'running') void this.stop('leader-lost');
      },
    });
    this.metrics.trackLeader(le.name, () => this.#elector?.isLeader ?? false);
    void this.#elector.start();
  }

  /**
   * Shuts down (idempotent): controllers stop taking work and get the grace period for what runs; then the
   * Lease is released, watches are closed and the server stops.
   */
  stop(reason: ExitReason = 'stopped'): Promise<ManagerExit> {
    this.#stopping ??= this.#shutdown(reason);
    return this.#stopping;
  }

  async #startLeaderWork(): Promise<void> {
    const signal = this.#stopAll.signal;
    try {
      this.logger.info({ informers: this.#informers.map((i) => i.name) }, 'waiting for caches to sync');
      await Promise.all(this.#informers.map((i) => i.waitForSync(signal)));
    } catch {
      return; // stopped while waiting
    }
    if (this.#state !== 'running') return;
    this.logger.info('caches synced; starting controllers');
    for (const c of this.#controllers) c.start();
    for (const r of this.#runnables) {
      this.#runnablesRunning.push(
        Promise.resolve()
          .then(() => r.start(signal))
          .catch((err: unknown) => {
            if (signal.aborted) return;
            this.logger.error({ runnable: r.name, ...errorFields(err) }, 'runnable failed; shutting down');
            void this.stop('error');
          }),
      );
    }
  }

  async #shutdown(reason: ExitReason): Promise<ManagerExit> {
    if (this.#state === 'new') {
      this.#state = 'stopped';
      const exit: ManagerExit = { reason, exitCode: exitCodeFor(reason), abandoned: {} };
      this.#resolveDone(exit);
      return exit;
    }
    this.#state = 'stopping';
    // Having lost the lease, we may no longer act: another replica may lead within moments. Abandon at once.
    const grace = reason === 'leader-lost' ? 0 : (this.#opts.shutdownGraceMs ?? 30_000);
    this.logger.info({ reason, graceMs: grace }, 'shutting down');
    this.#stopAll.abort(new Error(`manager stopping: ${reason}`));

    const abandoned: Record<string, string[]> = {};
    const results = await Promise.all(this.#controllers.map(async (c) => [c.name, await c.stop(grace)] as const));
    for (const [name, r] of results) if (r.abandoned.length > 0) abandoned[name] = r.abandoned;
    await withTimeout(this.#clock, Promise.allSettled(this.#runnablesRunning), grace);

    // Only now, with no reconcile of ours running (or one abandoned), may someone else lead.
    await this.#elector?.stop();
    await Promise.all(this.#informers.map((i) => i.stop()));
    await this.server?.close();
    await this.metricsServer?.close();
    await this.http.close();
    if (this.#leaseHttp !== this.http) await this.#leaseHttp.close();
    this.#removeSignalHandlers();
    this.#state = 'stopped';
    const exit: ManagerExit = { reason, exitCode: exitCodeFor(reason), abandoned };
    this.logger.info({ reason, abandoned }, 'stopped');
    this.#resolveDone(exit);
    return exit;
  }

  #installSignalHandlers(): void {
    let received = 0;
    this.#signalHandler = (signal) => {
      received++;
      if (received > 1) {
        this.logger.warn({ signal }, 'second signal: exiting at once');
        process.exit(1);
      }
      this.logger.info({ signal }, 'signal received');
      void this.stop('signal');
    };
    process.on('SIGTERM', this.#signalHandler);
    process.on('SIGINT', this.#signalHandler);
  }

  #removeSignalHandlers(): void {
    if (!this.#signalHandler) return;
    process.off('SIGTERM', this.#signalHandler);
    process.off('SIGINT', this.#signalHandler);
    this.#signalHandler = undefined;
  }
}

function exitCodeFor(reason: ExitReason): number {
  return reason === 'signal' || reason === 'stopped' ? 0 : 1;
}

async function withTimeout(clock: Clock, work: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  const timeout = new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, ms)));
  await Promise.race([work, timeout]);
  if (timer !== undefined) clock.clearTimeout(timer);
}
