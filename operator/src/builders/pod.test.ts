// The pod of design.md sections 3 and 4, checked point by point.
import type { V1Container } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ANNOTATION_DISABLED_SKILLS, ANNOTATION_GRANTS, buildPod, executorSettings, grantSnapshot, LABEL_MANAGED_BY, LABEL_RUN, LABEL_RUN_UID, mergeResources, parseGrantSnapshot, podProblem, runRef, toolsJSON } from './index.ts';
import { buildRunObjects } from '../agentrun/decide/render.ts';
import { agentRun, apiServer, kubectlPack, packs, representativeRun, RUN_UID, settings } from './testdata/fixtures.ts';

const pod = buildRunObjects({ run: representativeRun, packs, settings, apiServer }).pod!;
const spec = pod.spec!;
const init = (name: string) => spec.initContainers?.find((c) => c.name === name) as V1Container;
const agent = spec.containers[0] as V1Container;
const all = [...(spec.initContainers ?? []), ...spec.containers];
const envOf = (c: V1Container, name: string) => c.env?.find((e) => e.name === name);
const mountAt = (c: V1Container, path: string) => c.volumeMounts?.find((m) => m.mountPath === path);
const volume = (name: string) => spec.volumes?.find((v) => v.name === name);

describe('pod level', () => {
  it('never restarts, times out with the run, uses the run ServiceAccount without automounted token', () => {
    expect(spec.restartPolicy).toBe('Never');
    expect(spec.activeDeadlineSeconds).toBe(1800);
    expect(spec.serviceAccountName).toBe('triage-incident-4711-3f2a9c1e7b4d');
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.enableServiceLinks).toBe(false);
  });

  it('passes placement through', () => {
    expect(spec.imagePullSecrets).toEqual([{ name: 'mirror' }, { name: 'regcred' }]);
    expect(spec.nodeSelector).toEqual({ 'kubernetes.io/arch': 'amd64', 'node.example.com/pool': 'agents' });
    expect(spec.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'agents', effect: 'NoSchedule' }]);
    expect(spec.runtimeClassName).toBe('gvisor');
    expect(pod.metadata?.labels).toMatchObject({ team: 'payments', 'app.kubernetes.io/name': 'incident-triage' });
    expect(pod.metadata?.annotations).toMatchObject({ 'example.com/ticket': 'INC-4711' });
  });

  it('keeps its own labels and annotations over user ones', () => {
    const run = structuredClone(representativeRun);
    run.spec.podLabels = { [LABEL_RUN]: 'fake', [LABEL_MANAGED_BY]: 'me', [LABEL_RUN_UID]: 'x' };
    run.spec.podAnnotations = { [ANNOTATION_DISABLED_SKILLS]: '', [ANNOTATION_GRANTS]: '{}' };
    const p = buildPod(runRef(run), run, packs, settings, 'helm');
    expect(p.metadata?.labels).toEqual({ [LABEL_MANAGED_BY]: 'skillpod', [LABEL_RUN]: 'triage-incident-4711', [LABEL_RUN_UID]: RUN_UID });
    expect(p.metadata?.annotations?.[ANNOTATION_DISABLED_SKILLS]).toBe('helm');
    expect(parseGrantSnapshot(p.metadata?.annotations?.[ANNOTATION_GRANTS]).ok).toBe(true);
  });

  it('is owned by its run', () => {
    expect(pod.metadata?.ownerReferences).toEqual([
      { apiVersion: 'skillpod.io/v1alpha1', kind: 'AgentRun', name: 'triage-incident-4711', uid: RUN_UID, controller: true, blockOwnerDeletion: true },
    ]);
  });

  it('starts with the gate of switched-off skills closed and a snapshot of every pack', () => {
    expect(pod.metadata?.annotations?.[ANNOTATION_DISABLED_SKILLS]).toBe('helm');
    const parsed = parseGrantSnapshot(pod.metadata?.annotations?.[ANNOTATION_GRANTS]);
    expect(parsed.ok && Object.keys(parsed.snapshot.packs)).toEqual(['git', 'helm', 'kubectl']);
  });

  it('has an empty gate annotation when every skill is on', () => {
    const p = buildPod(runRef(representativeRun), agentRun({ skills: [{ name: 'git' }] }), packs, settings, '');
    expect(p.metadata?.annotations?.[ANNOTATION_DISABLED_SKILLS]).toBe('');
  });
});

describe('executor install init container', () => {
  it('copies the executor into the bin emptyDir first', () => {
    const c = spec.initContainers?.[0] as V1Container;
    expect(c.name).toBe('skillpod-install');
    expect(c.image).toBe(settings.executorImage);
    expect(c.command).toEqual(['/skillpod-exec', 'install', '/skillpod/bin']);
    expect(c.restartPolicy).toBeUndefined();
    expect(mountAt(c, '/skillpod/bin')).toEqual({ name: 'skillpod-bin', mountPath: '/skillpod/bin', readOnly: false });
    expect(volume('skillpod-bin')?.emptyDir).toEqual({});
  });
});

