import { Backoff, jitter, type BackoffOptions } from './backoff.ts';
import { ObjectCache, type Indexers, type Store } from './cache.ts';
import { realClock, sleep, type Clock, type TimerHandle } from './clock.ts';
import { ApiError, classifyError, classifyStatus, errorFields } from './errors.ts';
import type { KubeHttp } from './kube-http.ts';
import { silentLogger, type Logger } from './logger.ts';
import { collectionPath, objectKey, type KubeObject, type ResourceRef } from './resource.ts';

/**
 * A supervised list+watch cache for one resource path, built on raw requests rather than client-node's
 * `makeInformer` (which stops for good on most errors, has no synced signal, never asks for bookmarks, and
 * swallows exceptions thrown by handlers). The loop:
 *   list (paged) → replace the cache → watch from the list's resourceVersion → apply events → …
 * - any error: log it, wait a jittered exponential backoff, and go on (re-watch from the last resourceVersion;
 *   relist if the error was 410 Gone or the list itself failed);
 * - 410 Gone or an ERROR event with 410 while watching: relist at once;
 * - a watch that delivers nothing (not even a bookmark) for `quietTimeoutMs`: drop it and re-watch (watchdog);
 * - every `resyncPeriodMs`: a `resync` event for every cached object, so handlers re-enqueue everything.
 * Handlers run synchronously, must only compute keys and enqueue, and their exceptions are caught and logged.
 */

export type InformerEventType = 'added' | 'updated' | 'deleted' | 'resync';

export interface InformerEvent<T> {
  type: InformerEventType;
  object: T;
  /** The previous state, for `updated`. */
  old?: T;
}

export type InformerHandler<T> = (event: InformerEvent<T>) => void;

export interface InformerSource extends ResourceRef {
  labelSelector?: string;
  fieldSelector?: string;
}

/** Metric hooks; the informer itself knows nothing of Prometheus. */
export interface InformerHooks {
  /** The loop went round again: `error`, `expired` (410), `quiet` (watchdog) or `closed` (server ended watch). */
  restarted?(reason: 'error' | 'expired' | 'quiet' | 'closed'): void;
  listed?(objects: number): void;
}

export interface InformerOptions<T extends KubeObject> {
  http: Pick<KubeHttp, 'request' | 'stream'>;
  resource: InformerSource;
  /** For logs, metrics and /readyz. Default: the collection path. */
  name?: string;
  /**
   * Keeps what the controllers need of each object (memory counts at thousands of objects). Must not throw;
   * an object it throws on is left out of the cache (and logged).
   */
  transform?: (obj: KubeObject) => T;
  /** Secondary indexes of the cache (Store.byIndex), as client-go's Indexers. */
  indexers?: Indexers<T>;
  /** Default 10 minutes; 0 turns resync off. */
  resyncPeriodMs?: number;
  /**
   * Watchdog: a watch silent this long (no event, no bookmark) is dropped and re-opened from the last
   * resourceVersion. Bookmarks come every one to two minutes (measured on kube-apiserver 1.36: the first after
   * ~120 s), and the server ends each watch after `watchTimeoutSeconds` anyway. Default 5 minutes.
   */
  quietTimeoutMs?: number;
  /** Server-side watch timeout, randomised up to twice this to spread reconnects. Default 5 minutes. */
  watchTimeoutSeconds?: number;
  /** Default 500. */
  pageSize?: number;
  /** Per list page. Default 60 s. */
  requestTimeoutMs?: number;
  /** Restart backoff. Default 800 ms doubling up to 30 s, jitter 1.0 (as client-go's reflector). */
  backoff?: BackoffOptions;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
  hooks?: InformerHooks;
}

interface RawList {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: KubeObject[];
}

interface WatchEvent {
  type?: string;
  object?: KubeObject & { code?: number };
}

type WatchEnd = 'closed' | 'quiet' | 'expired' | 'stopped';

