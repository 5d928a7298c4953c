import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { API_VERSION, SKILLPACK } from '../api/constants.ts';
import { ResourceClient, type ObjectBody } from '../runtime/client.ts';
import { KubeHttp } from '../runtime/kube-http.ts';
import type { KubeConfigSource } from '../runtime/kubeconfig.ts';
import { customResourceType } from '../runtime/resource.ts';
import { installOrder, renderedFromGrantPolicy } from './order.ts';
import { GRANT_POLICY_CONFIGMAP } from '../policy/configmap.ts';

/**
 * Helm's own field manager (Helm 4 applies server-side as `helm`): `make install` and `helm install`/`upgrade` of the
 * chart are then one owner of every field, so the chart installs over make install (and make install over the chart)
 * without a conflict, and a field one of them drops is removed. With withHelmOwnership below, Helm adopts the objects.
 */
export const INSTALL_FIELD_MANAGER = 'helm';

/**
 * Every YAML document in the files of `dir` whose names end in .yaml, in name order, as plain JSON objects: they
 * are applied as JSON, exactly as written (no client model in between to drop a field it does not know).
 */
export async function readManifests(dir: string): Promise<KubernetesObject[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  const objects: KubernetesObject[] = [];
  for (const file of files) {
    const path = join(dir, file);
    for (const doc of parseAllDocuments(await readFile(path, 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]!.message}`, { cause: doc.errors[0] });
      const object = doc.toJS() as KubernetesObject | null;
      if (object !== null) objects.push(object);
    }
  }
  return objects;
}

/** The Helm releases that own what `make install` applies: the CRDs `skillpod-crds`, everything else `skillpod`. */
export const HELM_RELEASE = 'skillpod';
export const HELM_CRDS_RELEASE = 'skillpod-crds';
export const HELM_NAMESPACE = 'skillpod-system';

/**
 * The metadata by which Helm adopts an existing object into a release (without --take-ownership): the label
 * app.kubernetes.io/managed-by=Helm and the release's name and namespace as annotations. `make install` writes them,
 * so `helm install skillpod helm/skillpod -n skillpod-system` (and `helm install skillpod-crds helm/skillpod-crds`)
 * over a cluster set up by make install owns those objects the way a chart install would. The Namespace is left out:
 * the chart leaves it to Helm's --create-namespace.
 */
export function withHelmOwnership(object: KubernetesObject): KubernetesObject {
  if (object.kind === 'Namespace') return object;
  const release = object.kind === 'CustomResourceDefinition' ? HELM_CRDS_RELEASE : HELM_RELEASE;
  object.metadata ??= {};
  object.metadata.labels = { ...object.metadata.labels, 'app.kubernetes.io/managed-by': 'Helm' };
  object.metadata.annotations = { ...object.metadata.annotations, 'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': HELM_NAMESPACE };
  return object;
}

/** The client install uses: its own connection, closed when `work` is done. */
async function withClient<T>(kc: KubeConfigSource, work: (client: ResourceClient) => Promise<T>): Promise<T> {
  const http = new KubeHttp(kc);
  try {
    return await work(new ResourceClient(http, { fieldManager: INSTALL_FIELD_MANAGER, types: INSTALLED_TYPES }));
  } finally {
    await http.close();
  }
}

/** The custom resources install applies (the built-in SkillPacks), beside the client's built-in kinds. */
const INSTALLED_TYPES = [customResourceType(API_VERSION, SKILLPACK)];

/** Server-side apply under one field manager: re-running is a no-op, and a changed manifest wins. */
export async function applyObjects(kc: KubeConfigSource, objects: KubernetesObject[]): Promise<void> {
  await withClient(kc, (client) => applyAll(client, objects));
}

async function applyAll(client: ResourceClient, objects: KubernetesObject[]): Promise<void> {
  for (const original of objects) {
    const object = withHelmOwnership(original);
    try {
      await client.apply(object as ObjectBody, { force: true });
    } catch (err) {
      const body = (err as { body?: unknown }).body;
      throw new Error(`applying ${object.kind} ${object.metadata?.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata?.name}: ${typeof body === 'string' ? body : String(err)}`, { cause: err });
    }
  }
}

interface Crd { status?: { conditions?: Array<{ type: string; status: string }> } }

/** CRDs must be Established before objects of their kinds can be applied. */
export async function waitForCrds(kc: KubeConfigSource, names: string[], timeoutMs = 60_000): Promise<void> {
  await withClient(kc, (client) => waitForEstablished(client, names, timeoutMs));
}

async function waitForEstablished(client: ResourceClient, names: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await client.get<Crd>({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' }, { name });
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established after ${timeoutMs / 1000}s`);
      await sleep(100);
    }
  }
}

export interface InstallOptions {
  /** The repository root, holding crds/, helm/skillpod/files/ and skillpacks/. */
  root: string;
  /** Apply the built-in SkillPacks too (default true). */
  skillPacks?: boolean;
}

/**
 * What `make install` applies: CRDs; then the operator's namespace, RBAC, grant policy and user roles (every file
 * in helm/skillpod/files, in Helm's kind order so the namespace comes first); then what is rendered from the grant
 * policy ConfigMap as it now is in the cluster (keys someone added there by hand included): the operator's
 * grantable ClusterRole and the SkillPack admission policy; then the other admission policies; then the built-in
 * SkillPacks. The Helm chart renders the same files and the same objects.
 */
export async function install(kc: KubeConfigSource, options: InstallOptions): Promise<KubernetesObject[]> {
  return await withClient(kc, async (client) => {
    const crds = await readManifests(join(options.root, 'crds'));
    await applyAll(client, crds);
    await waitForEstablished(client, crds.map((c) => c.metadata?.name ?? ''), 60_000);
    const files = installOrder(await readManifests(join(options.root, 'helm/skillpod/files')));
    const isPolicy = (o: KubernetesObject) => o.kind?.startsWith('ValidatingAdmissionPolicy') ?? false;
    await applyAll(client, files.filter((o) => !isPolicy(o)));
    const rendered = await renderFromGrantPolicy(client, files);
    const policies = files.filter(isPolicy).map((o) => rendered.find((r) => r.kind === o.kind && r.metadata?.name === o.metadata?.name) ?? o);
    const grantable = rendered.filter((r) => !isPolicy(r));
    await applyAll(client, [...grantable, ...policies]);
    const packs = options.skillPacks === false ? [] : await readManifests(join(options.root, 'skillpacks')).catch(() => []);
    await applyAll(client, packs);
    return [...crds, ...files.filter((o) => !isPolicy(o)), ...grantable, ...policies, ...packs];
  });
}

/** What is rendered from the live grant policy; a policy with mistakes fails the install. */
async function renderFromGrantPolicy(client: ResourceClient, files: KubernetesObject[]): Promise<KubernetesObject[]> {
  const policyObject = files.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === GRANT_POLICY_CONFIGMAP);
  const namespace = policyObject?.metadata?.namespace;
  if (!namespace) throw new Error(`helm/skillpod/files holds no ConfigMap ${GRANT_POLICY_CONFIGMAP}`);
  const live = await client.get<{ data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap' }, { namespace, name: GRANT_POLICY_CONFIGMAP });
  const { objects, problems } = renderedFromGrantPolicy(live.data, files);
  if (problems.length > 0) throw new Error(`grant policy ${namespace}/${GRANT_POLICY_CONFIGMAP}: ${problems.join('; ')}`);
  return objects;
}
