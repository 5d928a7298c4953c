import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiextensionsV1Api, CoreV1Api, KubernetesObjectApi, loadAllYaml, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { installOrder, renderedFromGrantPolicy } from './order.ts';
import { GRANT_POLICY_CONFIGMAP } from '../policy/configmap.ts';

export const INSTALL_FIELD_MANAGER = 'skillpod-install';

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

/** Server-side apply under one field manager: re-running is a no-op, and a changed manifest wins. */
export async function applyObjects(kc: KubeConfig, objects: KubernetesObject[]): Promise<void> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  for (const object of objects) {
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
