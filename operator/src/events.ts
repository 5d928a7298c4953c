// Kubernetes Events for what the operator decides, so `kubectl describe` tells the story. Recording is best
// effort: a lost Event must never fail a reconcile.
import { randomBytes } from 'node:crypto';
import type { KubeHttp } from './runtime/kube-http.ts';
import { errorSummary } from './runtime/errors.ts';
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

export function kubeEventRecorder(http: Pick<KubeHttp, 'request'>, log: Logger, now: () => Date = () => new Date()): EventRecorder {
  return {
    record(target, type, reason, message) {
      // Events of cluster-scoped objects live in `default`, as kubectl describe expects.
      const namespace = target.metadata.namespace ?? 'default';
      const time = toRfc3339(now());
      const body = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `${target.metadata.name}.${randomBytes(8).toString('hex')}`, namespace },
        involvedObject: { apiVersion: target.apiVersion, kind: target.kind, name: target.metadata.name,
          namespace: target.metadata.namespace, uid: target.metadata.uid, resourceVersion: target.metadata.resourceVersion },
        type, reason, message: message.slice(0, 1024),
        source: { component: COMPONENT },
        reportingComponent: COMPONENT,
        reportingInstance: COMPONENT,
        firstTimestamp: time,
        lastTimestamp: time,
        count: 1,
      };
      http.request({ method: 'POST', path: `/api/v1/namespaces/${namespace}/events`, body }).catch((err: unknown) => {
        log.debug({ reason, object: target.metadata.name, error: errorSummary(err) }, 'event not recorded');
      });
    },
  };
}
