import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiextensionsV1Api, CoreV1Api, KubernetesObjectApi, loadAllYaml, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { installOrder, renderedFromGrantPolicy } from './order.ts';
import { GRANT_POLICY_CONFIGMAP } from '../policy/configmap.ts';

/**
 * Helm's own field manager (Helm 4 applies server-side as `helm`): `make install` and `helm install`/`upgrade` of the
 * chart are then one owner of every field, so the chart installs over make install (and make install over the chart)
 * without a conflict, and a field one of them drops is removed. With withHelmOwnership below, Helm adopts the objects.
 */
export const INSTALL_FIELD_MANAGER = 'helm';

/**
 * Every YAML document in the files of `dir` whose names end in .yaml, in name order, as client-node's typed
 * models: KubernetesObjectApi.patch serializes through those models, and a plain object loses every field the
 * model does not know by its TypeScript name (a CRD's `default` and `x-kubernetes-validations`, for one).
 */
export async function readManifests(dir: string): Promise<KubernetesObject[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  const objects: KubernetesObject[] = [];
  for (const file of files) {
    try {
      objects.push(...(loadAllYaml(await readFile(join(dir, file), 'utf8')) as Array<KubernetesObject | null>).filter((o) => o !== null));
    } catch (err) {
      throw new Error(`${join(dir, file)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
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
  // In place: the objects are client-node's typed models, whose serializer drops what a plain copy would lose.
  if (object.kind === 'Namespace') return object;
  const release = object.kind === 'CustomResourceDefinition' ? HELM_CRDS_RELEASE : HELM_RELEASE;
  object.metadata ??= {};
  object.metadata.labels = { ...object.metadata.labels, 'app.kubernetes.io/managed-by': 'Helm' };
  object.metadata.annotations = { ...object.metadata.annotations, 'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': HELM_NAMESPACE };
  return object;
}

/** Server-side apply under one field manager: re-running is a no-op, and a changed manifest wins. */
export async function applyObjects(kc: KubeConfig, objects: KubernetesObject[]): Promise<void> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  for (const original of objects) {
    const object = withHelmOwnership(original);
    try {
      await client.patch(object, undefined, undefined, INSTALL_FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    } catch (err) {
      const body = (err as { body?: unknown }).body;
      throw new Error(`applying ${object.kind} ${object.metadata?.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata?.name}: ${typeof body === 'string' ? body : String(err)}`, { cause: err });
    }
  }
}

/** CRDs must be Established before objects of their kinds can be applied. */
export async function waitForCrds(kc: KubeConfig, names: string[], timeoutMs = 60_000): Promise<void> {
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await ext.readCustomResourceDefinition({ name });
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
export async function install(kc: KubeConfig, options: InstallOptions): Promise<KubernetesObject[]> {
  const crds = await readManifests(join(options.root, 'crds'));
  await applyObjects(kc, crds);
  await waitForCrds(kc, crds.map((c) => c.metadata?.name ?? ''));
  const files = installOrder(await readManifests(join(options.root, 'helm/skillpod/files')));
  const isPolicy = (o: KubernetesObject) => o.kind?.startsWith('ValidatingAdmissionPolicy') ?? false;
  await applyObjects(kc, files.filter((o) => !isPolicy(o)));
  const rendered = await renderFromGrantPolicy(kc, files);
  const policies = files.filter(isPolicy).map((o) => rendered.find((r) => r.kind === o.kind && r.metadata?.name === o.metadata?.name) ?? o);
  const grantable = rendered.filter((r) => !isPolicy(r));
  await applyObjects(kc, [...grantable, ...policies]);
  const packs = options.skillPacks === false ? [] : await readManifests(join(options.root, 'skillpacks')).catch(() => []);
  await applyObjects(kc, packs);
  return [...crds, ...files.filter((o) => !isPolicy(o)), ...grantable, ...policies, ...packs];
}

/** What is rendered from the live grant policy; a policy with mistakes fails the install. */
async function renderFromGrantPolicy(kc: KubeConfig, files: KubernetesObject[]): Promise<KubernetesObject[]> {
  const policyObject = files.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === GRANT_POLICY_CONFIGMAP);
  const namespace = policyObject?.metadata?.namespace;
  if (!namespace) throw new Error(`helm/skillpod/files holds no ConfigMap ${GRANT_POLICY_CONFIGMAP}`);
  const live = await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace, name: GRANT_POLICY_CONFIGMAP });
  const { objects, problems } = renderedFromGrantPolicy(live.data, files);
  if (problems.length > 0) throw new Error(`grant policy ${namespace}/${GRANT_POLICY_CONFIGMAP}: ${problems.join('; ')}`);
  return objects;
}