export class Informer<T extends KubeObject = KubeObject> {
  readonly name: string;
  readonly resource: InformerSource;
  readonly #http: Pick<KubeHttp, 'request' | 'stream'>;
  readonly #path: string;
  readonly #transform: (obj: KubeObject) => T;
  readonly #cache: ObjectCache<T>;
  readonly #handlers = new Set<InformerHandler<T>>();
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #log: Logger;
  readonly #hooks: InformerHooks;
  readonly #backoff: Backoff;
  readonly #resyncPeriodMs: number;
  readonly #quietTimeoutMs: number;
  readonly #watchTimeoutSeconds: number;
  readonly #pageSize: number;
  readonly #requestTimeoutMs: number;

  #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #resyncTimer: TimerHandle | undefined;
  #resourceVersion: string | undefined;
  #synced = false;
  #syncWaiters: Array<() => void> = [];
  #lastEventAt: number | undefined;
  #lastListAt: number | undefined;
  #watching = false;
  #restarts = 0;

  constructor(options: InformerOptions<T>) {
    this.resource = options.resource;
    this.#path = collectionPath(options.resource);
    this.name = options.name ?? this.#path;
    this.#http = options.http;
    this.#transform = options.transform ?? ((o: KubeObject) => o as T);
    this.#cache = new ObjectCache<T>(options.indexers);
    this.#clock = options.clock ?? realClock;
    this.#random = options.random ?? Math.random;
    this.#log = (options.logger ?? silentLogger).child({ informer: this.name });
    this.#hooks = options.hooks ?? {};
    this.#backoff = new Backoff(options.backoff ?? { baseMs: 800, maxMs: 30_000, jitter: 1, random: this.#random });
    this.#resyncPeriodMs = options.resyncPeriodMs ?? 10 * 60_000;
    this.#quietTimeoutMs = options.quietTimeoutMs ?? 5 * 60_000;
    this.#watchTimeoutSeconds = options.watchTimeoutSeconds ?? 300;
    this.#pageSize = options.pageSize ?? 500;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
  }

  get store(): Store<T> {
    return this.#cache;
  }

  /** True once the first list has filled the cache; it stays true through later reconnects. */
  get synced(): boolean {
    return this.#synced;
  }

  /** True while a watch is open. */
  get watching(): boolean {
    return this.#watching;
  }

  /** When the last watch event (bookmarks included) or list arrived: the liveness of this informer. */
  get lastEventAt(): number | undefined {
    return this.#lastEventAt;
  }

  get lastListAt(): number | undefined {
    return this.#lastListAt;
  }

  get resourceVersion(): string | undefined {
    return this.#resourceVersion;
  }

  get restarts(): number {
    return this.#restarts;
  }

  get running(): boolean {
    return this.#loop !== undefined;
  }

  /** Subscribes a handler; returns the unsubscribe function. */
  addHandler(handler: InformerHandler<T>): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  /** Starts the supervised loop (idempotent). Returns at once; see `waitForSync`. */
  start(): void {
    if (this.#loop) return;
    this.#stop = new AbortController();
    this.#loop = this.#supervise(this.#stop.signal);
    this.#scheduleResync();
  }

  /** Stops the loop, closes the watch and waits for the loop to end. The cache keeps its content. */
  async stop(): Promise<void> {
    this.#stop.abort(new Error(`informer ${this.name} stopped`));
    if (this.#resyncTimer !== undefined) this.#clock.clearTimeout(this.#resyncTimer);
    this.#resyncTimer = undefined;
    const loop = this.#loop;
    this.#loop = undefined;
    await loop;
  }

  /** Resolves once synced; rejects if `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(signal?.reason as Error);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /** Emits `resync` for every cached object now. */
  resync(): void {
    for (const obj of this.#cache.list()) this.#emit({ type: 'resync', object: obj });
  }

  // ---- the loop

  /** #run handles every error it expects; this catches a bug in it, so that even then the informer goes on. */
  async #supervise(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.#run(signal);
      } catch (err) {
        this.#log.error(errorFields(err), 'informer loop crashed; restarting it');
        await sleep(this.#clock, this.#backoff.next(), signal).catch(() => undefined);
      }
    }
  }

  async #run(signal: AbortSignal): Promise<void> {
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.#list(signal);
          needList = false;
        }
        const started = this.#clock.now();
        const end = await this.#watch(signal);
        if (end === 'stopped') break;
        this.#restarts++;
        this.#hooks.restarted?.(end);
        if (end === 'expired') {
          this.#log.info({ resourceVersion: this.#resourceVersion }, 'watch expired (410), relisting');
          needList = true;
        } else if (end === 'quiet') {
          // Expected now and then on a quiet resource; a dead connection looks the same from here.
          this.#log.info({ quietMs: this.#quietTimeoutMs }, 'watch went quiet, restarting it');
        } else if (this.#clock.now() - started < 1000) {
          // The server ends watches at their timeout; one that ends at once, again and again, must not spin.
          await sleep(this.#clock, this.#backoff.next(), signal).catch(() => undefined);
        }
      } catch (err) {
        if (signal.aborted) break;
        const info = classifyError(err);
        // A failed list must be redone; a watch error is retried from the last resourceVersion, which the API
        // server answers with 410 if it has gone too old (then we relist).
        if (info.kind === 'Gone') needList = true;
        // A server that says when to come back (429, or 5xx with Retry-After) is not asked again before then.
        const delay = Math.max(this.#backoff.next(), (info.retryAfterSeconds ?? 0) * 1000);
        this.#restarts++;
        this.#hooks.restarted?.('error');
        this.#log.warn({ ...errorFields(err), retryInMs: Math.round(delay), relist: needList }, 'list/watch failed');
        await sleep(this.#clock, delay, signal).catch(() => undefined);
      }
    }
    this.#watching = false;
  }