describe('skill sidecars', () => {
  it('one native sidecar per skill, switched-off ones included', () => {
    expect(spec.initContainers?.map((c) => c.name)).toEqual(['skillpod-install', 'skill-git', 'skill-helm', 'skill-kubectl']);
    for (const name of ['git', 'helm', 'kubectl']) {
      const c = init(`skill-${name}`);
      expect(c.restartPolicy).toBe('Always');
      expect(c.image).toBe(packs.get(name)?.spec.image);
      expect(c.command).toEqual(['/skillpod/bin/skillpod-exec', 'serve', '--skill', name]);
      expect(c.args).toBeUndefined();
      expect(c.startupProbe?.exec?.command).toEqual(['/skillpod/bin/skillpod-exec', 'probe', '--skill', name]);
      expect(envOf(c, 'SKILLPOD_AGENT_UID')?.value).toBe(String(settings.agentUid));
      expect(mountAt(c, '/workspace')?.name).toBe('workspace');
      expect(mountAt(c, `/ipc/${name}`)).toEqual({ name: `ipc-${name}`, mountPath: `/ipc/${name}`, readOnly: false });
      // Its own socket directory only: no other pack's, so it can neither replace nor impersonate one.
      expect(c.volumeMounts?.filter((m) => m.mountPath.startsWith('/ipc')).map((m) => m.name)).toEqual([`ipc-${name}`]);
      expect(mountAt(c, '/skillpod/bin')).toEqual({ name: 'skillpod-bin', mountPath: '/skillpod/bin', readOnly: true });
      expect(mountAt(c, '/skillpod/podinfo')).toEqual({ name: 'podinfo', mountPath: '/skillpod/podinfo', readOnly: true });
      expect(mountAt(c, '/tmp')?.name).toBe(`tmp-${name}`);
    }
  });

  it('gets its tools in SKILLPOD_TOOLS, in the CRD field names, defaults applied', () => {
    const tools = JSON.parse(envOf(init('skill-kubectl'), 'SKILLPOD_TOOLS')?.value ?? '') as unknown;
    expect(tools).toEqual([
      {
        name: 'get',
        description: 'kubectl get.',
        command: ['kubectl', 'get'],
        timeoutSeconds: 60,
        parameters: {
          type: 'object',
          properties: {
            resource: { type: 'string', enum: ['pods', 'deployments'], description: 'What to list.' },
            name: { type: 'string', pattern: '^[a-z0-9][-a-z0-9.]*$', maxLength: 253 },
            labels: { type: 'array', items: { type: 'string', pattern: '^[a-z]+=[a-z0-9]+$' }, maxItems: 4 },
            wide: { type: 'boolean' },
          },
          required: ['resource'],
        },
        args: [['{resource}'], ['{name}'], ['--selector', '{labels}'], ['--output=wide', '{wide}']],
      },
      {
        name: 'logs',
        command: ['kubectl', 'logs'],
        timeoutSeconds: 30,
        freeArguments: true,
        argPolicy: { allowedFlags: [{ flag: '--tail', value: '[0-9]+' }, { flag: '--previous' }], allowedPatterns: ['[a-z0-9][-a-z0-9./]*'], parser: 'pflag' },
      },
    ]);
    expect(toolsJSON(kubectlPack.spec.tools)).toBe(envOf(init('skill-kubectl'), 'SKILLPOD_TOOLS')?.value);
  });

  it("every executor setting is written explicitly, so a skill image's ENV cannot supply one", () => {
    for (const name of ['git', 'helm', 'kubectl']) {
      const keys = (init(`skill-${name}`).env ?? []).map((e) => e.name).filter((k) => k.startsWith('SKILLPOD_')).sort();
      expect(keys).toEqual(Object.keys(executorSettings('[]', 0)).sort());
      expect(envOf(init(`skill-${name}`), 'SKILLPOD_IPC_DIR')?.value).toBe('/ipc');
      expect(envOf(init(`skill-${name}`), 'SKILLPOD_PODINFO_FILE')?.value).toBe('/skillpod/podinfo/annotations');
      expect(envOf(init(`skill-${name}`), 'SKILLPOD_WORKDIR')?.value).toBe('/workspace');
    }
  });

  it('gets its own pack env (secret references included) and HOME in /tmp unless the pack sets it', () => {
    expect(envOf(init('skill-git'), 'GIT_TOKEN')).toEqual({ name: 'GIT_TOKEN', valueFrom: { secretKeyRef: { name: 'github-token', key: 'token' } } });
    expect(init('skill-git').env?.filter((e) => e.name === 'HOME')).toEqual([{ name: 'HOME', value: '/workspace' }]);
    expect(envOf(init('skill-kubectl'), 'HOME')?.value).toBe('/tmp');
    expect(envOf(init('skill-kubectl'), 'GIT_TOKEN')).toBeUndefined();
    expect(envOf(agent, 'GIT_TOKEN')).toBeUndefined();
  });

  it('the gate reads the pod annotations through the downward API', () => {
    expect(volume('podinfo')?.downwardAPI?.items).toEqual([{ path: 'annotations', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.annotations' } }]);
  });

  it('a token only in sidecars of packs with RBAC, projected with an expiry, the CA and the namespace', () => {
    const token = '/var/run/secrets/kubernetes.io/serviceaccount';
    expect(mountAt(init('skill-kubectl'), token)).toEqual({ name: 'skillpod-token', mountPath: token, readOnly: true });
    expect(mountAt(init('skill-helm'), token)?.name).toBe('skillpod-token'); // switched off, but may be switched on
    expect(mountAt(init('skill-git'), token)).toBeUndefined();
    const sources = volume('skillpod-token')?.projected?.sources;
    expect(sources?.[0]?.serviceAccountToken).toEqual({ path: 'token', expirationSeconds: 3600 });
    expect(sources?.[1]?.configMap).toEqual({ name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] });
    expect(sources?.[2]?.downwardAPI?.items).toEqual([{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }]);
  });

  it('no token volume at all without a pack with RBAC', () => {
    const p = buildPod(runRef(representativeRun), agentRun({ skills: [{ name: 'git' }] }), packs, settings, '');
    expect(p.spec?.volumes?.some((v) => v.projected)).toBe(false);
  });
});

describe('no test-only switch (the test node adapts run pods at admission: test/harness/node-host-network.ts)', () => {
  it('never puts the pod in the host network nor gives any container an API server address', () => {
    expect(pod.spec?.hostNetwork).toBeUndefined();
    const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
    expect(all.filter((c) => envOf(c, 'KUBERNETES_SERVICE_HOST') || envOf(c, 'KUBERNETES_SERVICE_PORT')).map((c) => c.name)).toEqual([]);
  });
});

describe('agent container', () => {
  it('runs the user image, command, args and env', () => {
    expect(agent.name).toBe('agent');
    expect(agent.image).toBe('registry.example.com/agents/claude-agent:2.1');
    expect(agent.command).toEqual(['agent']);
    expect(agent.args).toEqual(['--max-turns', '40']);
    expect(envOf(agent, 'MODEL_API_KEY')?.valueFrom?.secretKeyRef).toEqual({ name: 'model-credentials', key: 'api-key' });
  });

  it('falls back to the default agent image and the image entrypoint', () => {
    const p = buildPod(runRef(representativeRun), agentRun(), packs, settings, '');
    expect(p.spec?.containers[0]?.image).toBe(settings.defaultAgentImage);
    expect(p.spec?.containers[0]?.command).toBeUndefined();
    expect(p.spec?.containers[0]?.args).toBeUndefined();
  });

  it('learns its task from SKILLPOD_TASK and /skillpod/task', () => {
    expect(envOf(agent, 'SKILLPOD_TASK')?.value).toBe(representativeRun.spec.task);
    expect(mountAt(agent, '/skillpod/task')).toEqual({ name: 'skillpod-config', mountPath: '/skillpod/task', readOnly: true, subPath: 'task' });
    expect(volume('skillpod-config')?.configMap?.name).toBe(pod.metadata?.name);
  });

  it('sees every SKILL.md, the workspace, the sockets and the executor', () => {
    for (const name of ['git', 'helm', 'kubectl']) {
      expect(mountAt(agent, `/skills/${name}/SKILL.md`)).toEqual({ name: 'skillpod-config', mountPath: `/skills/${name}/SKILL.md`, readOnly: true, subPath: `${name}.md` });
    }
    expect(mountAt(agent, '/workspace')).toEqual({ name: 'workspace', mountPath: '/workspace', readOnly: false });
    for (const name of ['git', 'helm', 'kubectl']) {
      expect(mountAt(agent, `/ipc/${name}`)).toEqual({ name: `ipc-${name}`, mountPath: `/ipc/${name}`, readOnly: true });
    }
    expect(mountAt(agent, '/skillpod/bin')).toEqual({ name: 'skillpod-bin', mountPath: '/skillpod/bin', readOnly: true });
    expect(mountAt(agent, '/skillpod/podinfo')).toBeUndefined();
  });

  it('mounts no Kubernetes token at any path', () => {
    expect(agent.volumeMounts?.some((m) => m.name === 'skillpod-token' || m.mountPath.startsWith('/var/run/secrets'))).toBe(false);
  });

  it('reports through its termination message file', () => {
    expect(agent.terminationMessagePath).toBe('/dev/termination-log');
    expect(agent.terminationMessagePolicy).toBe('File');
  });
});

describe('every container', () => {
  it.each(all.map((c) => [c.name, c] as const))('%s: restricted security context, own /tmp, HOME, requests and limits', (_name, c) => {
    const uid = c.name === 'agent' ? settings.agentUid : settings.sidecarUid;
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsGroup: 65532,
      runAsNonRoot: true,
      runAsUser: uid,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const tmp = mountAt(c, '/tmp');
    expect(volume(tmp?.name ?? '')?.emptyDir).toEqual({});
    expect(all.filter((o) => o !== c).some((o) => o.volumeMounts?.some((m) => m.name === tmp?.name))).toBe(false);
    if (c.name !== 'skillpod-install') expect(c.env?.some((e) => e.name === 'HOME')).toBe(true);
    expect(Object.keys(c.resources?.requests ?? {})).toEqual(expect.arrayContaining(['cpu', 'memory']));
    expect(Object.keys(c.resources?.limits ?? {})).toEqual(expect.arrayContaining(['cpu', 'memory']));
  });

  it('agent and sidecars have different UIDs and share a group', () => {
    expect(settings.agentUid).not.toBe(settings.sidecarUid);
    expect(spec.securityContext).toMatchObject({ fsGroup: 65532, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  });
});

describe('mergeResources', () => {
  const defaults = { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } };
  it.each([
    ['nothing given: the defaults', undefined, { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } }],
    ['both given: as given', { requests: { cpu: '2' }, limits: { cpu: '4' } }, { requests: { cpu: '2', memory: '256Mi' }, limits: { cpu: '4', memory: '1Gi' } }],
    ['a request above the default limit raises the limit', { requests: { memory: '4Gi' } }, { requests: { cpu: '100m', memory: '4Gi' }, limits: { cpu: '1', memory: '4Gi' } }],
    ['a limit below the default request lowers the request', { limits: { cpu: '50m' } }, { requests: { cpu: '50m', memory: '256Mi' }, limits: { cpu: '50m', memory: '1Gi' } }],
    ['numbers become strings', { requests: { cpu: 2 }, limits: { cpu: 3 } }, { requests: { cpu: '2', memory: '256Mi' }, limits: { cpu: '3', memory: '1Gi' } }],
    ['extended resources pass through', { limits: { 'nvidia.com/gpu': '1' } }, { requests: { cpu: '100m', memory: '256Mi', 'nvidia.com/gpu': '1' }, limits: { cpu: '1', memory: '1Gi', 'nvidia.com/gpu': '1' } }],
  ])('%s', (_what, given, want) => {
    expect(mergeResources(given, defaults)).toEqual(want);
  });
});

describe('podProblem', () => {
  it('waits for missing packs', () => {
    expect(podProblem(representativeRun, new Map([['git', packs.get('git')!]]), settings)).toMatchObject({ reason: 'SkillPackMissing', message: expect.stringContaining('helm, kubectl') as string });
    expect(buildRunObjects({ run: representativeRun, packs: new Map(), settings }).pod).toBeUndefined();
  });
  it('needs an agent image', () => {
    expect(podProblem(agentRun(), packs, { ...settings, defaultAgentImage: '' })?.reason).toBe('NoAgentImage');
  });
  it('needs distinct UIDs', () => {
    expect(podProblem(agentRun(), packs, { ...settings, sidecarUid: settings.agentUid })?.reason).toBe('InvalidSettings');
    expect(() => buildPod(runRef(representativeRun), agentRun(), packs, { ...settings, sidecarUid: settings.agentUid }, '')).toThrow(/differ/);
  });
});

describe('ConfigMap', () => {
  it('holds the task and one SKILL.md per pack', () => {
    const { configMap } = buildRunObjects({ run: representativeRun, packs, settings });
    expect(Object.keys(configMap.data ?? {})).toEqual(['git.md', 'helm.md', 'kubectl.md', 'task']);
    expect(configMap.data?.task).toBe(representativeRun.spec.task);
    expect(configMap.data?.['kubectl.md']).toContain('Use `get`, `describe` and `logs`');
    expect(configMap.data?.['kubectl.md']).toMatch(/^---\nname: kubectl\ndescription: "Read-only kubectl for the run namespace."\n---\n/);
  });
});

describe('ConfigMap of a running run', () => {
  it('keeps every key the pod mounts, with a stub for a pack that has gone', () => {
    const snapshot = grantSnapshot(representativeRun, packs);
    const { configMap } = buildRunObjects({ run: representativeRun, packs: new Map([['git', packs.get('git')!]]), settings, snapshot });
    expect(Object.keys(configMap.data ?? {})).toEqual(['git.md', 'helm.md', 'kubectl.md', 'task']);
    expect(configMap.data?.['kubectl.md']).toContain('was removed or is not Ready');
  });
});
