// The test node has no pod network (docs/testing.md, "The node"): only pods in the host network run there, and from
// the host network the `kubernetes` Service (10.0.0.1, blackholed) is out of reach. Run pods are made for real
// clusters and know nothing of this. The harness adapts them at admission instead, with a MutatingAdmissionPolicy
// it installs when it starts a node (test/harness/node.ts), never present in a cluster without the test node:
//   - every pod labelled app.kubernetes.io/managed-by=skillpod (a run's pod) joins the host network;
//   - every container and init container gets KUBERNETES_SERVICE_HOST/PORT = the API server on loopback, so kubectl
//     and client libraries in the sidecars find it (an explicit env entry wins over the kubelet's Service variables).
// Mutating admission runs before validating admission, so such pods still meet Pod Security and the operator-bounds
// policy, which refuse the host network: the suites and `make demo` use namespaces that allow it (docs/testing.md).

/** The name of the policy and of its binding. */
export const HOST_NETWORK_POLICY = 'skillpod-test-node-host-network';
/** The pods it changes: those the operator creates for runs. */
export const HOST_NETWORK_SELECTOR = { 'app.kubernetes.io/managed-by': 'skillpod' };

/** The MutatingAdmissionPolicy (admissionregistration.k8s.io/v1, GA and on by default in Kubernetes 1.36) and its binding. */
export function hostNetworkPolicy(apiHost: string, apiPort: number): [object, object] {
  const env = (list: string) => `[Object.spec.${list}.env{name: "KUBERNETES_SERVICE_HOST", value: ${JSON.stringify(apiHost)}}, ` +
    `Object.spec.${list}.env{name: "KUBERNETES_SERVICE_PORT", value: "${apiPort}"}]`;
  const expression = [
    'Object{spec: Object.spec{',
    '  hostNetwork: true,',
    `  containers: object.spec.containers.map(c, Object.spec.containers{name: c.name, env: ${env('containers')}}),`,
    `  initContainers: object.spec.?initContainers.orValue([]).map(c, Object.spec.initContainers{name: c.name, env: ${env('initContainers')}})`,
    '}}',
  ].join('\n');
  const policy = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingAdmissionPolicy',
    metadata: { name: HOST_NETWORK_POLICY, labels: { 'app.kubernetes.io/part-of': 'skillpod-test-node' } },
    spec: {
      failurePolicy: 'Fail',
      reinvocationPolicy: 'Never',
      matchConstraints: {
        resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
        objectSelector: { matchLabels: HOST_NETWORK_SELECTOR },
      },
      mutations: [{ patchType: 'ApplyConfiguration', applyConfiguration: { expression } }],
    },
  };
  const binding = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingAdmissionPolicyBinding',
    metadata: { name: HOST_NETWORK_POLICY, labels: { 'app.kubernetes.io/part-of': 'skillpod-test-node' } },
    spec: { policyName: HOST_NETWORK_POLICY },
  };
  return [policy, binding];
}

/** A pod to send as a server-side dry run: once the policy acts, the answer is in the host network. */
export function hostNetworkProbePod(): object {
  const container = (name: string) => ({ name, image: 'skillpod.local/none:v0' });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'host-network-probe', labels: HOST_NETWORK_SELECTOR },
    spec: { automountServiceAccountToken: false, initContainers: [container('init')], containers: [container('main')] },
  };
}

/** Whether a pod (the dry run's answer) carries the policy's changes for this API server. */
export function adaptedForHostNetwork(pod: unknown, apiHost: string, apiPort: number): boolean {
  const spec = (pod as { spec?: { hostNetwork?: boolean; containers?: unknown[]; initContainers?: unknown[] } }).spec;
  const containers = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])] as { env?: { name: string; value?: string }[] }[];
  const has = (c: (typeof containers)[number], name: string, value: string) => (c.env ?? []).some((e) => e.name === name && e.value === value);
  return spec?.hostNetwork === true && containers.length > 0 &&
    containers.every((c) => has(c, 'KUBERNETES_SERVICE_HOST', apiHost) && has(c, 'KUBERNETES_SERVICE_PORT', String(apiPort)));
}
