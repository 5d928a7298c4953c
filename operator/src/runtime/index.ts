/** The generic controller runtime: import from here. Nothing in it knows about AgentRuns or SkillPacks. */
export * from './backoff.ts';
export * from './cache.ts';
export * from './clock.ts';
export * from './controller.ts';
export * from './errors.ts';
export * from './informer.ts';
export * from './kube-http.ts';
export * from './leader.ts';
export * from './logger.ts';
export * from './manager.ts';
export * from './metrics.ts';
export * from './queue.ts';
export * from './recent.ts';
export * from './rate-limit.ts';
export * from './resource.ts';
export * from './server.ts';
