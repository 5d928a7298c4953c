// What the runs are doing, for Prometheus: computed from what the operator already has, with no hook in the
// reconcile. Gauges (runs by phase, grants alive, SkillPacks by readiness) are counted from the informer caches at
// scrape time; histograms and counters are observed from the transitions the informers deliver (old → new status of
// a run, a pod's agent container ending): a phase turning terminal, a pod appearing, GrantsRevoked turning True, a
// skill switched off or on, Ready turning PodRefused.
//
// Only the leader reports them (a standby replica's caches see the same transitions, and its figures would double
// every sum); its transitions are those the leader made. Label sets are bounded: phases, outcomes and reasons the
// operator writes (any other reason is `Other`), grant kinds, directions; a run's namespace only when opted in
// (`namespaceLabel`), never its name.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { FINALIZER_CLUSTER_GRANTS, isFinishedPhase, LABEL_RUN_UID, PackReason, RunCondition, SucceededReason } from '../api/index.ts';
import type { CachedRun, PodView } from '../agentrun/views.ts';
import type { InformerEvent } from '../runtime/index.ts';
import type { CachedPack } from '../skillpack/cached.ts';

export const PHASES = ['Pending', 'Running', 'Succeeded', 'Failed'] as const;
/** Reasons of the Succeeded condition of a finished run (api/conditions.ts); others are `Other`. */
export const RUN_REASONS: ReadonlySet<string> = new Set(Object.values(SucceededReason));
/** Reasons of a SkillPack's Ready condition (skillpack/readiness.ts); others are `Other`. */
export const PACK_REASONS: ReadonlySet<string> = new Set([PackReason.Valid, PackReason.InvalidSpec, PackReason.OutsideGrantPolicy, PackReason.FreeArgumentsWithCredentials]);
export const GRANT_KINDS = ['serviceaccount', 'role', 'clusterrole', 'egress'] as const;

/** Runs last minutes to hours. */
const DURATION_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400];
/** From the run's creation to its pod: the queue, grants, admission; sub-second when all is well. */
const POD_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** From the agent's end to its grants gone: the figure the security model rests on, sub-second when all is well. */
const REVOCATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300];

interface StoreLike<T> { list(): T[]; get?(ns: string | undefined, name: string): T | undefined }
interface InformerLike<T> {
  readonly store: StoreLike<T>;
  addHandler(handler: (event: InformerEvent<T>) => void): () => void;
}

export interface AgentRunMetricsOptions {
  registry: Registry;
  runs: ReadonlyArray<InformerLike<CachedRun>>;
  pods: ReadonlyArray<InformerLike<PodView>>;
  packs: InformerLike<CachedPack>;
  /** Whether this replica leads (only the leader reports). Default: always. */
  leading?: () => boolean;
  /** Adds a `namespace` label to the run metrics (one series per namespace: opt in). Default false. */
  namespaceLabel?: boolean;
  /** ms clock (performance.now() or Date.now() alike: only differences are used) and wall clock. */
  now?: () => number;
}

const cond = (o: CachedRun | undefined, type: string) => o?.status?.conditions?.find((c) => c.type === type);
const agentTerminated = (pod: PodView | undefined) => pod?.status?.containerStatuses?.find((c) => c.name === 'agent')?.state?.terminated;
const time = (t: string | Date | undefined) => (t === undefined ? undefined : t instanceof Date ? t.getTime() : Date.parse(t));

export class AgentRunMetrics {
  readonly runDuration: Histogram<string>;
  readonly podCreation: Histogram<string>;
  readonly grantsRevocation: Histogram<string>;
  readonly skillSwitches: Counter<string>;
  readonly podRefusals: Counter<string>;
  readonly #opts: AgentRunMetricsOptions;
  readonly #now: () => number;
  /** Run UID → when it was first seen without a pod (wall-clock ms), for create → pod. */
  readonly #created = new Map<string, number>();
  /** Run UID → when its agent's end (or the run's end) was seen (wall-clock ms), for agent end → grants gone. */
  readonly #ended = new Map<string, number>();
  readonly #unsubscribe: Array<() => void> = [];

