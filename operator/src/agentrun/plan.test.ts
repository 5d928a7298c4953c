import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { AgentRun, AgentRunStatus, SkillPack } from '../api/index.ts';
import { packGrant, skillGrants, type GrantSnapshot } from '../builders/index.ts';
import { planRun, type PackView, type PlanInput } from './plan.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const CREATED = '2026-03-01T11:59:00Z';

function run(overrides: { skills?: Array<{ name: string; enabled: boolean }>; status?: AgentRunStatus; ttl?: number; timeout?: number } = {}): AgentRun {
  return {
    apiVersion: 'skillpod.io/v1alpha1', kind: 'AgentRun',
    metadata: { name: 'fix-it', namespace: 'team-a', uid: '0123abcd-0000-0000-0000-000000000000', generation: 2, creationTimestamp: CREATED },
    spec: { task: 'fix it', timeoutSeconds: overrides.timeout ?? 600, skills: overrides.skills ?? [{ name: 'kubectl', enabled: true }, { name: 'fetch', enabled: true }],
      ...(overrides.ttl !== undefined ? { ttlSecondsAfterFinished: overrides.ttl } : {}) },
    ...(overrides.status ? { status: overrides.status } : {}),
  };
}

function pack(name: string, withRbac: boolean): SkillPack {
  return { apiVersion: 'skillpod.io/v1alpha1', kind: 'SkillPack', metadata: { name },
    spec: { description: name, image: 'img', startupTimeoutSeconds: 30, tools: [{ name: 't', command: ['t'], timeoutSeconds: 60 }],
      ...(withRbac ? { rbac: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] } } : {}) } };
}

const READY: Map<string, PackView> = new Map([
  ['kubectl', { pack: pack('kubectl', true), ready: true, reason: 'Valid', message: '' }],
  ['fetch', { pack: pack('fetch', false), ready: true, reason: 'Valid', message: '' }],
]);

function sidecar(name: string, ready: boolean, extra: Partial<V1ContainerStatus> = {}): V1ContainerStatus {
  return { name: `skill-${name}`, ready, started: ready, restartCount: 0, image: 'img', imageID: '', ...extra };
}

function pod(phase: string, agent: Partial<V1ContainerStatus> | undefined, sidecars: V1ContainerStatus[] = [sidecar('kubectl', true), sidecar('fetch', true)], skills = ['kubectl', 'fetch']): V1Pod {
  return {
    metadata: { name: 'fix-it-0123abcd', namespace: 'team-a' },
    spec: { containers: [{ name: 'agent' }], initContainers: [{ name: 'skillpod-install' }, ...skills.map((s) => ({ name: `skill-${s}` }))] },
    status: { phase, initContainerStatuses: sidecars, containerStatuses: agent ? [{ name: 'agent', ready: true, restartCount: 0, image: 'a', imageID: '', ...agent }] : [] },
  };
}

const running = { state: { running: { startedAt: new Date(CREATED) } } };
const exited = (exitCode: number, message = '') => ({ state: { terminated: { exitCode, message, reason: exitCode === 0 ? 'Completed' : 'Error' } } });
const started = (phase: AgentRunStatus['phase'], extra: Partial<AgentRunStatus> = {}): AgentRunStatus =>
  ({ phase, podName: 'fix-it-0123abcd', startTime: CREATED, ...extra });

const ORIGINAL = new Map([['kubectl', pack('kubectl', true)], ['fetch', pack('fetch', false)]]);

/** As the reconciler does: grants from the usable packs, bounded by the pod's snapshot once a pod exists. */
function plan(partial: Partial<PlanInput>) {
  const input = { run: run(), packs: READY, pod: undefined, podLost: false, now: NOW, podRetention: 'keep' as const, ...partial };
  const usable = new Map([...input.packs].flatMap(([name, view]) => (view.ready && view.pack ? [[name, view.pack] as const] : [])));
  const podSkills = input.pod?.spec?.initContainers?.filter((c) => c.name.startsWith('skill-')).map((c) => c.name.slice(6));
  const snapshot: GrantSnapshot | undefined = podSkills &&
    { version: 1, packs: Object.fromEntries(podSkills.map((name) => [name, packGrant(ORIGINAL.get(name)!)])) };
  return planRun({ ...input, grants: skillGrants(input.run, usable, snapshot) });
}
const condition = (status: AgentRunStatus, type: string) => status.conditions?.find((c) => c.type === type);

