// Secure metrics (--metrics-secure, chart metrics.secure): /metrics over HTTPS on its own port, served only to a
// caller whose token the API server authenticates (TokenReview) and who may `get` /metrics (SubjectAccessReview),
// i.e. holds the chart's skillpod-metrics-reader ClusterRole. The operator runs under its own ServiceAccount with
// the chart's metrics RBAC (system:auth-delegator) applied from the rendered template.
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { startOperator, installSkillpod, type TestOperator } from '../harness/operator.ts';
import { kubectl } from '../harness/kubectl.ts';
import { chartDir, helmOk } from './chart-support.ts';

const kc = testCluster.kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
let operator: TestOperator;
let ns: string;
let rendered: string;
let metricsUrl: string;
const insecure = new Agent({ connect: { rejectUnauthorized: false } });

async function tokenOf(name: string): Promise<string> {
  await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
  const t = await core.createNamespacedServiceAccountToken({ namespace: ns, name, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  return t.status?.token ?? '';
}
const get = (token?: string) => undiciFetch(`${metricsUrl}/metrics`, { dispatcher: insecure, ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) });

beforeAll(async () => {
  await installSkillpod();
  rendered = await helmOk(['template', 'skillpod', chartDir, '--namespace', 'skillpod-system', '--set', 'metrics.secure=true', '--show-only', 'templates/metrics-rbac.yaml']);
  const applied = await kubectl(['apply', '--server-side', '--field-manager=metrics-test', '-f', '-'], { input: rendered });
  expect(applied.stderr).toBe('');
  ns = await testCluster.createNamespace('metrics-secure');
  operator = await startOperator(['--metrics-bind-address', '127.0.0.1:0', '--metrics-secure', 'true']);
  metricsUrl = `https://127.0.0.1:${operator.manager.metricsServer!.address!.port}`;
});
afterAll(async () => {
  await operator?.stop();
  await kubectl(['delete', '--ignore-not-found', '-f', '-'], { input: rendered });
  await rbac.deleteClusterRoleBinding({ name: `metrics-reader-${ns}` }).catch(() => undefined);
  await testCluster.deleteNamespace(ns);
  await insecure.close();
});

describe('secure /metrics', () => {
  it('refuses a caller without a token, with a bad token, or without the reader role; serves one with it', async () => {
    expect((await get()).status).toBe(401);
    expect((await get('not-a-token')).status).toBe(401);

    const nobody = await tokenOf('nobody');
    const refused = await get(nobody);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain(`system:serviceaccount:${ns}:nobody may not get /metrics`);

    const reader = await tokenOf('reader');
    await rbac.createClusterRoleBinding({ body: { metadata: { name: `metrics-reader-${ns}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'skillpod-metrics-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }] } });
    // The authorizer's RBAC cache is a moment behind the binding.
    const served = await eventually(async () => {
      const res = await get(reader);
      expect(res.status).toBe(200);
      return await res.text();
    }, 30_000, 500);
    expect(served).toContain('# TYPE skillpod_agentruns gauge');
    expect(served).toContain('rest_client_requests_total{code="201",method="POST"');
    // The reviews themselves: the TokenReview and SubjectAccessReview the operator created.
    expect(served).toMatch(/rest_client_requests_total\{code="201",method="POST",host="[^"]+"\} [1-9]/);
    // Still refused for the one without the role (a denial is kept briefly, the answer is the same).
    expect((await get(nobody)).status).toBe(403);
  });

  it('serves HTTPS with a certificate for its address, and no /metrics on the plain probe port', async () => {
    const { port } = operator.manager.metricsServer!.address!;
    const cert = await new Promise<X509Certificate>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        resolve(new X509Certificate(socket.getPeerX509Certificate()!.raw));
        socket.end();
      });
      socket.on('error', reject);
    });
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect((await fetch(`${operator.url}/metrics`)).status).toBe(404);
    await eventually(async () => expect((await fetch(`${operator.url}/readyz`)).status).toBe(200));
    expect((await undiciFetch(`${metricsUrl}/readyz`, { dispatcher: insecure })).status).toBe(404);
  });

  it('refuses --metrics-secure without its own address', async () => {
    await expect(startOperator(['--metrics-secure', 'true'])).rejects.toThrow(/--metrics-secure .*needs --metrics-bind-address/);
  });
});
