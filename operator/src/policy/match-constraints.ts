// The matchConstraints of Skillpod's admission policies, with every field the API server would default written
// out. matchConstraints is an atomic struct, and kube-apiserver (1.36) compares a server-side apply's raw value of
// an atomic field with the defaulted live one: two field managers applying the very same manifest without the
// defaults conflict (`make install` as skillpod-install, then `helm install --take-ownership` as helm). With the
// defaults written, both apply what the server stores, and share the field.

export interface ResourceRule {
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  operations: string[];
}

export function matchConstraints(...rules: ResourceRule[]): object {
  return {
    matchPolicy: 'Equivalent',
    namespaceSelector: {},
    objectSelector: {},
    resourceRules: rules.map((r) => ({ ...r, scope: '*' })),
  };
}