describe('planRun', () => {
  it('waits in Pending for a missing pack, naming it, and creates nothing', () => {
    const p = plan({ packs: new Map([...READY, ['fetch', { ready: false, reason: 'NotFound', message: 'SkillPack fetch not found' }]]) });
    expect(p.status.phase).toBe('Pending');
    expect(p.createPod).toBe(false);
    expect(condition(p.status, 'SkillPacksReady')).toMatchObject({ status: 'False', reason: 'SkillPackNotFound', message: 'fetch: SkillPack fetch not found', observedGeneration: 2 });
    expect(condition(p.status, 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForSkillPacks' });
    expect(p.events.map((e) => e.reason)).toEqual(['WaitingForSkillPacks']);
  });

  it('creates the pod when every pack is ready, granting only enabled skills', () => {
    const p = plan({ run: run({ skills: [{ name: 'kubectl', enabled: false }, { name: 'fetch', enabled: true }] }) });
    expect(p.createPod).toBe(true);
    expect(p.grantedSkills).toEqual(['fetch']);
    expect(p.disabledSkills).toEqual(['kubectl']);
    expect(p.keepGrants).toBe(true);
    expect(p.status.skills).toEqual([
      { name: 'kubectl', enabled: false, ready: false, rbac: 'Revoked', message: 'switched off' },
      { name: 'fetch', enabled: true, ready: false, rbac: 'None', message: 'sidecar not ready' },
    ]);
    expect(p.requeueAfterMs).toBe(540_050); // the deadline: created 60 s ago, 600 s timeout
  });

  it('never creates a second pod once podName is set', () => {
    expect(plan({ run: run({ status: started('Pending') }), pod: pod('Pending', undefined) }).createPod).toBe(false);
  });

  it.each([
    { name: 'pod pending', pod: pod('Pending', { state: { waiting: { reason: 'PodInitializing' } } }), phase: 'Pending', ready: ['False', 'PodPending'] },
    { name: 'agent running, skills ready', pod: pod('Running', running), phase: 'Running', ready: ['True', 'Running'] },
    { name: 'agent running, a skill not ready', pod: pod('Running', running, [sidecar('kubectl', true), sidecar('fetch', false)]), phase: 'Running', ready: ['False', 'SkillsNotReady'] },
  ])('maps $name', ({ pod: p, phase, ready }) => {
    const result = plan({ run: run({ status: started('Pending') }), pod: p });
    expect(result.status.phase).toBe(phase);
    expect(condition(result.status, 'Ready')).toMatchObject({ status: ready[0], reason: ready[1] });
    expect(condition(result.status, 'Succeeded')).toMatchObject({ status: 'Unknown' });
  });

  it('marks the start of the agent with an event and reports ready skills', () => {
    const p = plan({ run: run({ status: started('Pending') }), pod: pod('Running', running) });
    expect(p.events).toEqual([{ type: 'Normal', reason: 'Started', message: 'the agent is running' }]);
    expect(p.status.skills?.map((s) => [s.name, s.ready, s.rbac])).toEqual([['kubectl', true, 'Granted'], ['fetch', true, 'None']]);
    expect(p.status.skillsReady).toBe('2/2');
  });

  it.each([
    { name: 'agent exit 0', agent: exited(0, 'all fixed'), phase: 'Succeeded', succeeded: ['True', 'AgentSucceeded'], result: 'all fixed' },
    { name: 'agent exit 3', agent: exited(3, 'gave up'), phase: 'Failed', succeeded: ['False', 'AgentFailed'], result: 'gave up' },
  ])('finishes on $name: result copied, grants revoked', ({ agent, phase, succeeded, result }) => {
    const p = plan({ run: run({ status: started('Running') }), pod: pod('Running', agent) });
    expect(p.status.phase).toBe(phase);
    expect(condition(p.status, 'Succeeded')).toMatchObject({ status: succeeded[0], reason: succeeded[1] });
    expect(condition(p.status, 'Ready')).toMatchObject({ status: 'False', reason: 'Finished' });
    expect(p.status.result).toBe(result);
    expect(p.status.completionTime).toBe('2026-03-01T12:00:00Z');
    expect(p.keepGrants).toBe(false);
    expect(p.grantedSkills).toEqual([]);
    expect(p.deletePod).toBe(false);
    expect(p.status.skills?.find((s) => s.name === 'kubectl')?.rbac).toBe('Revoked');
  });

  it('reads the result and the reported usage from the termination-message envelope; plain text stays the result', () => {
    const envelope = JSON.stringify({ skillpod: 'v1', result: 'three pods crash-loop', usage: { inputTokens: 1200, outputTokens: 80, model: 'gpt-x' } });
    const p = plan({ run: run({ status: started('Running') }), pod: pod('Running', exited(0, envelope)) });
    expect(p.status.result).toBe('three pods crash-loop');
    expect(p.status.usage).toEqual({ inputTokens: 1200, outputTokens: 80, model: 'gpt-x' });
    const plain = plan({ run: run({ status: started('Running') }), pod: pod('Running', exited(0, '{"not":"an envelope"}')) });
    expect(plain.status.result).toBe('{"not":"an envelope"}');
    expect(plain.status.usage).toBeUndefined();
  });

  it('cuts a long result and says so', () => {
    const p = plan({ run: run({ status: started('Running') }), pod: pod('Running', exited(0, 'x'.repeat(5000))) });
    expect(p.status.result).toHaveLength(4096);
    expect(p.status.resultTruncated).toBe(true);
  });

  it('fails a run whose skill sidecar can never start, naming the skill', () => {
    const p = plan({ run: run({ status: started('Pending') }),
      pod: pod('Pending', { state: { waiting: { reason: 'PodInitializing' } } }, [sidecar('kubectl', true), sidecar('fetch', false, { state: { waiting: { reason: 'ImagePullBackOff', message: 'no such image' } } })]) });
    expect(p.status.phase).toBe('Failed');
    expect(condition(p.status, 'Succeeded')).toMatchObject({ status: 'False', reason: 'SkillNotReady', message: 'skill fetch cannot start: ImagePullBackOff: no such image' });
  });

  it('fails a run whose pod vanished with PodLost', () => {
    const p = plan({ run: run({ status: started('Running') }), podLost: true });
    expect(p.status.phase).toBe('Failed');
    expect(condition(p.status, 'Succeeded')).toMatchObject({ status: 'False', reason: 'PodLost' });
    expect(p.keepGrants).toBe(false);
  });

  it('times out a run whose pod never started, and deletes that pod', () => {
    const p = plan({ run: run({ status: started('Pending', { startTime: '2026-03-01T11:00:00Z' }) }), pod: pod('Pending', undefined, []) });
    expect(p.status.phase).toBe('Failed');
    expect(condition(p.status, 'Succeeded')).toMatchObject({ reason: 'Timeout' });
    expect(p.deletePod).toBe(true);
  });

  describe('never an unconfined pod: every way a run ends, and what becomes of its pod and NetworkPolicy', () => {
    const LATE = '2026-03-01T11:00:00Z'; // a run started an hour ago: its 600 s are over
    const withPod = (p: V1Pod, change: (p: V1Pod) => void) => { change(p); return p; };
    const waiting = (reason: string, message = '') => ({ state: { waiting: { reason, message } } });
    it.each([
      { name: 'a sidecar image that cannot be pulled', status: started('Pending'),
        pod: pod('Pending', waiting('PodInitializing'), [sidecar('kubectl', true), sidecar('fetch', false, waiting('ImagePullBackOff', 'no such image'))]),
        phase: 'Failed', reason: 'SkillNotReady', deletePod: true, isolatePod: true },
      { name: 'a sidecar restarted before the agent started (its startup probe failed)', status: started('Pending'),
        pod: pod('Pending', waiting('PodInitializing'), [sidecar('kubectl', true), sidecar('fetch', false, { restartCount: 1 })]),
        phase: 'Failed', reason: 'SkillNotReady', deletePod: true, isolatePod: true },
      { name: 'an agent image that cannot be pulled', status: started('Pending'), pod: pod('Pending', waiting('ErrImagePull')),
        phase: 'Failed', reason: 'AgentNotStarted', deletePod: true, isolatePod: true },
      { name: 'a Secret of the agent env that does not exist yet', status: started('Pending'), pod: pod('Pending', waiting('CreateContainerConfigError', 'secret "model" not found')),
        phase: 'Failed', reason: 'AgentNotStarted', deletePod: true, isolatePod: true },
      { name: 'the deadline of a pod never scheduled', status: started('Pending', { startTime: LATE }), pod: pod('Pending', undefined, []),
        phase: 'Failed', reason: 'Timeout', deletePod: true, isolatePod: true },
      { name: 'the deadline while the agent runs', status: started('Running', { startTime: LATE }),
        pod: withPod(pod('Running', running), (p) => { p.status!.startTime = new Date(LATE); }),
        phase: 'Failed', reason: 'Timeout', deletePod: true, isolatePod: true },
      { name: 'the kubelet\'s own deadline', status: started('Running'),
        pod: withPod(pod('Failed', undefined), (p) => { p.status!.reason = 'DeadlineExceeded'; p.status!.message = 'Pod was active on the node longer than the specified deadline'; }),
        phase: 'Failed', reason: 'Timeout', deletePod: false, isolatePod: false },
      { name: 'a lost pod', status: started('Running'), pod: undefined, podLost: true,
        phase: 'Failed', reason: 'PodLost', deletePod: false, isolatePod: false },
      { name: 'an agent that failed while its sidecars linger', status: started('Running'), pod: pod('Running', exited(2)),
        phase: 'Failed', reason: 'AgentFailed', deletePod: false, isolatePod: true },
      { name: 'an agent that succeeded while its sidecars linger', status: started('Running'), pod: pod('Running', exited(0)),
        phase: 'Succeeded', reason: 'AgentSucceeded', deletePod: false, isolatePod: true },
      { name: 'a pod that has ended', status: started('Succeeded', { completionTime: CREATED }), pod: pod('Succeeded', exited(0)),
        phase: 'Succeeded', reason: undefined, deletePod: false, isolatePod: false },
      { name: 'a pod already being deleted', status: started('Failed', { completionTime: CREATED }),
        pod: withPod(pod('Running', running), (p) => { p.metadata!.deletionTimestamp = new Date(CREATED); }),
        phase: 'Failed', reason: undefined, deletePod: false, isolatePod: true },
    ])('$name', ({ status, pod: thePod, podLost, phase, reason, deletePod, isolatePod }) => {
      const p = plan({ run: run({ status }), pod: thePod, podLost: podLost ?? false });
      expect(p.status.phase).toBe(phase);
      if (reason) expect(condition(p.status, 'Succeeded')?.reason).toBe(reason);
      expect(p.keepGrants).toBe(false);
      expect(p.deletePod).toBe(deletePod);
      expect(p.isolatePod).toBe(isolatePod);
    });

    it('keeps why a run made no progress when it times out (a pod the API server refused)', () => {
      const refused = { type: 'Ready', status: 'False' as const, reason: 'PodRefused', message: 'the API server refused the run\'s pod: pods "x" is forbidden: violates PodSecurity "restricted:latest"', lastTransitionTime: CREATED };
      const p = plan({ run: run({ status: { phase: 'Pending', startTime: '2026-03-01T11:00:00Z', conditions: [refused] } }) });
      expect(p.status.phase).toBe('Failed');
      expect(condition(p.status, 'Succeeded')?.message).toBe(`the run did not finish within 600s; before that, PodRefused: ${refused.message}`);
    });

    it('counts the deadline from the pod\'s startTime, as the kubelet counts activeDeadlineSeconds', () => {
      // The run recorded its start when it created the pod; the kubelet started the pod 10 minutes later.
      const status = started('Running', { startTime: '2026-03-01T11:45:00Z' });
      const late = withPod(pod('Running', running), (p) => { p.status!.startTime = '2026-03-01T11:55:00Z' as unknown as Date; });
      const p = plan({ run: run({ status }), pod: late });
      expect(p.status.phase).toBe('Running');
      expect(p.requeueAfterMs).toBe(5 * 60_000 + 50); // 11:55 + 600 s − 12:00
    });
  });

  it('keeps a finished run finished, whatever happens to the pod later', () => {
    const done = started('Succeeded', { completionTime: '2026-03-01T11:59:30Z', result: 'ok' });
    const p = plan({ run: run({ status: done }), podLost: true });
    expect(p.status.phase).toBe('Succeeded');
    expect(p.status.result).toBe('ok');
    expect(p.status.completionTime).toBe('2026-03-01T11:59:30Z');
    expect(p.events).toEqual([]);
  });

  it.each([
    { ttl: 0, deleteRun: true, requeue: undefined },
    { ttl: 60, deleteRun: false, requeue: 30_050 },
  ])('honours ttlSecondsAfterFinished=$ttl', ({ ttl, deleteRun, requeue }) => {
    const p = plan({ run: run({ ttl, status: started('Succeeded', { completionTime: '2026-03-01T11:59:30Z' }) }), pod: pod('Succeeded', exited(0)) });
    expect(p.deleteRun).toBe(deleteRun);
    expect(p.requeueAfterMs).toBe(requeue);
  });

  it('deletes the finished pod when the retention setting says so', () => {
    const p = plan({ run: run({ status: started('Running') }), pod: pod('Running', exited(0)), podRetention: 'delete' });
    expect(p.deletePod).toBe(true);
  });

  it('revokes a skill switched off during the run and closes its gate', () => {
    const before = plan({ run: run({ status: started('Pending') }), pod: pod('Running', running) }).status;
    const p = plan({ run: { ...run({ skills: [{ name: 'kubectl', enabled: false }, { name: 'fetch', enabled: true }] }), status: before }, pod: pod('Running', running) });
    expect(p.grantedSkills).toEqual(['fetch']);
    expect(p.disabledSkills).toEqual(['kubectl']);
    expect(p.status.skills?.[0]).toMatchObject({ name: 'kubectl', enabled: false, ready: false, rbac: 'Revoked', message: 'switched off' });
    expect(p.events).toEqual([{ type: 'Normal', reason: 'SkillRevoked', message: 'skill kubectl: permissions revoked (switched off)' }]);
  });

  it('revokes a skill whose pack is deleted during the run', () => {
    const before = started('Running', { skills: [{ name: 'kubectl', enabled: true, ready: true, rbac: 'Granted' }, { name: 'fetch', enabled: true, ready: true, rbac: 'None' }] });
    const p = plan({ run: run({ status: before }), pod: pod('Running', running),
      packs: new Map([...READY, ['kubectl', { ready: false, reason: 'NotFound', message: 'SkillPack kubectl not found' }]]) });
    expect(p.grantedSkills).toEqual(['fetch']);
    expect(p.status.phase).toBe('Running');
    expect(p.status.skills?.[0]).toMatchObject({ name: 'kubectl', rbac: 'Revoked', ready: false });
  });

  it('reports a skill added after the pod was created, without granting it', () => {
    const r = run({ skills: [{ name: 'kubectl', enabled: true }, { name: 'fetch', enabled: true }], status: started('Running') });
    const p = plan({ run: r, pod: pod('Running', running, [sidecar('kubectl', true)], ['kubectl']) });
    expect(p.grantedSkills).toEqual(['kubectl']);
    expect(condition(p.status, 'SkillsInPod')).toMatchObject({ status: 'False', reason: 'SkillNotInPod' });
    expect(p.status.skills?.[1]).toMatchObject({ name: 'fetch', ready: false, message: 'added after the pod was created: no sidecar' });
  });
});
