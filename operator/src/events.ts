// Kubernetes Events for what the operator decides, so `kubectl describe` tells the story. Recording is best
// effort: a lost Event must never fail a reconcile.
//
// Events do not flood, as client-go's recorder (tools/record's EventCorrelator) sees to:
// - the same event again (same object, type, reason and message) within `windowMs` is one Event whose `count` and
//   `lastTimestamp` are patched, not a new object;
// - more than `similarLimit` different messages for the same object, type and reason within the window are
//   combined: further ones patch a single Event whose message starts "(combined from similar events): ".
// Writes for one Event are serialized, so a burst of the same event yields one create and then patches.
import { randomBytes } from 'node:crypto';
import { ResourceClient } from './runtime/client.ts';
import type { KubeHttp } from './runtime/kube-http.ts';
import { errorSummary, isNotFound } from './runtime/errors.ts';
import type { Logger } from './runtime/logger.ts';
import { toRfc3339 } from './status/conditions.ts';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  record(target: EventTarget, type: EventType, reason: string, message: string): void;
}

export const COMPONENT = 'skillpod-operator';

const EVENT = { apiVersion: 'v1', kind: 'Event' };

export interface EventRecorderOptions {
  now?: () => Date;
  /** How long a repeat is folded into the Event before it (client-go: 10 minutes). */
  windowMs?: number;
  /** Distinct messages per object, type and reason within the window before they are combined (client-go: 10). */
  similarLimit?: number;
  /** Events remembered (client-go: 4096), least recently used forgotten first. */
  maxEntries?: number;
}

interface Entry {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  lastSeen: number;
  /** The last write for this Event: the next one waits for it. */
  chain: Promise<void>;
}

interface Similar {
  since: number;
  messages: Set<string>;
}

/** A Map used as an LRU: touched entries move to the end, the first goes when full. */
class Lru<V> {
  readonly #map = new Map<string, V>();
  readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  get(key: string): V | undefined {
    const v = this.#map.get(key);
    if (v !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, v);
    }
    return v;
  }
  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.max) this.#map.delete(this.#map.keys().next().value!);
  }
}

export function kubeEventRecorder(http: Pick<KubeHttp, 'request'>, log: Logger, options: EventRecorderOptions | (() => Date) = {}): EventRecorder {
  const opts = typeof options === 'function' ? { now: options } : options;
  const now = opts.now ?? (() => new Date());
  const windowMs = opts.windowMs ?? 10 * 60_000;
  const similarLimit = opts.similarLimit ?? 10;
  const events = new Lru<Entry>(opts.maxEntries ?? 4096);
  const similar = new Lru<Similar>(opts.maxEntries ?? 4096);
  const client = new ResourceClient(http);

  const failed = (reason: string, target: EventTarget) => (err: unknown) => {
    log.debug({ reason, object: target.metadata.name, error: errorSummary(err) }, 'event not recorded');
  };

  return {
    record(target, type, reason, rawMessage) {
      // Events of cluster-scoped objects live in `default`, as kubectl describe expects.
      const namespace = target.metadata.namespace ?? 'default';
      const date = now();
      const at = date.getTime();
      const time = toRfc3339(date);
      const objectKey = [namespace, target.apiVersion, target.kind, target.metadata.name, target.metadata.uid, type, reason].join('\0');

      let group = similar.get(objectKey);
      if (!group || at - group.since > windowMs) similar.set(objectKey, group = { since: at, messages: new Set() });
      let combined = false;
      if (!group.messages.has(rawMessage)) {
        if (group.messages.size < similarLimit) group.messages.add(rawMessage);
        else combined = true;
      }
      const message = (combined ? `(combined from similar events): ${rawMessage}` : rawMessage).slice(0, 1024);
      const key = combined ? `${objectKey}\0(combined)` : `${objectKey}\0${rawMessage}`;

      const body = (entry: Entry) => ({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: entry.name, namespace },
        involvedObject: { apiVersion: target.apiVersion, kind: target.kind, name: target.metadata.name,
          namespace: target.metadata.namespace, uid: target.metadata.uid, resourceVersion: target.metadata.resourceVersion },
        type, reason, message,
        source: { component: COMPONENT },
        reportingComponent: COMPONENT,
        reportingInstance: COMPONENT,
        firstTimestamp: entry.firstTimestamp,
        lastTimestamp: time,
        count: entry.count,
      });
      const create = (entry: Entry) => client.create(body(entry), { discard: true });

      const entry = events.get(key);
      if (entry && at - entry.lastSeen <= windowMs) {
        entry.count += 1;
        entry.lastSeen = at;
        const count = entry.count;
        entry.chain = entry.chain.then(() => client.mergePatch(EVENT, { namespace, name: entry.name }, { count, lastTimestamp: time, message }, { discard: true }).then(() => undefined, (err: unknown) => {
          // Gone (Events expire, an hour by default) or never created: made anew with the count so far.
          if (isNotFound(err)) return create(entry);
          throw err;
        })).catch(failed(reason, target));
        return;
      }
      const fresh: Entry = {
        name: `${target.metadata.name}.${randomBytes(8).toString('hex')}`, namespace, count: 1, firstTimestamp: time, lastSeen: at, chain: Promise.resolve(),
      };
      events.set(key, fresh);
      fresh.chain = create(fresh).catch(failed(reason, target));
    },
  };
}
