// String formats shared by both kinds. Patterns are written for RE2 (the API server's regexp engine) and
// JavaScript alike: no lookaround, no backreferences.
import { z } from 'zod';
import { isCIDR } from './cidr.ts';
import { cel, operatorCheck } from './cel.ts';

const DNS_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS_SUBDOMAIN = `${DNS_LABEL}(\\.${DNS_LABEL})*`;
// The name part of a qualified name has at most 63 characters: bounded repetition keeps that in the pattern.
const QUALIFIED_NAME_PART = '([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]';

export const DNS_LABEL_RE = new RegExp(`^${DNS_LABEL}$`);
export const DNS_SUBDOMAIN_RE = new RegExp(`^${DNS_SUBDOMAIN}$`);
/** Label and annotation keys: an optional DNS subdomain prefix and `/`, then a name of at most 63 characters. */
const QUALIFIED_NAME = `^(${DNS_SUBDOMAIN}/)?${QUALIFIED_NAME_PART}$`;
export const QUALIFIED_NAME_RE = new RegExp(QUALIFIED_NAME);
export const LABEL_VALUE_RE = new RegExp(`^(${QUALIFIED_NAME_PART})?$`);

/** A DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit. */
export function dnsLabel(max = 63) {
  return z
    .string()
    .min(1)
    .max(max)
    .regex(DNS_LABEL_RE, { message: `must be a DNS label (lowercase letters, digits and '-', at most ${max} characters)` });
}

export function dnsSubdomain(max = 253) {
  return z
    .string()
    .min(1)
    .max(max)
    .regex(DNS_SUBDOMAIN_RE, { message: 'must be a DNS subdomain (lowercase letters, digits, - and .)' });
}

/** The prefix length (at most 253) is left to the 317-character bound in CEL, and checked exactly here. */
export function isQualifiedName(key: string): boolean {
  const slash = key.lastIndexOf('/');
  return QUALIFIED_NAME_RE.test(key) && key.length <= 317 && (slash < 0 || slash <= 253);
}
const QUALIFIED_NAME_MESSAGE = "must be a qualified name such as 'tier' or 'example.com/tier'";

/** A label or annotation key such as `example.com/tier`. 317 = 253 (prefix) + 1 + 63 (name). */
export function qualifiedName() {
  return z
    .string()
    .min(1)
    .max(317)
    .regex(QUALIFIED_NAME_RE, { message: QUALIFIED_NAME_MESSAGE })
    .refine(isQualifiedName, { message: QUALIFIED_NAME_MESSAGE });
}

export function labelValue() {
  return z
    .string()
    .max(63)
    .regex(LABEL_VALUE_RE, { message: "must be a label value (letters, digits, '-', '_' and '.', at most 63 characters)" });
}

/** Environment variable names as C identifiers: what every shell and runtime can read back. */
export function envVarName() {
  return z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be a C identifier (letters, digits and _, not starting with a digit)' });
}

/** A container image reference; the registry decides the rest. */
export function image() {
  return z
    .string()
    .min(1)
    .max(512)
    .regex(/^\S+$/, { message: 'must be an image reference without whitespace' });
}

export function cidr() {
  return z.string().min(1).max(43).refine(isCIDR, { message: 'must be a CIDR such as 10.0.0.0/8 or fd00::/8' });
}

/** Timestamps as Kubernetes writes them (RFC 3339). Bounded so CEL cost estimates stay small. */
export function timestamp() {
  return z.iso.datetime({ offset: true }).max(64);
}

/**
 * Checks that a pattern is usable by Go's RE2 (the executor's engine). JavaScript compiles it after RE2-only
 * syntax is translated; constructs RE2 lacks (lookaround, backreferences) are refused.
 * Returns a problem description, or undefined when the pattern is fine.
 */
export function re2Problem(pattern: string): string | undefined {
  if (/\(\?<?[=!]/.test(pattern)) return 'lookaround assertions are not supported by RE2';
  if (/\\[1-9]|\\k</.test(pattern)) return 'backreferences are not supported by RE2';
  const js = pattern
    .replace(/\(\?P</g, '(?<')
    .replace(/\(\?[imsU-]+\)/g, '')
    .replace(/\(\?[imsU-]+:/g, '(?:')
    .replace(/\\A/g, '^')
    .replace(/\\z/g, '$');
  try {
    new RegExp(js);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** An RE2 regular expression, checked by the operator (the API server has no regexp syntax check). */
export function re2Pattern() {
  return operatorCheck(z.string().min(1).max(1024), 'must be a valid RE2 regular expression', (p) => re2Problem(p) ?? true);
}

/**
 * A map keyed by qualified names (labels, annotations, node selectors, resource names), with a bounded number
 * of entries: CRD schemas have no propertyNames, so the key format is a CEL rule (cheap: the cost estimator
 * treats map keys as small) and maxProperties bounds the rest.
 */
export function qualifiedNameMap<V extends z.ZodType>(value: V, max: number) {
  const sized = z
    .record(z.string(), value)
    .refine((r) => Object.keys(r).length <= max, { message: `must have at most ${max} entries` })
    .meta({ maxProperties: max });
  return cel(
    sized,
    {
      rule: `self.all(k, k.size() <= 317 && k.matches('${QUALIFIED_NAME.replace(/\\/g, '\\\\')}'))`,
      message: `keys ${QUALIFIED_NAME_MESSAGE}`,
    },
    (r) => Object.keys(r).every(isQualifiedName),
  );
}
