// Container resources: what the pack or the run asks for, completed from the operator's defaults so that every
// container has requests and limits (a namespace with a ResourceQuota refuses pods without them).
import type { V1ResourceRequirements } from '@kubernetes/client-node';

type Quantity = string | number;
type ResourceMap = Readonly<Record<string, Quantity | undefined>>;
export interface ResourcesLike {
  requests?: ResourceMap | undefined;
  limits?: ResourceMap | undefined;
}

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** A Kubernetes quantity as a number, close enough to compare two of them; NaN when it does not parse. */
export function quantityValue(q: Quantity): number {
  if (typeof q === 'number') return q;
  const m = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$/.exec(q);
  if (!m) return NaN;
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  if (suffix in BINARY) return n * (BINARY[suffix] ?? 1);
  if (suffix in DECIMAL) return n * (DECIMAL[suffix] ?? 1);
  return n * 10 ** Number(suffix.slice(1));
}

/**
 * Per resource name: both given → as given; only a request → the default limit, raised to the request if lower;
 * only a limit → the default request, lowered to the limit if higher; neither → the defaults. Names the defaults
 * do not know (extended resources) pass through as given.
 */
export function mergeResources(given: ResourcesLike | undefined, defaults: ResourcesLike): V1ResourceRequirements {
  const names = new Set([
    ...Object.keys(given?.requests ?? {}),
    ...Object.keys(given?.limits ?? {}),
    ...Object.keys(defaults.requests ?? {}),
    ...Object.keys(defaults.limits ?? {}),
  ]);
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  for (const name of [...names].sort()) {
    const req = given?.requests?.[name];
    const lim = given?.limits?.[name];
    const dreq = defaults.requests?.[name];
    const dlim = defaults.limits?.[name];
    let r: Quantity | undefined = req ?? dreq;
    let l: Quantity | undefined = lim ?? dlim;
    if (req !== undefined && lim === undefined && dlim !== undefined && quantityValue(dlim) < quantityValue(req)) l = req;
    if (lim !== undefined && req === undefined && (dreq === undefined || quantityValue(dreq) > quantityValue(lim))) r = lim;
    if (r !== undefined) requests[name] = String(r);
    if (l !== undefined) limits[name] = String(l);
  }
  const out: V1ResourceRequirements = {};
  if (Object.keys(limits).length > 0) out.limits = limits;
  if (Object.keys(requests).length > 0) out.requests = requests;
  return out;
}

/** The executor install container copies one static binary: small and fixed. */
export const INSTALL_RESOURCES: V1ResourceRequirements = {
  limits: { cpu: '100m', memory: '64Mi' },
  requests: { cpu: '10m', memory: '16Mi' },
};
