// The Skillpod API (skillpod.io/v1alpha1): zod schemas are the single source of truth; the CRDs in crds/ and
// docs/api.md are generated from them (operator/scripts/gen-crds.ts).
export * from './constants.ts';
export * from './conditions.ts';
export * from './meta.ts';
export * from './core.ts';
export * from './skillpack.ts';
export * from './agentrun.ts';
export * from './parse.ts';
export { re2Problem, isQualifiedName } from './formats.ts';
export { isCIDR, containsCIDR } from './cidr.ts';
