import { LIMITS } from '../api/index.ts';

/**
 * The agent's termination message, cut to what status.result holds. Kubernetes already caps one message at
 * 4096 bytes (12 KiB for all containers of a pod); this cuts on a character boundary and says so.
 */
export function truncateResult(message: string, max: number = LIMITS.resultMax): { result: string; truncated: boolean } {
  if (message.length <= max) return { result: message, truncated: false };
  return { result: message.slice(0, max), truncated: true };
}
