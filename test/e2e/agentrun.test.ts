// AgentRuns that really run: a kubelet, containerd and runc start the pod the operator builds (test/harness/node.ts),
// the executor is injected and serves the skill over /ipc, kubectl in the skill's sidecar talks to the API server
// with the run's projected token, and the agent's termination message becomes status.result. The operator runs
// in-process under its own ServiceAccount. Pods join the host network (the node has no pod network) and reach the
// API server at 127.0.0.1, both set at admission by the node's own policy (test/harness/node-host-network.ts), not by
// the operator; nothing here dials anything but loopback.
import { NetworkingV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRun } from '../../operator/src/api/index.ts';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { applyPack, clients, condition, createRun, deletePack, deleteRun, getRun, grantsOf, GRANTS_GONE, patchRun, podOf, statusCode } from '../harness/kube.ts';
import { HOST_NETWORK_NAMESPACE_LABEL, testNode } from '../harness/node-context.ts';
import { installSkillpod, startOperator, type TestOperator } from '../harness/operator.ts';

const kc = testCluster.kubeConfig();
const { core } = clients();
const networking = kc.makeApiClient(NetworkingV1Api);
const { images, apiServerAddress } = testNode.info();
let operator: TestOperator;
let ns: string;

const KUBECTL = 'e2e-kubectl';
const SHELL = 'e2e-shell';
const BROKEN = 'e2e-broken';
const NEVER_READY = 'e2e-never-ready';

/** Waits until the run reaches a terminal phase and returns it. */
async function finished(name: string, timeoutMs = 90_000): Promise<AgentRun> {
  return await eventually(async () => {
    const run = await getRun(ns, name);
    if (run.status?.phase !== 'Succeeded' && run.status?.phase !== 'Failed') {
      const pod = run.status?.podName ? await core.readNamespacedPod({ namespace: ns, name: run.status.podName }).catch(() => undefined) : undefined;
      throw new Error(`AgentRun ${name} is ${run.status?.phase}: ${JSON.stringify(run.status?.conditions)}\n` +
        `pod: ${JSON.stringify({ spec: { nodeName: pod?.spec?.nodeName }, status: pod?.status })}`);
    }
    return run;
  }, timeoutMs, 500);
}

/** The result lines the test agent writes as `key=value`, one per line. */
function resultOf(run: AgentRun): Record<string, string> {
  return Object.fromEntries((run.status?.result ?? '').split('\n').filter((l) => l.includes('=')).map((l) => {
    const i = l.indexOf('=');
    return [l.slice(0, i), l.slice(i + 1)];
  }));
}

async function logsOf(pod: V1Pod, container: string): Promise<string> {
  return await core.readNamespacedPodLog({ namespace: ns, name: pod.metadata!.name!, container });
}

beforeAll(async () => {
  await installSkillpod();
  await testNode.allowHostNetworkNamespaces();
  operator = await startOperator(['--executor-image', images.executor, '--default-agent-image', images.agent]);
  // Not `restricted`: Pod Security refuses the host network, which this node needs (docs/testing.md).
  ns = await testCluster.createNamespace('e2e', { [HOST_NETWORK_NAMESPACE_LABEL]: 'true' });
  // A typed tool (the default grant policy refuses free arguments beside RBAC): the agent names a kind and a format.
  await applyPack(KUBECTL, {
    image: images.kubectl,
    tools: [{
      name: 'get', description: 'kubectl get', command: ['kubectl', 'get'], timeoutSeconds: 30,
      parameters: { type: 'object', properties: { resource: { type: 'string', enum: ['pods', 'secrets'] }, output: { type: 'string', enum: ['name'] } }, required: ['resource'] },
      args: [['{resource}'], ['--output', '{output}']],
    }],
    env: [{ name: 'KUBERC', value: 'off' }],
    rbac: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] },
  });
  // Free arguments, in a pack that holds no token and no Secret.
  await applyPack(SHELL, { image: images.shell, tools: [{ name: 'echo', command: ['echo'], freeArguments: true }] });
  // An image that is not on the node: the pull goes to the refusing loopback proxy and fails at once.
  await applyPack(BROKEN, { image: 'skillpod.local/not-imported:v0', tools: [{ name: 'echo', command: ['echo'] }] });
  // A tool that does not exist in its image: the executor's startup probe never passes.
  await applyPack(NEVER_READY, { image: images.shell, startupTimeoutSeconds: 5, tools: [{ name: 'missing', command: ['/no/such/tool'] }] });
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  await testCluster.deleteNamespace(ns);
  for (const p of [KUBECTL, SHELL, BROKEN, NEVER_READY]) await deletePack(p);
});

