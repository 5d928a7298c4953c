// Authentication and authorization of /metrics by the API server, as kubebuilder's secure metrics
// (controller-runtime's filters.WithAuthenticationAndAuthorization) and kube-rbac-proxy do: the caller's bearer
// token goes to a TokenReview; the user it names to a SubjectAccessReview for `get` on the non-resource URL
// /metrics (what the skillpod-metrics-reader ClusterRole grants). The operator needs `create` on both reviews
// (the system:auth-delegator ClusterRole). Answers are kept a short while per token, so a scrape every few seconds
// costs the API server nothing much; a denial is kept shorter than an approval.
import { createHash } from 'node:crypto';
import { ResourceClient } from './client.ts';
import type { KubeHttp } from './kube-http.ts';

export interface MetricsAccess {
  /** 200 served, 401 no or bad token, 403 authenticated but not allowed, 503 the API server could not say. */
  status: 200 | 401 | 403 | 503;
  user?: string;
  reason?: string;
}

export type MetricsAuthorizer = (authorization: string | undefined) => Promise<MetricsAccess>;

export interface MetricsAuthorizerOptions {
  path?: string;
  allowedTtlMs?: number;
  deniedTtlMs?: number;
  now?: () => number;
}

interface TokenReview {
  status?: { authenticated?: boolean; error?: string; user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> } };
}
interface SubjectAccessReview { status?: { allowed?: boolean; denied?: boolean; reason?: string } }

export function kubeMetricsAuthorizer(http: Pick<KubeHttp, 'request'>, options: MetricsAuthorizerOptions = {}): MetricsAuthorizer {
  const path = options.path ?? '/metrics';
  const now = options.now ?? Date.now;
  const allowedTtl = options.allowedTtlMs ?? 60_000;
  const deniedTtl = options.deniedTtlMs ?? 10_000;
  const cache = new Map<string, { access: MetricsAccess; until: number }>();
  const client = new ResourceClient(http);

  const review = async (token: string): Promise<MetricsAccess> => {
    const tr = await client.create<TokenReview>({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } });
    const user = tr.status?.user;
    if (!tr.status?.authenticated || !user?.username) return { status: 401, reason: 'token not authenticated' };
    const sar = await client.create<SubjectAccessReview>({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: {
      user: user.username, uid: user.uid, groups: user.groups, extra: user.extra, nonResourceAttributes: { path, verb: 'get' },
    } });
    return sar.status?.allowed
      ? { status: 200, user: user.username }
      : { status: 403, user: user.username, reason: `${user.username} may not get ${path}${sar.status?.reason ? `: ${sar.status.reason}` : ''}` };
  };

  return async (authorization) => {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!token) return { status: 401, reason: 'a bearer token is required' };
    const key = createHash('sha256').update(token).digest('hex');
    const t = now();
    const hit = cache.get(key);
    if (hit && hit.until > t) return hit.access;
    let access: MetricsAccess;
    try {
      access = await review(token);
    } catch (err) {
      return { status: 503, reason: `the API server could not review the token: ${(err as Error).message}` };
    }
    if (cache.size >= 1024) for (const [k, v] of cache) if (v.until <= t || cache.size >= 1024) cache.delete(k);
    cache.set(key, { access, until: t + (access.status === 200 ? allowedTtl : deniedTtl) });
    return access;
  };
}
