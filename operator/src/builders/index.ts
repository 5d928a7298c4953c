// Pure desired-state builders: render the objects of a run from decisions already made (what each skill holds:
// agentrun/decide/holdings.ts). No I/O, no clock, no decisions; agentrun/decide/render.ts composes them.

export * from './names.ts';
export * from './labels.ts';
export * from './owner.ts';
export * from './run.ts';
export * from './rules.ts';
export * from './egress.ts';
export * from './grants.ts';
export * from './rbac.ts';
export * from './network-policy.ts';
export * from './configmap.ts';
export * from './resources.ts';
export * from './security.ts';
export * from './pod-paths.ts';
export * from './pod.ts';
