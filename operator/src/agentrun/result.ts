import { LIMITS, type Usage } from '../api/index.ts';

/**
 * The agent's termination message, cut to what status.result holds. Kubernetes already caps one message at
 * 4096 bytes (12 KiB for all containers of a pod); this cuts on a character boundary and says so.
 */
export function truncateResult(message: string, max: number = LIMITS.resultMax): { result: string; truncated: boolean } {
  if (message.length <= max) return { result: message, truncated: false };
  return { result: message.slice(0, max), truncated: true };
}

/** The envelope's marker and version: `{"skillpod":"v1","result":"…","usage":{…}}`. */
export const TERMINATION_ENVELOPE_VERSION = 'v1';

export interface TerminationReport {
  /** What goes to status.result (before truncateResult). */
  result: string;
  /** What goes to status.usage; absent unless the agent reported a well-formed one. */
  usage?: Usage;
}

/**
 * Reads an agent's termination message (docs/agents.md, "Reporting a result"). Plain text is the result as it is.
 * A message that is exactly one JSON object with `"skillpod": "v1"` and a string `result` is an envelope: its
 * `result` is the result and its `usage` (inputTokens, outputTokens: non-negative integers; model: a string of at
 * most 256 characters) the usage; fields of usage that do not have that form are dropped, unknown fields ignored.
 * Anything else, JSON included, stays plain text, so no message is ever lost.
 */
export function parseTerminationMessage(message: string): TerminationReport {
  const trimmed = message.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return { result: message };
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return { result: message };
  }
  if (!isObject(parsed) || parsed.skillpod !== TERMINATION_ENVELOPE_VERSION || typeof parsed.result !== 'string') return { result: message };
  const usage = readUsage(parsed.usage);
  return usage ? { result: parsed.result, usage } : { result: parsed.result };
}

function readUsage(value: unknown): Usage | undefined {
  if (!isObject(value)) return undefined;
  const usage: Usage = {};
  for (const key of ['inputTokens', 'outputTokens'] as const) {
    const n = value[key];
    if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) usage[key] = n;
  }
  if (typeof value.model === 'string' && value.model.length > 0 && value.model.length <= 256) usage.model = value.model;
  return Object.keys(usage).length > 0 ? usage : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
