import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readManifests } from './apply.ts';
import { installOrder, operatorIdentity, renderedFromGrantPolicy } from './order.ts';

const files = resolve(import.meta.dirname, '../../../helm/skillpod/files');
const obj = (kind: string, name: string) => ({ apiVersion: 'v1', kind, metadata: { name } });

describe('installOrder', () => {
  it('puts the namespace first, parameters before policies before bindings, unknown kinds last, file order within a kind', () => {
    const sorted = installOrder([
      obj('ValidatingAdmissionPolicyBinding', 'b'), obj('Widget', 'w'), obj('ConfigMap', 'c1'), obj('ValidatingAdmissionPolicy', 'p'),
      obj('ClusterRole', 'r'), obj('Namespace', 'n'), obj('ConfigMap', 'c2'),
    ]);
    expect(sorted.map((o) => o.metadata.name)).toEqual(['n', 'c1', 'c2', 'r', 'p', 'b', 'w']);
  });

  it('orders the shipped files so that every namespaced object comes after its namespace', async () => {
    const sorted = installOrder(await readManifests(files));
    const namespaces = sorted.flatMap((o, i) => (o.kind === 'Namespace' ? [[o.metadata?.name, i] as const] : []));
    for (const [i, o] of sorted.entries()) {
      const ns = o.metadata?.namespace;
      if (ns) expect(namespaces.find(([name]) => name === ns)?.[1] ?? -1).toBeLessThan(i);
    }
  });
});

describe('renderedFromGrantPolicy', () => {
  it('renders the ClusterRole and the SkillPack admission policy from the policy, and binds the operator ServiceAccount', async () => {
    const installed = await readManifests(files);
    expect(operatorIdentity(installed)).toEqual({ namespace: 'skillpod-system', serviceAccount: 'skillpod-operator' });
    const { objects, problems } = renderedFromGrantPolicy({ pods: 'get', cluster_nodes: 'list', 'pods_exec': 'nonsense verb' }, installed);
    expect(problems).toEqual(["pods_exec: 'nonsense verb' is not a verb", 'pods_exec: no verbs']);
    expect(objects.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual(['ClusterRole/skillpod-operator-grantable', 'ClusterRoleBinding/skillpod-operator-grantable',
      'ValidatingAdmissionPolicy/skillpod-skillpack-grant-policy', 'ValidatingAdmissionPolicy/skillpod-operator-bounds',
      'ValidatingAdmissionPolicy/skillpod-agentrun-skillpack-use', 'ValidatingAdmissionPolicy/skillpod-agentrun-secret-references',
      'ValidatingAdmissionPolicy/skillpod-agentrun-configmap-references', 'ValidatingAdmissionPolicy/skillpod-agentrun-egress']);
    // The operator's bounds judge roles by the same allowlist.
    const boundsAllowed = (objects[3] as unknown as { spec: { variables: Array<{ name: string; expression: string }> } }).spec.variables.find((v) => v.name === 'allowed');
    expect(boundsAllowed?.expression).toBe("{'cluster_nodes': 'list', 'pods': 'get'}");
    const allowed = (objects[2] as unknown as { spec: { variables: Array<{ name: string; expression: string }> } }).spec.variables.find((v) => v.name === 'allowed');
    expect(allowed?.expression).toBe("{'cluster_nodes': 'list', 'pods': 'get'}");
    // In the order of the keys, as the chart renders it.
    expect((objects[0] as { rules?: unknown }).rules).toEqual([
      { apiGroups: [''], resources: ['nodes'], verbs: ['list'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
    ]);
  });
});
