// The Helm charts (helm/skillpod, and helm/skillpod-crds for those who let Helm upgrade the CRDs) checked with helm
// built from source (make testbin) and against the real control plane: lint, deterministic rendering, what they
// render, every object accepted by a server-side dry run, and a release installed in one command on a fresh control
// plane and over `make install`, upgraded and uninstalled.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiextensionsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { loadSettings } from '../../operator/src/config/settings.ts';
import { install, waitForCrds } from '../../operator/src/install/apply.ts';
import { grantPolicyData, grantTuples, isSettingKey, parseGrantPolicyData, parseGrantPolicySettings } from '../../operator/src/policy/configmap.ts';
import { DEFAULT_GRANT_POLICY } from '../../operator/src/policy/grant-policy.ts';
import { celAllowlist } from '../../operator/src/policy/skillpack-admission.ts';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { unenforceGrantPolicy } from './trust-support.ts';
import { statusCode } from '../harness/kube.ts';
import { kubectl } from '../harness/kubectl.ts';
import {
  chartDir, describeObject, fullValuesFile, helm, helmOk, parseObjects, render, repoRoot, type KubeObject,
} from './chart-support.ts';

const kubeOperatorValues = join(chartDir, 'values-kube-operator.yaml');
const crdsChartDir = join(repoRoot, 'helm/skillpod-crds');
const full = ['-f', kubeOperatorValues, '-f', fullValuesFile];
const RELEASE = 'skillpod';
const NAMESPACE = 'skillpod-system';
const SKILLPACK_API = ['--api-versions', 'skillpod.io/v1alpha1/SkillPack'];

type Container = { name: string; args?: string[]; securityContext?: Record<string, unknown>; [k: string]: unknown };
type PodSpec = { containers: Container[]; securityContext?: Record<string, unknown>; [k: string]: unknown };

const find = (objects: KubeObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
function must(objects: KubeObject[], kind: string, name: string): KubeObject {
  const o = find(objects, kind, name);
  if (!o) throw new Error(`${kind} ${name} not rendered; got ${objects.map(describeObject).join(', ')}`);
  return o;
}
const podSpecOf = (deployment: KubeObject) => (deployment.spec as { template: { spec: PodSpec } }).template.spec;
const operatorContainer = (objects: KubeObject[]) => podSpecOf(must(objects, 'Deployment', 'skillpod-operator')).containers[0]!;

/** The objects of helm/skillpod/files/*.yaml, as `make install` applies them. */
function fileObjects(): KubeObject[] {
  return yamlObjects(join(chartDir, 'files'));
}

function yamlObjects(dir: string): KubeObject[] {
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as KubeObject | null))
    .filter((o): o is KubeObject => o !== null);
}

function packNames(objects: KubeObject[]): string[] {
  return objects.filter((o) => o.kind === 'SkillPack').map((o) => o.metadata.name).sort();
}