  constructor(options: AgentRunMetricsOptions) {
    this.#opts = options;
    this.#now = options.now ?? Date.now;
    const registers = [options.registry];
    const ns = options.namespaceLabel ? ['namespace'] : [];
    const leading = () => options.leading?.() ?? true;
    const { runs, pods, packs } = options;
    const namespaced = this.#labels.bind(this);

    new Gauge({
      name: 'skillpod_agentruns',
      help: 'AgentRuns by phase (Pending also counts runs not yet seen by the operator)',
      labelNames: ['phase', ...ns],
      registers,
      collect() {
        this.reset();
        if (!leading()) return;
        if (!options.namespaceLabel) for (const phase of PHASES) this.set({ phase }, 0);
        for (const i of runs) {
          for (const r of i.store.list()) {
            const phase = PHASES.includes(r.status?.phase as never) ? (r.status?.phase as string) : 'Pending';
            this.inc(namespaced(r, { phase }));
          }
        }
      },
    });
    new Gauge({
      name: 'skillpod_agentrun_oldest_pending_seconds',
      help: 'Age of the oldest AgentRun in phase Pending (0 when none): a run that waits for its packs, its pod or admission',
      labelNames: [...ns],
      registers,
      collect() {
        this.reset();
        if (!leading()) return;
        const now = Date.now();
        if (!options.namespaceLabel) this.set(0);
        const oldest = new Map<string, number>();
        for (const i of runs) {
          for (const r of i.store.list()) {
            if (r.status?.phase !== undefined && r.status.phase !== 'Pending') continue;
            const created = time(r.metadata?.creationTimestamp);
            if (created === undefined) continue;
            const key = options.namespaceLabel ? (r.metadata?.namespace ?? '') : '';
            oldest.set(key, Math.max(oldest.get(key) ?? 0, (now - created) / 1000));
          }
        }
        for (const [namespace, age] of oldest) this.set(options.namespaceLabel ? { namespace } : {}, age);
      },
    });
    new Gauge({
      name: 'skillpod_agentrun_finished_unrevoked',
      help: 'Finished AgentRuns (Succeeded or Failed) whose GrantsRevoked is not yet True: grants outliving their run',
      labelNames: [...ns],
      registers,
      collect() {
        this.reset();
        if (!leading()) return;
        if (!options.namespaceLabel) this.set(0);
        for (const i of runs) {
          for (const r of i.store.list()) {
            if (isFinishedPhase(r.status?.phase) && cond(r, RunCondition.GrantsRevoked)?.status !== 'True') this.inc(namespaced(r, {}));
          }
        }
      },
    });
    new Gauge({
      name: 'skillpod_agentrun_grants',
      help: 'Grants alive, by kind: serviceaccount (one per run from its pod until GrantsRevoked), role (namespaced RBAC ' +
        'of a skill in force), clusterrole (cluster-scoped RBAC), egress (a skill\'s egress in force)',
      labelNames: ['kind', ...ns],
      registers,
      collect() {
        this.reset();
        if (!leading()) return;
        if (!options.namespaceLabel) for (const kind of GRANT_KINDS) this.set({ kind }, 0);
        for (const i of runs) {
          for (const r of i.store.list()) {
            for (const kind of grantsOf(r, pods)) this.inc(namespaced(r, { kind }));
          }
        }
      },
    });
    new Gauge({
      name: 'skillpod_skillpacks',
      help: 'SkillPacks by readiness (the Ready condition\'s status and reason)',
      labelNames: ['ready', 'reason'],
      registers,
      collect() {
        this.reset();
        if (!leading()) return;
        for (const p of packs.store.list()) {
          const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
          this.inc({ ready: ready?.status ?? 'Unknown', reason: ready ? (PACK_REASONS.has(ready.reason ?? '') ? ready.reason : 'Other') : 'NotObserved' });
        }
      },
    });
    this.runDuration = new Histogram({
      name: 'skillpod_agentrun_duration_seconds',
      help: 'From an AgentRun\'s creation to its completion, by outcome (succeeded, failed) and reason (the Succeeded condition)',
      labelNames: ['outcome', 'reason', ...ns],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.podCreation = new Histogram({
      name: 'skillpod_agentrun_pod_creation_seconds',
      help: 'From an AgentRun\'s creation (as the operator saw it appear) to its pod appearing',
      labelNames: [...ns],
      buckets: POD_BUCKETS,
      registers,
    });
    this.grantsRevocation = new Histogram({
      name: 'skillpod_agentrun_grants_revocation_seconds',
      help: 'From the run\'s agent ending (or the run ending, when the agent never ran) as the operator saw it, to the ' +
        'run\'s GrantsRevoked=True (its ServiceAccount and RBAC deleted, its NetworkPolicy deny-all)',
      labelNames: [...ns],
      buckets: REVOCATION_BUCKETS,
      registers,
    });
    this.skillSwitches = new Counter({
      name: 'skillpod_agentrun_skill_switches_total',
      help: 'Skills of running AgentRuns switched off or on (status.skills[].enabled changed), by direction',
      labelNames: ['direction', ...ns],
      registers,
    });
    this.podRefusals = new Counter({
      name: 'skillpod_agentrun_pod_refusals_total',
      help: 'AgentRuns whose pod the API server refused (Ready turned PodRefused: a quota, Pod Security, a webhook)',
      labelNames: [...ns],
      registers,
    });
    if (!options.namespaceLabel) {
      // Series that exist from the start, so rate() and absent() behave before the first observation.
      this.skillSwitches.inc({ direction: 'off' }, 0);
      this.skillSwitches.inc({ direction: 'on' }, 0);
      this.podRefusals.inc(0);
    }

    for (const i of runs) this.#unsubscribe.push(i.addHandler((e) => this.#onRun(e)));
    for (const i of pods) this.#unsubscribe.push(i.addHandler((e) => this.#onPod(e)));
  }

  stop(): void {
    for (const u of this.#unsubscribe.splice(0)) u();
  }

  #labels(o: { metadata?: { namespace?: string | undefined } }, labels: Record<string, string>): Record<string, string> {
    return this.#opts.namespaceLabel ? { ...labels, namespace: o.metadata?.namespace ?? '' } : labels;
  }

  #leading(): boolean {
    return this.#opts.leading?.() ?? true;
  }

  #onRun({ type, object: run, old }: InformerEvent<CachedRun>): void {
    const uid = run.metadata?.uid ?? '';
    if (type === 'deleted') {
      this.#created.delete(uid);
      this.#ended.delete(uid);
      return;
    }
    const now = this.#now();
    if (type === 'added') {
      if (!run.status?.podName && !isFinishedPhase(run.status?.phase)) {
        // Seen as it was created (the watch delivers within milliseconds): now, more precise than creationTimestamp's
        // whole seconds; a run listed at start-up, created earlier: its creationTimestamp.
        const created = time(run.metadata?.creationTimestamp) ?? now;
        this.#created.set(uid, now - created < 2000 ? now : created);
      }
      return;
    }
    if (type !== 'updated' || !old || !this.#leading()) return;
    const was = old.status ?? {};
    const is = run.status ?? {};

    if (!isFinishedPhase(was.phase) && isFinishedPhase(is.phase)) {
      this.#created.delete(uid);
      if (!this.#ended.has(uid)) this.#ended.set(uid, now);
      const created = time(run.metadata?.creationTimestamp);
      const completed = time(is.completionTime) ?? now;
      if (created !== undefined) {
        const reason = cond(run, 'Succeeded')?.reason ?? '';
        this.runDuration.observe(this.#labels(run, { outcome: is.phase === 'Succeeded' ? 'succeeded' : 'failed', reason: RUN_REASONS.has(reason) ? reason : 'Other' }),
          Math.max(0, (completed - created) / 1000));
      }
    }
    if (cond(run, RunCondition.GrantsRevoked)?.status === 'True' && cond(old, RunCondition.GrantsRevoked)?.status !== 'True') {
      // Not seen live (the operator restarted between the two): from the agent's finishedAt or the completionTime.
      const start = this.#ended.get(uid) ?? this.#endFromTimestamps(run);
      this.#ended.delete(uid);
      if (start !== undefined) this.grantsRevocation.observe(this.#labels(run, {}), Math.max(0, (now - start) / 1000));
    }
    const before = new Map((was.skills ?? []).map((s) => [s.name, s.enabled !== false]));
    for (const s of is.skills ?? []) {
      const prior = before.get(s.name);
      const enabled = s.enabled !== false;
      if (prior === undefined || prior === enabled || isFinishedPhase(is.phase)) continue;
      this.skillSwitches.inc(this.#labels(run, { direction: enabled ? 'on' : 'off' }));
    }
    if (cond(run, 'Ready')?.reason === 'PodRefused' && cond(old, 'Ready')?.reason !== 'PodRefused') this.podRefusals.inc(this.#labels(run, {}));
  }

  #onPod({ type, object: pod, old }: InformerEvent<PodView>): void {
    const uid = pod.metadata?.labels?.[LABEL_RUN_UID];
    if (!uid || !this.#leading()) return;
    const now = this.#now();
    if (type === 'added') {
      const created = this.#created.get(uid);
      this.#created.delete(uid);
      if (created !== undefined) this.podCreation.observe(this.#labels(pod, {}), Math.max(0, (now - created) / 1000));
    }
    if (type === 'updated' && agentTerminated(pod) && !agentTerminated(old) && !this.#ended.has(uid)) this.#ended.set(uid, now);
  }

  /** The agent's finishedAt from the pod cache, else the run's completionTime. */
  #endFromTimestamps(run: CachedRun): number | undefined {
    const podName = run.status?.podName;
    const pod: PodView | undefined = podName ? this.#opts.pods.map((i) => i.store.get?.(run.metadata?.namespace, podName)).find((p) => p) : undefined;
    const times = [time(agentTerminated(pod)?.finishedAt), time(run.status?.completionTime)].filter((t): t is number => t !== undefined && !Number.isNaN(t));
    return times.length > 0 ? Math.min(...times) : undefined;
  }
}

/** The grant kinds a run holds now: from its status (GrantsRevoked, skills' rbac), its finalizer and its pod's snapshot. */
function grantsOf(run: CachedRun, pods: ReadonlyArray<InformerLike<PodView>>): string[] {
  const podName = run.status?.podName;
  if (!podName || cond(run, RunCondition.GrantsRevoked)?.status === 'True') return [];
  const kinds = ['serviceaccount'];
  if (run.metadata?.finalizers?.includes(FINALIZER_CLUSTER_GRANTS)) kinds.push('clusterrole');
  if (isFinishedPhase(run.status?.phase)) return kinds; // being revoked: the ServiceAccount and cluster grants may linger
  const pod = pods.map((i) => i.store.get?.(run.metadata?.namespace, podName)).find((p) => p);
  const snapshot = pod?.snapshot;
  if (!snapshot?.ok) return kinds;
  const granted = (run.status?.skills ?? []).filter((s) => s.enabled !== false).map((s) => snapshot.snapshot.packs[s.name]);
  const rbac = new Set((run.status?.skills ?? []).filter((s) => s.enabled !== false && s.rbac === 'Granted').map((s) => s.name));
  if ([...rbac].some((n) => (snapshot.snapshot.packs[n]?.rules?.length ?? 0) > 0)) kinds.push('role');
  if (granted.some((g) => (g?.egress?.length ?? 0) > 0)) kinds.push('egress');
  return kinds;
}
