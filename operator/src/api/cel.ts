// Helpers that keep each validation in one place: a CEL rule for the API server (x-kubernetes-validations) and
// the same check in TypeScript, so that parse() in the operator and the API server agree.
import type { z } from 'zod';

export interface ValidationRule {
  rule: string;
  message: string;
  /** Relative JSON path of the field the error is reported on, e.g. `.task`. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

type Path = (string | number)[];

function appendMeta<T extends z.ZodType>(schema: T, key: string, item: unknown): T {
  // zod merges metadata shallowly along the clone chain, so a list must be extended by hand.
  const prev = (schema.meta()?.[key] as unknown[] | undefined) ?? [];
  return schema.meta({ [key]: [...prev, item] });
}

/**
 * Adds a CEL rule. `check` is its TypeScript twin (null only for transition rules, which need the old object
 * and therefore exist only in the API server). `path` places the parse error on a child field.
 */
export function cel<T extends z.ZodType>(
  schema: T,
  rule: ValidationRule,
  check: ((value: z.output<T>) => boolean) | null,
  path?: Path,
): T {
  const checked = check ? schema.refine(check, { message: rule.message, ...(path ? { path } : {}) }) : schema;
  return appendMeta(checked, 'x-kubernetes-validations', rule);
}

/**
 * A check the API server cannot make cheaply (CEL cost over unbounded map keys, RE2 syntax). parse() makes it,
 * so the operator reports the problem in status; docs/api.md lists it under "checked by the operator".
 */
export function operatorCheck<T extends z.ZodType>(
  schema: T,
  description: string,
  /** true when fine; false or a string naming the problem otherwise. */
  check: (value: z.output<T>) => boolean | string,
): T {
  const checked = schema.superRefine((value, ctx) => {
    const result = check(value);
    if (result === true) return;
    ctx.addIssue({ code: 'custom', message: typeof result === 'string' ? `${description}: ${result}` : description });
  });
  return appendMeta(checked, 'x-skillpod-checks', description);
}

/**
 * `x-kubernetes-list-type: map`: entries are unique by `keys` and server-side apply merges them per entry, so a
 * `kubectl patch` or a GitOps tool can own one entry without owning the list.
 */
export function listMap<T extends z.ZodArray>(schema: T, keys: string[]): T {
  const unique = schema.superRefine((items, ctx) => {
    const seen = new Set<string>();
    items.forEach((item, index) => {
      const rec = item as Record<string, unknown>;
      const id = JSON.stringify(keys.map((k) => rec[k]));
      if (seen.has(id)) {
        ctx.addIssue({ code: 'custom', path: [index, ...(keys.length === 1 ? keys : [])], message: `duplicate entry ${keys.map((k) => `${k}=${String(rec[k])}`).join(', ')}` });
      }
      seen.add(id);
    });
  });
  return unique.meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': keys });
}

/**
 * Transition rule that makes one field of an object immutable. Written on the parent object because a rule on
 * an optional field itself only runs when both old and new values exist, so adding or removing it would pass.
 */
export function immutableField(field: string, required: boolean): ValidationRule {
  const rule = required
    ? `self.${field} == oldSelf.${field}`
    : `has(self.${field}) == has(oldSelf.${field}) && (!has(self.${field}) || self.${field} == oldSelf.${field})`;
  return { rule, message: `${field} is immutable`, fieldPath: `.${field}` };
}