// Concurrent: each test has its own run, and the slower ones (a startup probe that never passes, an image pull that
// fails) would otherwise add their waits to the others.
describe.concurrent('an AgentRun on a real node', () => {
  it('calls its kubectl skill over /ipc under its own RBAC, reports through status.result, holds no token, and loses its grants when the agent exits', async () => {
    const task = [
      `pods=$(skillpod-exec call e2e-kubectl get --input '{"resource":"pods","output":"name"}' 2>&1); echo "pods_rc=$?" >> /tmp/r; echo "pods=$(echo $pods | tr "\\n" " ")" >> /tmp/r`,
      `out=$(skillpod-exec call e2e-kubectl get --input '{"resource":"secrets","output":"name"}' 2>&1); echo "secrets_rc=$?" >> /tmp/r; echo "secrets=$(echo $out | tr "\\n" " " | cut -c1-300)" >> /tmp/r`,
      `out=$(skillpod-exec call e2e-kubectl get --input '{"resource":"pods","server":"https://127.0.0.1:1"}' 2>&1); echo "flag_rc=$?" >> /tmp/r; echo "flag=$(echo $out | cut -c1-200)" >> /tmp/r`,
      // The kuberc token theft: a kuberc in /workspace that would point kubectl at the agent's own listener.
      'printf "apiVersion: kubectl.config.k8s.io/v1beta1\\nkind: Preference\\n" > /workspace/kuberc',
      `out=$(skillpod-exec call e2e-kubectl get --input '{"resource":"--kuberc=/workspace/kuberc"}' 2>&1); echo "kuberc_rc=$?" >> /tmp/r; echo "kuberc=$(echo $out | cut -c1-200)" >> /tmp/r`,
      `out=$(skillpod-exec call e2e-kubectl get pods --kuberc=/workspace/kuberc 2>&1); echo "free_rc=$?" >> /tmp/r; echo "free=$(echo $out | cut -c1-200)" >> /tmp/r`,
      'echo "tools=$(skillpod-exec list | tr "\\n" " " | cut -c1-200)" >> /tmp/r',
      'echo "secrets_dir=$(ls /var/run/secrets 2>&1 | cut -c1-100)" >> /tmp/r',
      'echo "token_files=$(find / -name token -not -path "/proc/*" -not -path "/sys/*" 2>/dev/null | tr "\\n" " ")" >> /tmp/r',
      'echo "token_mounts=$(grep -c -e serviceaccount -e kube-api-access /proc/self/mountinfo)" >> /tmp/r',
      'echo "uid=$(id -u)" >> /tmp/r',
      'cat /tmp/r > /dev/termination-log',
    ].join('\n');
    const created = await createRun(ns, 'lists-pods', { task, agent: {}, skills: [{ name: KUBECTL }, { name: SHELL }] });
    const pod = await podOf(ns, 'lists-pods');
    // Adapted to this node at admission (test/harness/node-host-network.ts): the host network, and every container
    // pointed at the API server on loopback.
    expect(pod.spec?.hostNetwork).toBe(true);
    const [apiHost, apiPort] = apiServerAddress.split(':');
    for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
      expect(c.env, c.name).toEqual(expect.arrayContaining([{ name: 'KUBERNETES_SERVICE_HOST', value: apiHost }, { name: 'KUBERNETES_SERVICE_PORT', value: apiPort }]));
    }
    const run = await finished('lists-pods');
    expect(run.status?.phase, JSON.stringify(run.status)).toBe('Succeeded');
    const result = resultOf(run);
    console.log(`status.result of lists-pods:\n${run.status?.result}`);

    // The skill answered over /ipc, with kubectl running under the run's own ServiceAccount token.
    expect(result.pods_rc).toBe('0');
    expect(result.pods).toContain(`pod/${pod.metadata!.name}`);
    // What the pack does not grant is refused by the API server, as the run's ServiceAccount.
    expect(result.secrets_rc).not.toBe('0');
    expect(result.secrets).toMatch(/forbidden/i);
    expect(result.secrets).toContain(`system:serviceaccount:${ns}:${run.status?.serviceAccountName}`);
    // A parameter the tool does not have, a value that would be a flag, free arguments: refused, naming why.
    expect(result.flag_rc).not.toBe('0');
    expect(result.flag).toMatch(/input_refused.*server/);
    expect(result.kuberc_rc).not.toBe('0');
    expect(result.kuberc).toMatch(/input_refused.*resource/);
    expect(result.free_rc).not.toBe('0');
    expect(result.free).toMatch(/args_not_accepted/);
    expect(result.tools).toContain('get');
    // The agent has no Kubernetes token on disk, at any path, and runs as the agent UID.
    expect(result.secrets_dir).toMatch(/No such file or directory/);
    expect(result.token_files).toBe('');
    expect(result.token_mounts).toBe('0');
    expect(result.uid).toBe(String(operator.settings.agentUid));

    // The run's grants are gone once the agent exited; the finished pod stays for its logs.
    const childName = pod.metadata!.name!;
    await eventually(async () => expect(await grantsOf(ns, childName)).toEqual(GRANTS_GONE));
    expect(condition(await getRun(ns, 'lists-pods'), 'GrantsRevoked')?.status).toBe('True');
    // The executor wrote one audit line per call to its sidecar's log, served by the kubelet through the API server.
    const audit = await logsOf(pod, `skill-${KUBECTL}`);
    expect(audit).toContain('"tool":"get"');
    expect(created.metadata.uid).toBeDefined();
  });

  it('serves its skills over MCP to the agent: skillpod-exec mcp lists the kubectl tool and calls it; the result envelope reaches status', async () => {
    // A harness speaking MCP over stdio, as Claude Code or any MCP client would (docs/agents.md): initialize, list the
    // tools, call one, then report with the termination-message envelope (result and usage).
    const requests = [
      { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'e2e', version: '0' } } },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: `${KUBECTL}__get`, arguments: { resource: 'pods', output: 'name' } } },
    ].map((r) => JSON.stringify(r)).join('\n');
    const task = [
      `cat > /tmp/requests <<'EOF'\n${requests}\nEOF`,
      '(cat /tmp/requests; sleep 5) | skillpod-exec mcp > /tmp/answers 2>/tmp/mcp.err',
      `listed=$(grep -c '"name":"${KUBECTL}__get"' /tmp/answers)`,
      'pod=$(grep -o "pod/over-mcp-[a-z0-9]*" /tmp/answers | head -n 1)',
      'printf \'{"skillpod":"v1","result":"listed=%s %s","usage":{"inputTokens":12,"outputTokens":3,"model":"scripted"}}\' "$listed" "$pod" > /dev/termination-log',
    ].join('\n');
    await createRun(ns, 'over-mcp', { task, agent: {}, skills: [{ name: KUBECTL }] });
    const pod = await podOf(ns, 'over-mcp');
    const run = await finished('over-mcp');
    expect(run.status?.phase, JSON.stringify(run.status)).toBe('Succeeded');
    expect(run.status?.result).toBe(`listed=1 pod/${pod.metadata!.name}`);
    expect(run.status?.usage).toEqual({ inputTokens: 12, outputTokens: 3, model: 'scripted' });
    // The call went through the executor like any other: its audit line names the tool and the typed input.
    const log = await logsOf(pod, `skill-${KUBECTL}`);
    expect(log).toMatch(/"tool":"get".*"input":\{"output":"name","resource":"pods"\}/);
  });

  it('refuses a skill switched off once the downward API file shows it', async () => {
    // The agent calls the shell skill every second, prints each outcome to its log, and stops at the first
    // refusal by the executor's gate.
    const task = [
      'start=$(date +%s); i=0',
      'while [ $i -lt 120 ]; do',
      '  out=$(skillpod-exec call e2e-shell echo open 2>&1); rc=$?',
      '  echo "call $i rc=$rc $out"',
      '  case "$out" in *"switched off"*) printf "refused_after=%s\\nrefusal=%s\\n" $(( $(date +%s) - start )) "$out" > /dev/termination-log; exit 0 ;; esac',
      '  i=$((i+1)); sleep 1',
      'done',
      'echo "never refused" > /dev/termination-log; exit 1',
    ].join('\n');
    await createRun(ns, 'switch-off', { task, agent: {}, skills: [{ name: SHELL }] });
    const pod = await podOf(ns, 'switch-off');
    // The gate is open: calls go through.
    await eventually(async () => expect(await logsOf(pod, 'agent')).toMatch(/rc=0 open/), 60_000, 1000);
    const switchedAt = Date.now();
    await patchRun(ns, 'switch-off', [{ op: 'replace', path: '/spec/skills/0/enabled', value: false }]);
    const run = await finished('switch-off');
    expect(run.status?.phase, JSON.stringify(run.status)).toBe('Succeeded');
    expect(resultOf(run).refusal).toMatch(/skill "e2e-shell" is switched off/);
    console.log(`switch-off reached the executor's gate ${((Date.now() - switchedAt) / 1000).toFixed(0)}s after the patch (at most)`);
    const live = await core.readNamespacedPod({ namespace: ns, name: pod.metadata!.name! });
    expect(live.metadata?.annotations?.['skillpod.io/disabled-skills']).toBe(SHELL);
  });

  it('fails with SkillNotReady naming the skill when a sidecar image cannot be had', async () => {
    await createRun(ns, 'broken-image', { task: 'true', agent: {}, skills: [{ name: SHELL }, { name: BROKEN }] });
    const run = await finished('broken-image');
    expect(run.status?.phase).toBe('Failed');
    const ended = condition(run, 'Succeeded');
    expect(ended?.reason).toBe('SkillNotReady');
    expect(ended?.message).toMatch(new RegExp(`skill ${BROKEN} cannot start: (ErrImagePull|ImagePullBackOff)`));
    // The kubelet would keep retrying the pull: the pod is ended, and while it exists its NetworkPolicy denies all.
    const name = run.status?.podName ?? '';
    const unconfined: string[] = [];
    await eventually(async () => {
      const policy = await networking.readNamespacedNetworkPolicy({ namespace: ns, name }).catch(() => undefined);
      const podGone = (await statusCode(core.readNamespacedPod({ namespace: ns, name }))) === 404;
      if (!podGone && (policy === undefined || (policy.spec?.egress ?? []).length > 0)) unconfined.push(JSON.stringify(policy?.spec ?? 'no policy'));
      expect(podGone).toBe(true);
      expect(policy).toBeUndefined();
    }, 60_000, 100);
    expect(unconfined).toEqual([]);
  });

  it('fails with SkillNotReady naming the skill when a sidecar never passes its startup probe', async () => {
    // The kubelet restarts the sidecar after the pack's startupTimeoutSeconds (5) of failed probes, one a second; the
    // operator fails the run at the first restart (operator/src/agentrun/pod-observation.ts, SIDECAR_RESTART_LIMIT).
    await createRun(ns, 'never-ready', { task: 'true', agent: {}, skills: [{ name: NEVER_READY }] });
    const run = await finished('never-ready', 90_000);
    expect(run.status?.phase).toBe('Failed');
    const ended = condition(run, 'Succeeded');
    expect(ended?.reason).toBe('SkillNotReady');
    expect(ended?.message).toContain(`skill ${NEVER_READY} cannot start: restarted once before the agent started`);
  }, 120_000);

  it('leaves nothing behind, on the API server or the node, once the run is deleted', async () => {
    await createRun(ns, 'deleted', { task: 'echo done > /dev/termination-log', agent: {}, skills: [{ name: KUBECTL }] });
    const pod = await podOf(ns, 'deleted');
    const run = await finished('deleted');
    expect(run.status?.result).toBe('done\n');
    const uid = pod.metadata!.uid!;
    const childName = pod.metadata!.name!;
    expect((await testNode.containersOfPod(uid)).length).toBeGreaterThan(0);
    await deleteRun(ns, 'deleted');
    await eventually(async () => {
      expect(await statusCode(core.readNamespacedPod({ namespace: ns, name: childName }))).toBe(404);
      expect(await statusCode(core.readNamespacedConfigMap({ namespace: ns, name: childName }))).toBe(404);
      expect(await grantsOf(ns, childName)).toEqual(GRANTS_GONE);
    }, 60_000);
    // The kubelet removed the pod's containers (sandbox included) and unmounted its volumes.
    await eventually(async () => {
      expect(await testNode.containersOfPod(uid)).toEqual([]);
      expect(await testNode.mountsOfPod(uid)).toEqual([]);
    }, 90_000, 1000);
  }, 180_000);
});
