// Validation of what the operator reads from the API server (CustomObjectsApi returns `any`). Errors name the
// field, so a reconciler can put them in status as they are.
import type { z } from 'zod';
import { AgentRunSchema, type AgentRun } from './agentrun.ts';
import { SkillPackSchema, type SkillPack } from './skillpack.ts';

export interface FieldIssue {
  /** Field path as kubectl shows it, e.g. `spec.tools[0].name`; empty for the object itself. */
  path: string;
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string; issues: FieldIssue[] };

export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, seg) => {
    if (typeof seg === 'number') return `${acc}[${seg}]`;
    const key = String(seg);
    // Map keys such as label names read better quoted, as in kubectl's own messages.
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return `${acc}[${JSON.stringify(key)}]`;
    return acc === '' ? key : `${acc}.${key}`;
  }, '');
}

type Issue = z.core.$ZodRawIssue;

function plural(n: number | bigint, unit: string): string {
  return `${n} ${unit}${n === 1 || n === 1n ? '' : 's'}`;
}

/** Kubernetes-style wording for zod's built-in issues; custom messages from the schemas are kept as they are. */
function message(issue: Issue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${issue.expected === 'int' ? 'an integer' : `${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`}`;
    case 'too_big': {
      const n = issue.maximum;
      if (issue.origin === 'string') return `must be at most ${plural(n, 'character')}`;
      if (issue.origin === 'array') return `must have at most ${plural(n, 'item')}`;
      return `must be at most ${n}`;
    }
    case 'too_small': {
      const n = issue.minimum;
      if (issue.origin === 'string') return n === 1 ? 'must not be empty' : `must be at least ${plural(n, 'character')}`;
      if (issue.origin === 'array') return n === 1 ? 'must not be empty' : `must have at least ${plural(n, 'item')}`;
      return `must be at least ${n}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      return 'has an invalid value';
    default:
      return undefined;
  }
}

export function toIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
}

function describe(obj: unknown, kind: string): string {
  const meta = (obj as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
  const name = typeof meta?.name === 'string' ? meta.name : '';
  const ns = typeof meta?.namespace === 'string' ? `${meta.namespace}/` : '';
  return name ? `${kind} ${ns}${name}` : kind;
}

export function parseWith<T>(schema: z.ZodType<T>, kind: string, obj: unknown): ParseResult<T> {
  const result = schema.safeParse(obj, { error: message });
  if (result.success) return { ok: true, value: result.data };
  const issues = toIssues(result.error);
  const detail = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  return { ok: false, error: `${describe(obj, kind)} is invalid: ${detail}`, issues };
}

export function parseAgentRun(obj: unknown): ParseResult<AgentRun> {
  return parseWith(AgentRunSchema, 'AgentRun', obj);
}

export function parseSkillPack(obj: unknown): ParseResult<SkillPack> {
  return parseWith(SkillPackSchema, 'SkillPack', obj);
}