  async #list(signal: AbortSignal): Promise<void> {
    const items = new Map<string, T>();
    let resourceVersion = '';
    let continueToken: string | undefined;
    do {
      const page = await this.#http.request<RawList>({
        path: this.#path,
        query: {
          limit: this.#pageSize,
          continue: continueToken,
          labelSelector: this.resource.labelSelector,
          fieldSelector: this.resource.fieldSelector,
        },
        signal,
        timeoutMs: this.#requestTimeoutMs,
      });
      // List items come without apiVersion and kind; put them back so every cached object looks the same.
      const kind = page.kind?.replace(/List$/, '');
      for (const raw of page.items ?? []) {
        const obj = this.#convert({ apiVersion: page.apiVersion, kind, ...raw });
        if (obj) items.set(objectKey(obj), obj);
      }
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);

    const changes = diffReplace(this.#cache, items);
    for (const key of changes.deleted) this.#cache.delete(key);
    for (const [key, obj] of items) this.#cache.set(key, obj);
    this.#resourceVersion = resourceVersion;
    this.#lastListAt = this.#lastEventAt = this.#clock.now();
    this.#backoff.reset();
    this.#hooks.listed?.(items.size);
    this.#log.debug({ objects: items.size, resourceVersion }, 'listed');
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncWaiters.splice(0)) w();
      this.#log.info({ objects: items.size }, 'cache synced');
    }
    for (const e of changes.events) this.#emit(e);
  }

  async #watch(stopSignal: AbortSignal): Promise<WatchEnd> {
    const abort = new AbortController();
    const signal = AbortSignal.any([stopSignal, abort.signal]);
    let quiet = false;
    let watchdog: TimerHandle | undefined;
    const feedWatchdog = (): void => {
      if (watchdog !== undefined) this.#clock.clearTimeout(watchdog);
      watchdog = this.#clock.setTimeout(() => {
        quiet = true;
        abort.abort(new Error('watch quiet'));
      }, this.#quietTimeoutMs);
    };
    feedWatchdog();
    let stream: Awaited<ReturnType<KubeHttp['stream']>> | undefined;
    try {
      stream = await this.#http.stream({
        path: this.#path,
        query: {
          watch: true,
          allowWatchBookmarks: true,
          resourceVersion: this.#resourceVersion,
          timeoutSeconds: Math.floor(jitter(this.#watchTimeoutSeconds, 1, this.#random)),
          labelSelector: this.resource.labelSelector,
          fieldSelector: this.resource.fieldSelector,
        },
        signal,
        timeoutMs: this.#requestTimeoutMs,
      });
      this.#watching = true;
      const lines = new LineSplitter();
      for await (const chunk of stream.body) {
        feedWatchdog();
        for (const line of lines.push(chunk)) {
          if (this.#handleWatchLine(line) === 'expired') return 'expired';
        }
      }
      return 'closed';
    } catch (err) {
      if (stopSignal.aborted) return 'stopped';
      if (quiet) return 'quiet';
      throw err;
    } finally {
      this.#watching = false;
      if (watchdog !== undefined) this.#clock.clearTimeout(watchdog);
      stream?.close();
    }
  }

  #handleWatchLine(line: string): 'expired' | undefined {
    const event = JSON.parse(line) as WatchEvent;
    const raw = event.object;
    this.#lastEventAt = this.#clock.now();
    if (event.type === 'ERROR') {
      const info = classifyStatus(raw);
      if (info.kind === 'Gone') return 'expired';
      throw new ApiError(info.code ?? 500, info.message, JSON.stringify(raw));
    }
    if (!raw?.metadata) throw new Error(`malformed watch event of type ${String(event.type)}`);
    const rv = raw.metadata.resourceVersion;
    if (event.type === 'BOOKMARK') {
      if (rv) this.#resourceVersion = rv;
      return undefined;
    }
    // Any real event proves the connection healthy: later failures start from the base delay again.
    this.#backoff.reset();
    if (rv) this.#resourceVersion = rv;
    const key = objectKey(raw);
    const obj = this.#convert(raw);
    if (event.type === 'DELETED') {
      const old = this.#cache.delete(key);
      const last = obj ?? old;
      if (last) this.#emit({ type: 'deleted', object: last, ...(old ? { old } : {}) });
    } else if (!obj) {
      this.#cache.delete(key);
    } else if (event.type === 'ADDED' || event.type === 'MODIFIED') {
      const old = this.#cache.set(key, obj);
      this.#emit(old ? { type: 'updated', object: obj, old } : { type: 'added', object: obj });
    }
    return undefined;
  }

  #convert(raw: KubeObject): T | undefined {
    try {
      return this.#transform(raw);
    } catch (err) {
      this.#log.error({ ...errorFields(err), key: objectKey(raw) }, 'transform failed; object left out of the cache');
      return undefined;
    }
  }

  #emit(event: InformerEvent<T>): void {
    for (const h of this.#handlers) {
      try {
        h(event);
      } catch (err) {
        this.#log.error({ ...errorFields(err), event: event.type, key: objectKey(event.object) }, 'event handler threw');
      }
    }
  }

  #scheduleResync(): void {
    if (this.#resyncPeriodMs <= 0) return;
    // Jittered so that informers started together do not resync together.
    this.#resyncTimer = this.#clock.setTimeout(() => {
      if (this.#stop.signal.aborted) return;
      if (this.#synced) this.resync();
      this.#scheduleResync();
    }, jitter(this.#resyncPeriodMs, 0.1, this.#random));
  }
}

/**
 * What replacing the cache content with a fresh list means: objects that appeared, changed (resourceVersion
 * differs) or vanished while we were not watching. Unchanged objects yield nothing; resync covers them.
 */
export function diffReplace<T extends KubeObject>(
  current: Store<T>,
  fresh: ReadonlyMap<string, T>,
): { events: Array<InformerEvent<T>>; deleted: string[] } {
  const events: Array<InformerEvent<T>> = [];
  const deleted: string[] = [];
  for (const [key, obj] of fresh) {
    const old = current.getByKey(key);
    if (!old) events.push({ type: 'added', object: obj });
    else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) events.push({ type: 'updated', object: obj, old });
  }
  for (const key of current.keys()) {
    if (fresh.has(key)) continue;
    const old = current.getByKey(key);
    deleted.push(key);
    if (old) events.push({ type: 'deleted', object: old });
  }
  return { events, deleted };
}

/** Splits a byte stream into lines (watch events are newline-delimited JSON). */
export class LineSplitter {
  readonly #decoder = new TextDecoder();
  #rest = '';

  push(chunk: Uint8Array): string[] {
    this.#rest += this.#decoder.decode(chunk, { stream: true });
    const parts = this.#rest.split('\n');
    this.#rest = parts.pop() ?? '';
    return parts.filter((l) => l.trim() !== '');
  }
}