describe('chart: lint and render (no cluster)', () => {
  it('passes helm lint --strict, with the defaults and with every switch set (and the CRD chart)', async () => {
    for (const args of [[], full]) {
      const out = await helmOk(['lint', '--strict', chartDir, ...args]);
      expect(out).toContain('1 chart(s) linted, 0 chart(s) failed');
    }
    expect(await helmOk(['lint', '--strict', crdsChartDir])).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it('renders byte for byte the same twice (no lookup, no random values), with the defaults and with every switch set', async () => {
    for (const args of [[], full]) {
      const a = await helmOk(['template', RELEASE, chartDir, '-n', NAMESPACE, ...args]);
      const b = await helmOk(['template', RELEASE, chartDir, '-n', NAMESPACE, ...args]);
      expect(a.length).toBeGreaterThan(10_000);
      expect(b).toBe(a);
    }
  });

  it('renders every object of files/ (but the Namespace), the packs, and the operator; the CRDs are the chart\'s crds/, and the CRD chart keeps them', async () => {
    const objects = await render();
    for (const file of fileObjects()) {
      if (file.kind === 'Namespace') {
        expect(find(objects, 'Namespace', file.metadata.name), 'the release namespace is Helm\'s, not the chart\'s').toBeUndefined();
        continue;
      }
      const rendered = must(objects, file.kind, file.metadata.name);
      expect(rendered.metadata.namespace).toBe(file.metadata.namespace);
      if (file.kind === 'ConfigMap') continue; // the grant policy: from values, checked below
      const strip = (o: KubeObject) => ({ ...o, metadata: { ...o.metadata, labels: undefined } });
      expect(strip(rendered), describeObject(file)).toEqual(strip(file));
      expect(rendered.metadata.labels).toMatchObject({ ...file.metadata.labels, 'app.kubernetes.io/managed-by': 'Helm' });
    }
    // The main chart: the CRDs in crds/ (installed first by helm install, never by helm template without
    // --include-crds), exactly the generated files make install applies.
    expect(objects.filter((o) => o.kind === 'CustomResourceDefinition')).toEqual([]);
    const shown = parseObjects(await helmOk(['show', 'crds', chartDir]));
    expect(shown.map((o) => o.metadata.name).sort()).toEqual(['agentruns.skillpod.io', 'skillpacks.skillpod.io']);
    const crdsChart = parseObjects(await helmOk(['template', 'skillpod-crds', crdsChartDir, '-n', NAMESPACE]));
    for (const crd of yamlObjects(join(repoRoot, 'crds'))) {
      expect(must(shown, 'CustomResourceDefinition', crd.metadata.name)).toEqual(crd);
      // The CRD chart: the same CRDs as templates (helm upgrade upgrades them), kept by Helm and Argo CD alike.
      const templated = must(crdsChart, 'CustomResourceDefinition', crd.metadata.name);
      expect(templated.spec, crd.metadata.name).toEqual(crd.spec);
      expect(templated.metadata.annotations).toMatchObject({ 'helm.sh/resource-policy': 'keep', 'argocd.argoproj.io/sync-options': 'Delete=false,ServerSideApply=true' });
      expect(templated.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'Helm', 'app.kubernetes.io/part-of': 'skillpod' });
    }
    const notKept = parseObjects(await helmOk(['template', 'skillpod-crds', crdsChartDir, '--set', 'keep=false']));
    for (const crd of notKept) expect(crd.metadata.annotations?.['helm.sh/resource-policy']).toBeUndefined();
    expect(packNames(objects)).toEqual(['helm', 'http-fetch', 'kube-inspector']);
    for (const pack of ['helm', 'http-fetch', 'kube-inspector']) must(objects, 'ClusterRole', `skillpod:use:${pack}`);
    for (const o of objects) {
      expect(o.metadata.labels?.['app.kubernetes.io/managed-by'], describeObject(o)).toBe('Helm');
      expect(o.metadata.labels?.['app.kubernetes.io/part-of'], describeObject(o)).toBe('skillpod');
    }
  });

  it('packages both charts into archives (what `helm push oci://…` uploads) that hold what the symlinks point at and render the same as the folders', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chart-package-'));
    await helmOk(['package', chartDir, crdsChartDir, '-d', dir]);
    expect(readdirSync(dir).sort()).toEqual(['skillpod-0.2.0.tgz', 'skillpod-crds-0.2.0.tgz']);
    const archive = join(dir, 'skillpod-0.2.0.tgz');
    const fromArchive = await helmOk(['template', RELEASE, archive, '-n', NAMESPACE, '--include-crds', ...full]);
    const fromFolder = await helmOk(['template', RELEASE, chartDir, '-n', NAMESPACE, '--include-crds', ...full]);
    expect(fromArchive).toBe(fromFolder);
    expect(await helmOk(['show', 'crds', archive])).toBe(await helmOk(['show', 'crds', chartDir]));
    const crdsArchive = join(dir, 'skillpod-crds-0.2.0.tgz');
    expect(await helmOk(['template', 'skillpod-crds', crdsArchive])).toBe(await helmOk(['template', 'skillpod-crds', crdsChartDir]));
  });

  it('renders the grant policy as files/grant-policy.yaml has it (the chart and make install agree), and the grantable role from it', async () => {
    const objects = await render();
    const configMap = must(objects, 'ConfigMap', 'skillpod-grant-policy') as KubeObject & { data: Record<string, string> };
    const fromFile = fileObjects().find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'skillpod-grant-policy') as KubeObject & { data: Record<string, string> };
    // Resource keys as the file has them; settings (upper-case keys) written from values, meaning what the file's
    // absent keys mean: the defaults.
    const resources = (data: Record<string, string>) => Object.fromEntries(Object.entries(data).filter(([k]) => !isSettingKey(k)));
    expect(resources(configMap.data)).toEqual(fromFile.data);
    expect(resources(configMap.data)).toEqual(grantPolicyData(DEFAULT_GRANT_POLICY));
    expect(parseGrantPolicySettings(configMap.data)).toEqual(parseGrantPolicySettings(fromFile.data));
    const parsed = parseGrantPolicyData(configMap.data);
    expect(parsed.problems).toEqual([]);
    const role = must(objects, 'ClusterRole', 'skillpod-operator-grantable') as KubeObject & { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
    expect(grantTuples({ rules: role.rules, clusterRules: [] })).toEqual(grantTuples({ rules: [...parsed.policy.rules, ...parsed.policy.clusterRules], clusterRules: [] }));
    const binding = must(objects, 'ClusterRoleBinding', 'skillpod-operator-grantable') as KubeObject & { subjects: unknown[] };
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'skillpod-operator', namespace: NAMESPACE }]);

    const widened = await render(['-f', kubeOperatorValues]);
    const data = (must(widened, 'ConfigMap', 'skillpod-grant-policy') as KubeObject & { data: Record<string, string> }).data;
    expect(data).toMatchObject({ 'deployments.apps': 'get,list,patch,watch', 'deployments_scale.apps': 'get,patch,update', 'controllerrevisions.apps': 'get,list,watch', pods: 'delete,get,list,watch' });
    // The SkillPack admission policy carries the same policy, written into it as make install writes it.
    const allowed = (objects: KubeObject[]) => ((must(objects, 'ValidatingAdmissionPolicy', 'skillpod-skillpack-grant-policy').spec as { variables: { name: string; expression: string }[] })
      .variables.find((v) => v.name === 'allowed')?.expression);
    expect(allowed(objects)).toBe(celAllowlist(fromFile.data));
    expect(allowed(widened)).toBe(celAllowlist(data));
    expect(allowed(widened)).toContain("'deployments_scale.apps': 'get,patch,update'");
  });

  it('runs the operator non-root on a read-only root filesystem, probed on /healthz and /readyz, with flags the operator accepts', async () => {
    for (const args of [[], full]) {
      const objects = await render(args);
      const deployment = must(objects, 'Deployment', 'skillpod-operator');
      const pod = podSpecOf(deployment);
      const container = operatorContainer(objects);
      expect(pod.serviceAccountName).toBe('skillpod-operator');
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
      expect(Number.isInteger(container.securityContext?.runAsUser) && (container.securityContext?.runAsUser as number) > 0).toBe(true);
      const resources = container.resources as { requests?: Record<string, string>; limits?: Record<string, string> };
      expect(Object.keys(resources.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
      expect(Object.keys(resources.limits ?? {}).sort()).toEqual(['cpu', 'memory']);
      const port = (container.ports as { containerPort: number }[])[0]!.containerPort;
      expect(container.livenessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 'http' } });
      expect(container.readinessProbe).toMatchObject({ httpGet: { path: '/readyz', port: 'http' } });
      // Every flag is one the operator's own settings parser accepts, with the values asked for.
      const settings = loadSettings(container.args ?? [], {});
      expect(settings.serverBindAddress).toBe(`:${port}`);
      expect(settings.operatorNamespace).toBe(NAMESPACE);
    }
    const fullSettings = loadSettings(operatorContainer(await render(full)).args ?? [], {});
    expect(fullSettings).toMatchObject({
      leaderElect: true, leaseDurationSeconds: 20, watchNamespaces: ['team-a', 'team-b'], concurrency: 8, logLevel: 'debug',
      podRetention: 'delete', executorImage: 'registry.example.com/skillpod/executor@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      defaultAgentImage: 'registry.example.com/agents/default:1.0', agentUid: 10001, sidecarUid: 10002,
      defaultAgentResources: { requests: { cpu: '200m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } },
      leaderElectionId: 'skillpod-operator-test', serverBindAddress: ':9090', apiQps: 50, apiBurst: 100,
    });
    const defaults = loadSettings(operatorContainer(await render()).args ?? [], {});
    expect(defaults).toMatchObject({ leaderElect: false, watchNamespaces: [], executorImage: 'ghcr.io/skillpod/executor:v0.1.0', apiQps: 0, apiBurst: 10 });
    const fullObjects = await render(full);
    expect((must(fullObjects, 'Deployment', 'skillpod-operator').spec as { replicas: number }).replicas).toBe(2);
    must(fullObjects, 'PodDisruptionBudget', 'skillpod-operator');
    must(fullObjects, 'ServiceMonitor', 'skillpod-operator');
    must(fullObjects, 'PrometheusRule', 'skillpod-operator');
    must(fullObjects, 'ConfigMap', 'skillpod-dashboards');
    expect(operatorContainer(fullObjects).args).toEqual(expect.arrayContaining(['--metrics-secure=true']));
    expect(find(await render(), 'PodDisruptionBudget', 'skillpod-operator'), 'no PDB for one replica').toBeUndefined();
  });

  it('follows the release namespace: nothing names skillpod-system when installed elsewhere', async () => {
    const text = await helmOk(['template', RELEASE, chartDir, '-n', 'agents-platform', ...full]);
    expect(text).not.toContain('skillpod-system');
    const objects = parseObjects(text);
    for (const o of objects) {
      // The one exception: reading the API server's own EndpointSlice `default/kubernetes` (operator-rbac.yaml).
      const apiServerEndpoints = o.metadata.namespace === 'default' && o.metadata.name === 'skillpod-operator-apiserver-endpoints';
      if (o.metadata.namespace !== undefined && !apiServerEndpoints) expect(o.metadata.namespace, describeObject(o)).toBe('agents-platform');
    }
    const bounds = JSON.stringify(must(objects, 'ValidatingAdmissionPolicy', 'skillpod-operator-bounds'));
    expect(bounds).toContain('system:serviceaccount:agents-platform:skillpod-operator');
    expect(loadSettings(operatorContainer(objects).args ?? [], {}).operatorNamespace).toBe('agents-platform');
  });

  it('renders the SkillPacks whatever the cluster serves (the CRDs come first from crds/); renderBeforeCRDs is accepted and changes nothing', async () => {
    expect(packNames(await render())).toEqual(['helm', 'http-fetch', 'kube-inspector']);
    expect(packNames(await render(SKILLPACK_API))).toEqual(['helm', 'http-fetch', 'kube-inspector']);
    expect(await helmOk(['template', RELEASE, chartDir, '-n', NAMESPACE, '--set', 'skillPacks.renderBeforeCRDs=true']))
      .toBe(await helmOk(['template', RELEASE, chartDir, '-n', NAMESPACE]));
    expect(packNames(await render(full))).toEqual(['helm', 'kube-inspector', 'kube-operator']);
    const objects = await render(['--set', 'skillPacks.install=false', ...SKILLPACK_API]);
    expect(packNames(objects)).toEqual([]);
    expect(objects.filter((o) => o.metadata.name.startsWith('skillpod:use:'))).toEqual([]);
    const fullObjects = await render(full);
    expect(must(fullObjects, 'ClusterRole', 'skillpod:use:kube-inspector').metadata.labels).toMatchObject({ 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' });
    expect(must(fullObjects, 'ClusterRole', 'skillpod:use:kube-operator').metadata.labels?.['rbac.authorization.k8s.io/aggregate-to-edit']).toBeUndefined();
    const noPolicies = await render(['--set', 'admissionPolicies.enabled=false']);
    expect(noPolicies.filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy'))).toEqual([]);
  });

  it('renders with the values of the Argo CD Applications in argocd/applications/: packs included, CRDs from their own Application, no Helm test pod', async () => {
    const app = parse(readFileSync(join(repoRoot, 'argocd/applications/skillpod.yaml'), 'utf8')) as
      { spec: { source: { path: string; helm: { valuesObject: object; skipCrds?: boolean } }; destination: { namespace: string } } };
    expect(app.spec.source.path).toBe('helm/skillpod');
    expect(app.spec.source.helm.skipCrds, 'the CRDs come from the skillpod-crds Application').toBe(true);
    const crdsApp = parse(readFileSync(join(repoRoot, 'argocd/applications/skillpod-crds.yaml'), 'utf8')) as
      { metadata: { annotations: Record<string, string> }; spec: { source: { path: string }; syncPolicy: { automated: { prune: boolean } } } };
    expect(crdsApp.spec.source.path).toBe('helm/skillpod-crds');
    expect(crdsApp.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('-1');
    expect(crdsApp.spec.syncPolicy.automated.prune).toBe(false);
    const valuesFile = join(mkdtempSync(join(tmpdir(), 'argocd-values-')), 'values.yaml');
    writeFileSync(valuesFile, stringify(app.spec.source.helm.valuesObject));
    const objects = await render(['-f', valuesFile], app.spec.destination.namespace);
    expect(packNames(objects)).toEqual(['helm', 'http-fetch', 'kube-inspector']);
    for (const p of objects.filter((o) => o.kind === 'SkillPack')) {
      expect(p.metadata.annotations).toMatchObject({ 'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true', 'argocd.argoproj.io/sync-wave': '1' });
    }
    expect(objects.filter((o) => o.kind === 'CustomResourceDefinition')).toEqual([]);
    const crds = parseObjects(await helmOk(['template', 'skillpod-crds', crdsChartDir, '-n', app.spec.destination.namespace]));
    expect(crds.map((o) => o.metadata.name).sort()).toEqual(['agentruns.skillpod.io', 'skillpacks.skillpod.io']);
    for (const crd of crds) {
      expect(crd.metadata.annotations?.['argocd.argoproj.io/sync-options']).toBe('Delete=false,ServerSideApply=true');
    }
    expect(objects.filter((o) => o.kind === 'Pod')).toEqual([]);
  });

  it('renders the local test node\'s adaptations only when asked (testNode, for make demo): the operator\'s pod in the host network with loopback probes and API server, the bounds binding leaving out labelled namespaces, and nothing that changes run pods', async () => {
    const plain = await render();
    expect(podSpecOf(must(plain, 'Deployment', 'skillpod-operator')).hostNetwork).toBeUndefined();
    expect(JSON.stringify(plain)).not.toContain('test-node-host-network');
    const objects = await render(['--set', 'testNode.enabled=true', '--set', 'testNode.apiServer=127.0.0.1:6443', '--set', 'service.port=18080']);
    const pod = podSpecOf(must(objects, 'Deployment', 'skillpod-operator'));
    expect(pod.hostNetwork).toBe(true);
    const container = operatorContainer(objects);
    const settings = loadSettings(container.args ?? [], {});
    expect(settings).toMatchObject({ serverBindAddress: '127.0.0.1:18080' });
    // Run pods are the test node's business (test/harness/node-host-network.ts): the operator is told nothing of it.
    const plainArgs = operatorContainer(plain).args ?? [];
    expect((container.args ?? []).filter((a) => !plainArgs.includes(a))).toEqual(['--server-bind-address=127.0.0.1:18080']);
    expect(container.env).toEqual(expect.arrayContaining([{ name: 'KUBERNETES_SERVICE_HOST', value: '127.0.0.1' }, { name: 'KUBERNETES_SERVICE_PORT', value: '6443' }]));
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) expect(container[probe]).toMatchObject({ httpGet: { host: '127.0.0.1' } });
    const binding = must(objects, 'ValidatingAdmissionPolicyBinding', 'skillpod-operator-bounds').spec as { matchResources: object };
    expect(binding.matchResources).toEqual({ namespaceSelector: { matchExpressions: [{ key: 'skillpod.io/test-node-host-network', operator: 'DoesNotExist' }] } });
    const missing = await helm(['template', RELEASE, chartDir, '--set', 'testNode.enabled=true']);
    expect(missing.stderr).toContain('testNode.enabled needs testNode.apiServer');
    const remote = await helm(['template', RELEASE, chartDir, '--set', 'testNode.enabled=true', '--set', 'testNode.apiServer=10.0.0.1:443']);
    expect(remote.stderr).toContain('/testNode/apiServer');
  });

  it.each([
    { name: 'an unknown key', args: ['--set', 'replica=2'], error: "additional properties 'replica' not allowed" },
    { name: 'two replicas without leader election', args: ['--set', 'replicas=2'], error: '/leaderElection/enabled' },
    { name: 'root', args: ['--set', 'runAsUser=0'], error: '/runAsUser' },
    { name: 'the agent and the sidecars under one UID', args: ['--set', 'operator.agentUid=65533'], error: 'operator.agentUid and operator.sidecarUid must differ' },
    { name: 'a privileged port', args: ['--set', 'service.port=80'], error: '/service/port' },
    { name: 'a bad log level', args: ['--set', 'operator.logLevel=loud'], error: '/operator/logLevel' },
    { name: 'a burst of no request', args: ['--set', 'operator.apiBurst=0'], error: '/operator/apiBurst' },
    { name: 'a bad digest', args: ['--set', 'image.digest=sha256:abc'], error: '/image/digest' },
    { name: 'a bad quantity', args: ['--set', 'resources.limits.memory=lots'], error: '/resources/limits/memory' },
    { name: 'a never-grantable verb', args: ['--set', 'grantPolicy.clusterRules[0].apiGroups[0]=rbac.authorization.k8s.io',
      '--set', 'grantPolicy.clusterRules[0].resources[0]=clusterroles', '--set', 'grantPolicy.clusterRules[0].verbs[0]=escalate'], error: '/grantPolicy/clusterRules/0/verbs/0' },
    { name: 'a never-grantable resource', args: ['--set', 'grantPolicy.clusterRules[0].apiGroups[0]=',
      '--set', 'grantPolicy.clusterRules[0].resources[0]=serviceaccounts/token', '--set', 'grantPolicy.clusterRules[0].verbs[0]=create'], error: '/grantPolicy/clusterRules/0/resources/0' },
    { name: 'leaving out the operator RBAC', args: ['--set', 'files.exclude={operator-rbac.yaml}'], error: '/files/exclude/0' },
    { name: 'an unknown built-in pack', args: ['--set', 'skillPacks.exclude={kubectl}'], error: '"kubectl" is not a built-in SkillPack' },
    { name: 'an unknown optional pack', args: ['--set', 'skillPacks.optional={kubectl}'], error: '"kubectl" is not an optional SkillPack' },
    { name: 'a pack beyond the grant policy', args: ['--set', 'skillPacks.optional={kube-operator}', ...SKILLPACK_API],
      error: 'SkillPack kube-operator: spec.rbac.rules[2] asks for patch on deployments.apps, which grantPolicy.rules does not allow' },
  ])('refuses $name', async ({ args, error }) => {
    const result = await helm(['template', RELEASE, chartDir, '-n', NAMESPACE, ...args]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(error);
  });
});

describe('chart: on the control plane', () => {
  const kc = testCluster.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  let dryRunNamespace: string;
  const serviceMonitorCrd = {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'servicemonitors.monitoring.coreos.com' },
    spec: { group: 'monitoring.coreos.com', scope: 'Namespaced', names: { kind: 'ServiceMonitor', plural: 'servicemonitors', singular: 'servicemonitor', listKind: 'ServiceMonitorList' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object',
      properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } } }] },
  };

  const prometheusRuleCrd = {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'prometheusrules.monitoring.coreos.com' },
    spec: { group: 'monitoring.coreos.com', scope: 'Namespaced', names: { kind: 'PrometheusRule', plural: 'prometheusrules', singular: 'prometheusrule', listKind: 'PrometheusRuleList' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object',
      properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } } }] },
  };

  beforeAll(async () => {
    // What `make install` applies, whatever earlier test files left: the release below adopts it
    // (--take-ownership), which must work for a cluster set up with make install (server-side apply as two field
    // managers: see operator/src/policy/match-constraints.ts). The CRDs are then served for the dry run too.
    await install(kc, { root: repoRoot });
    // A stand-in for the Prometheus Operator's CRD (preserve-unknown-fields): the ServiceMonitor is only rendered
    // when asked for, and needs its kind to exist.
    await ext.createCustomResourceDefinition({ body: serviceMonitorCrd }).catch(() => undefined);
    await ext.createCustomResourceDefinition({ body: prometheusRuleCrd }).catch(() => undefined);
    await waitForCrds(kc, [serviceMonitorCrd.metadata.name, prometheusRuleCrd.metadata.name]);
    dryRunNamespace = await testCluster.createNamespace('chart-dry-run', { 'pod-security.kubernetes.io/enforce': 'restricted' });
  });

  afterAll(async () => {
    // The release goes even when a test stopped half-way: files after this one expect make install's objects (the
    // release's widened grant policy would leak into them), and install them again where they need them.
    await helm(['uninstall', RELEASE, '-n', NAMESPACE, '--wait', '--ignore-not-found']);
    await testCluster.deleteNamespace(dryRunNamespace);
    await ext.deleteCustomResourceDefinition({ name: serviceMonitorCrd.metadata.name }).catch(() => undefined);
    await ext.deleteCustomResourceDefinition({ name: prometheusRuleCrd.metadata.name }).catch(() => undefined);
  });

  it('accepts every rendered object in a server-side dry run, the test pod and the operator pod within the restricted Pod Security level', async () => {
    for (const args of [[], full]) {
      const text = await helmOk(['template', RELEASE, chartDir, '-n', dryRunNamespace, '--include-crds', ...args]);
      const objects = parseObjects(text);
      expect(objects.some((o) => o.kind === 'Pod'), 'the helm test pod is part of the dry run').toBe(true);
      // Every switch widens the grant policy for the kube-operator pack. A dry run stores nothing, so the pack meets
      // the admission policy installed (the default one), not the widened one rendered beside it: that one stands
      // aside meanwhile (a real install applies the policy first, then the pack: docs/recipes.md).
      const restore = args === full ? await unenforceGrantPolicy() : undefined;
      try {
        await eventually(async () => {
          const result = await kubectl(['apply', '--server-side', '--dry-run=server', '--force-conflicts', '--field-manager=chart-dry-run', '-f', '-'], { input: text });
          expect(result.stderr, result.stdout).toBe('');
          expect(result.code).toBe(0);
          const applied = result.stdout.trim().split('\n');
          expect(applied).toHaveLength(objects.length);
          for (const line of applied) expect(line).toMatch(/serverside-applied \(server dry run\)$/);
        }, 20_000);
      } finally {
        await restore?.();
      }
    }
  });

  it('installs in one command over make install (adopting what it applied), upgrades, and uninstalls while keeping the CRDs', async () => {
    const existing = async (manifest: string) => {
      const result = await kubectl(['get', '-f', '-', '-o', 'name'], { input: manifest });
      expect(result.stderr).toBe('');
      return result.stdout.trim().split('\n').sort();
    };
    const kinds = (manifest: string) => parseObjects(manifest).map((o) => `${o.kind}/${o.metadata.name}`);

    // Install over what make install applied (beforeAll), as docs/operations.md says: one plain command. make install
    // writes Helm's ownership metadata (release skillpod in skillpod-system) and applies server-side as Helm's own
    // field manager, so Helm adopts every object without --take-ownership and no field is in conflict.
    await helmOk(['install', RELEASE, chartDir, '-n', NAMESPACE, '--create-namespace']);
    let manifest = await helmOk(['get', 'manifest', RELEASE, '-n', NAMESPACE]);
    expect(kinds(manifest)).toEqual(expect.arrayContaining(['Deployment/skillpod-operator', 'SkillPack/kube-inspector', 'SkillPack/helm',
      'SkillPack/http-fetch', 'ValidatingAdmissionPolicy/skillpod-skillpack-grant-policy', 'ClusterRole/skillpod-operator-grantable']));
    expect(await existing(manifest)).toHaveLength(parseObjects(manifest).length);
    // And make install again over the release: still one owner, nothing changes hands.
    await install(kc, { root: repoRoot });
    expect((await helm(['status', RELEASE, '-n', NAMESPACE])).stdout).toContain('STATUS: deployed');

    // Upgrade with the same values: nothing to do, still everything there.
    await helmOk(['upgrade', RELEASE, chartDir, '-n', NAMESPACE, '--reuse-values']);
    manifest = await helmOk(['get', 'manifest', RELEASE, '-n', NAMESPACE]);
    expect(await existing(manifest)).toHaveLength(parseObjects(manifest).length);

    // Upgrade with every switch: two replicas with leader election, a PDB, a ServiceMonitor, the kube-operator
    // pack, http-fetch left out. As docs/recipes.md says: the grant policy entries first (Helm applies SkillPacks
    // before admission policies), then the pack.
    await helmOk(['upgrade', RELEASE, chartDir, '-n', NAMESPACE, ...full, '--set', 'skillPacks.optional=null']);
    // The API server acts on the widened admission policy a moment later; the recipe waits for it the same way.
    await eventually(async () => {
      const dryRun = await kubectl(['create', '--dry-run=server', '-f', join(repoRoot, 'skillpacks/optional/kube-operator.yaml')]);
      expect(dryRun.stderr).toBe('');
    }, 20_000);
    await helmOk(['upgrade', RELEASE, chartDir, '-n', NAMESPACE, ...full]);
    manifest = await helmOk(['get', 'manifest', RELEASE, '-n', NAMESPACE]);
    expect(kinds(manifest)).toEqual(expect.arrayContaining(['PodDisruptionBudget/skillpod-operator', 'ServiceMonitor/skillpod-operator', 'SkillPack/kube-operator',
      'PrometheusRule/skillpod-operator', 'ConfigMap/skillpod-dashboards', 'ClusterRoleBinding/skillpod-operator-metrics-auth']));
    expect(kinds(manifest)).not.toContain('SkillPack/http-fetch');
    expect(await existing(manifest)).toHaveLength(parseObjects(manifest).length);
    expect(await statusCode(kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: NAMESPACE, name: 'skillpod-grant-policy' }))).toBe(200);
    const gone = await kubectl(['get', 'skillpack', 'http-fetch', '-o', 'name']);
    expect(gone.stderr).toContain('NotFound');

    // Back to the defaults, then uninstall: the CRDs stay (Helm never deletes a chart's crds/), the rest goes.
    await helmOk(['upgrade', RELEASE, chartDir, '-n', NAMESPACE, '--reset-values']);
    await helmOk(['uninstall', RELEASE, '-n', NAMESPACE, '--wait']);
    for (const name of ['agentruns.skillpod.io', 'skillpacks.skillpod.io']) {
      expect(await statusCode(ext.readCustomResourceDefinition({ name })), name).toBe(200);
    }
    expect(await statusCode(core.readNamespacedServiceAccount({ namespace: NAMESPACE, name: 'skillpod-operator' }))).toBe(404);
    expect((await kubectl(['get', 'deployment', 'skillpod-operator', '-n', NAMESPACE])).stderr).toContain('NotFound');
    expect((await kubectl(['get', 'skillpack', 'kube-inspector'])).stderr).toContain('NotFound');
  });
  it('installs in one command on a control plane without any of it: CRDs, operator, policies and built-in SkillPacks at once', async () => {
    // Fresh: no release, and no CRDs (deleting them deletes every AgentRun and SkillPack).
    await helm(['uninstall', RELEASE, '-n', NAMESPACE, '--wait', '--ignore-not-found']);
    for (const name of ['agentruns.skillpod.io', 'skillpacks.skillpod.io']) await ext.deleteCustomResourceDefinition({ name }).catch(() => undefined);
    await eventually(async () => {
      for (const name of ['agentruns.skillpod.io', 'skillpacks.skillpod.io']) expect(await statusCode(ext.readCustomResourceDefinition({ name })), name).toBe(404);
    }, 60_000);
    const out = await helmOk(['install', RELEASE, chartDir, '-n', NAMESPACE, '--create-namespace']);
    expect(out).not.toContain('NEXT STEP');
    const manifest = parseObjects(await helmOk(['get', 'manifest', RELEASE, '-n', NAMESPACE]));
    expect(packNames(manifest)).toEqual(['helm', 'http-fetch', 'kube-inspector']);
    const listed = await kubectl(['get', 'skillpacks', '-o', 'name']);
    expect(listed.stderr).toBe('');
    expect(listed.stdout.trim().split('\n').sort()).toEqual(['skillpack.skillpod.io/helm', 'skillpack.skillpod.io/http-fetch', 'skillpack.skillpod.io/kube-inspector']);
    for (const kind of ['deployment/skillpod-operator', 'validatingadmissionpolicy/skillpod-skillpack-grant-policy', 'configmap/skillpod-grant-policy']) {
      const got = await kubectl(['get', kind, '-n', NAMESPACE, '-o', 'name']);
      expect(got.stderr, kind).toBe('');
    }
    await helmOk(['uninstall', RELEASE, '-n', NAMESPACE, '--wait']);
    // make install over what is left (the CRDs) works as before: the files after this one rely on it.
    await install(kc, { root: repoRoot });
  });
});
