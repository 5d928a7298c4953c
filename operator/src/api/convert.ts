// Converts zod's JSON Schema (draft 2020-12) into a structural OpenAPI v3 schema as CustomResourceDefinitions
// require it (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema).
// Pure. Anything it cannot translate faithfully is an error naming the path, never a silent loss.
import { z } from 'zod';

/** A JSON Schema / OpenAPI node. Loose on purpose: this module reshapes arbitrary JSON. */
export type Schema = { [key: string]: unknown };

export interface ConvertOptions {
  /** Keep `x-skillpod-*` annotations (operator-side checks) for the docs generator; CRDs never carry them. */
  docs?: boolean;
}

/** Keywords a CRD schema node may carry (apiextensions.k8s.io/v1 JSONSchemaProps, minus what we never emit). */
const ALLOWED = new Set([
  'type', 'format', 'title', 'description', 'default', 'enum', 'nullable',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf',
  'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'minProperties', 'maxProperties',
  'required', 'properties', 'additionalProperties', 'items', 'anyOf', 'allOf', 'oneOf', 'not',
  'x-kubernetes-validations', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type',
  'x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource',
]);

/** Keys that only describe a JSON Schema document, with no meaning for one node. */
const DOCUMENT_KEYS = ['$schema', '$id', 'id', '$defs', 'definitions', '$comment'];

/** Output order, so generated YAML reads like hand-written CRDs and diffs stay small. */
const ORDER = [
  'description', 'type', 'format', 'enum', 'default', 'nullable',
  'minimum', 'exclusiveMinimum', 'maximum', 'exclusiveMaximum', 'multipleOf',
  'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'minProperties', 'maxProperties',
  'x-kubernetes-int-or-string', 'anyOf', 'allOf', 'oneOf', 'not',
  'properties', 'additionalProperties', 'items', 'required',
  'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource', 'x-kubernetes-validations',
];

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

export class ConversionError extends Error {}

const isObject = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(path: string, what: string): never {
  throw new ConversionError(`${path || '<root>'}: ${what}`);
}

interface Context {
  defs: Record<string, Schema>;
  refStack: string[];
  options: ConvertOptions;
}

function resolveRef(node: Schema, path: string, ctx: Context): { node: Schema; ctx: Context } {
  const ref = node.$ref;
  if (typeof ref !== 'string') return { node, ctx };
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  const target = match?.[2] !== undefined ? ctx.defs[decodeURIComponent(match[2])] : undefined;
  if (!target) fail(path, `unresolvable $ref ${ref}`);
  // A cycle cannot be inlined, and CRD schemas have no $ref.
  if (ctx.refStack.includes(ref)) fail(path, `recursive schema (${ref}) cannot be expressed in a CRD`);
  const { $ref: _ref, ...siblings } = node;
  // Siblings of $ref (a field's own description) override the referenced schema's.
  return { node: { ...target, ...siblings }, ctx: { ...ctx, refStack: [...ctx.refStack, ref] } };
}

/** `type: ['string', 'null']` and null branches of unions become `nullable: true`. */
function isNullSchema(s: unknown): boolean {
  return isObject(s) && s.type === 'null';
}

/** Value validations that apply to one JSON type only, so they can sit side by side in an int-or-string node. */
const VALUE_KEYS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength', 'pattern', 'format', 'enum'];

function intOrString(node: Schema, branches: Schema[], path: string): Schema {
  const types = branches.map((b) => b.type).sort();
  if (branches.length !== 2 || !types.includes('string') || !(types.includes('integer') || types.includes('number'))) {
    fail(path, 'x-kubernetes-int-or-string needs a union of one integer and one string schema');
  }
  const out: Schema = { ...node };
  for (const b of branches) {
    if (b.type === 'integer') dropSafeIntegerBounds(b);
    for (const key of VALUE_KEYS) {
      if (b[key] === undefined) continue;
      if (out[key] !== undefined) fail(path, `both branches of the int-or-string union set ${key}`);
      out[key] = b[key];
    }
  }
  // The exact shape the API server recognises as int-or-string (anything else is not structural).
  out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  return out;
}

/** zod bounds every z.int() by the safe-integer range; Kubernetes integers are int64 anyway. */
function dropSafeIntegerBounds(node: Schema): void {
  if (node.minimum === Number.MIN_SAFE_INTEGER) delete node.minimum;
  if (node.maximum === Number.MAX_SAFE_INTEGER) delete node.maximum;
}

function mergeEnums(node: Schema, branches: Schema[], path: string): Schema {
  const type = branches[0]?.type;
  const values: unknown[] = [];
  for (const b of branches) {
    if (b.type !== type) fail(path, 'union of enums of different types');
    const vs = b.enum ?? (b.const !== undefined ? [b.const] : undefined);
    if (!Array.isArray(vs)) fail(path, 'union mixes enum and non-enum schemas; use z.enum');
    for (const v of vs) if (!values.includes(v)) values.push(v);
  }
  return { ...node, type, enum: values };
}

/**
 * A union of object schemas becomes one object with every property; fields required by all branches stay
 * required, and each branch's own required fields remain as an anyOf of `required` lists (value validation
 * only, which structural schemas allow).
 */
function mergeObjects(node: Schema, branches: Schema[], path: string): Schema {
  const properties: Schema = {};
  for (const b of branches) {
    for (const [key, prop] of Object.entries((b.properties as Schema | undefined) ?? {})) {
      const seen = properties[key];
      if (seen !== undefined && JSON.stringify(seen) !== JSON.stringify(prop)) {
        if (isObject(seen) && isObject(prop) && seen.type === prop.type && (seen.enum ?? seen.const) !== undefined) {
          properties[key] = mergeEnums({}, [seen, prop], `${path}.${key}`);
          continue;
        }
        fail(`${path}.${key}`, 'union branches define this property differently');
      }
      properties[key] = prop;
    }
  }
  const requiredOf = (b: Schema) => (Array.isArray(b.required) ? (b.required as string[]) : []);
  const common = requiredOf(branches[0] ?? {}).filter((k) => branches.every((b) => requiredOf(b).includes(k)));
  const out: Schema = { ...node, type: 'object', properties };
  if (common.length) out.required = common;
  const rest = branches.map((b) => requiredOf(b).filter((k) => !common.includes(k)));
  if (rest.some((r) => r.length > 0)) out.anyOf = rest.map((r) => ({ required: r }));
  return out;
}

/** Rewrites anyOf/oneOf into shapes a structural schema accepts. */
function rewriteUnion(node: Schema, path: string): Schema {
  const key = node.anyOf !== undefined ? 'anyOf' : 'oneOf';
  const { [key]: raw, ...rest } = node;
  if (!Array.isArray(raw)) fail(path, `${key} must be a list`);
  let branches = raw as Schema[];
  const out: Schema = { ...rest };
  if (branches.some(isNullSchema)) {
    out.nullable = true;
    branches = branches.filter((b) => !isNullSchema(b));
  }
  if (out['x-kubernetes-int-or-string'] === true) return intOrString(out, branches, path);
  if (branches.length === 1 && branches[0]) {
    // The node's own keys (its description, default) win over the branch's.
    return { ...branches[0], ...out };
  }
  if (branches.every((b) => b.enum !== undefined || b.const !== undefined)) return mergeEnums(out, branches, path);
  if (branches.every((b) => b.type === 'object')) return mergeObjects(out, branches, path);
  return fail(path, `${key} of ${branches.map((b) => String(b.type)).join(', ')} has no structural equivalent`);
}

function unescapeSlashes(pattern: string): string {
  // An escaped slash is a backslash after an even number of backslashes (those escape each other).
  return pattern.replace(/(^|[^\\])((?:\\\\)*)\\\//g, '$1$2/');
}

function order(node: Schema): Schema {
  const out: Schema = {};
  for (const key of ORDER) if (node[key] !== undefined) out[key] = node[key];
  for (const key of Object.keys(node).sort()) if (out[key] === undefined) out[key] = node[key];
  return out;
}

function convertNode(input: unknown, path: string, ctx0: Context, inValueValidation: boolean): Schema {
  if (!isObject(input)) fail(path, 'schema must be an object');
  const resolved = resolveRef(input, path, ctx0);
  const ctx = resolved.ctx;
  let node: Schema = { ...resolved.node };
  for (const key of DOCUMENT_KEYS) delete node[key];
  if (!ctx.options.docs) for (const key of Object.keys(node)) if (key.startsWith('x-skillpod-')) delete node[key];
  delete node.examples; // JSON Schema examples have no place in a CRD; docs come from descriptions

  if (Array.isArray(node.type)) {
    const types = (node.type as string[]).filter((t) => t !== 'null');
    if (types.length !== node.type.length) node.nullable = true;
    if (types.length !== 1) fail(path, `a node has one type, not ${types.join(', ')}`);
    node.type = types[0];
  }
  if (node['x-kubernetes-int-or-string'] === true && node.anyOf === undefined && node.oneOf === undefined) {
    fail(path, 'x-kubernetes-int-or-string needs a union of one integer and one string schema');
  }
  if (node.anyOf !== undefined || node.oneOf !== undefined) {
    node = rewriteUnion(node, path);
    // A merged branch may have brought its own document keys or $ref.
    if (node.$ref !== undefined) return convertNode(node, path, ctx, inValueValidation);
  }
  if (node.const !== undefined) {
    node.enum = [node.const];
    delete node.const;
  }
  if (node.type === 'null') fail(path, 'a field that can only be null');

  // Draft 2020-12 writes exclusive bounds as numbers, OpenAPI v3.0 (and Kubernetes) as booleans.
  for (const [bound, inclusive, step] of [['exclusiveMinimum', 'minimum', 1], ['exclusiveMaximum', 'maximum', -1]] as const) {
    const value = node[bound];
    if (typeof value !== 'number') continue;
    if (node.type === 'integer') {
      node[inclusive] = value + step;
      delete node[bound];
    } else {
      node[inclusive] = value;
      node[bound] = true;
    }
  }

  if (node.type === 'integer') {
    // zod writes the safe-integer or int32 range as bounds; Kubernetes says it with a format.
    dropSafeIntegerBounds(node);
    if (node.minimum === INT32_MIN || node.maximum === INT32_MAX) {
      node.format = 'int32';
      if (node.minimum === INT32_MIN) delete node.minimum;
      if (node.maximum === INT32_MAX) delete node.maximum;
    } else {
      node.format ??= 'int64';
    }
  }

  // The API server checks date-time itself; zod's equivalent regexp is long and not RE2-tested.
  if (node.format === 'date-time') delete node.pattern;
  // RegExp.prototype.source escapes '/', which neither RE2 nor a reader needs.
  if (typeof node.pattern === 'string') node.pattern = unescapeSlashes(node.pattern);

  if (node.allOf !== undefined) {
    if (!Array.isArray(node.allOf)) fail(path, 'allOf must be a list');
    // zod writes several checks of one string (two patterns) as allOf: keep them as value validations.
    node.allOf = node.allOf.map((b, i) => {
      const branch = convertNode(b, `${path}.allOf[${i}]`, ctx, true);
      if (branch.type !== undefined && branch.type !== node.type) fail(path, 'allOf branches of another type');
      delete branch.type;
      if (Object.keys(branch).some((k) => !VALUE_KEYS.includes(k))) fail(path, 'allOf may only combine value validations');
      return branch;
    });
  }
  if (node.not !== undefined) fail(path, '`not` is not supported');
  for (const key of ['prefixItems', 'patternProperties', 'dependencies', 'dependentRequired', 'dependentSchemas', 'additionalItems', 'if', 'then', 'else', 'contains', 'unevaluatedProperties', 'unevaluatedItems']) {
    if (node[key] !== undefined) fail(path, `${key} has no CRD equivalent`);
  }
  if (node.uniqueItems === true) fail(path, 'uniqueItems is forbidden in CRDs (quadratic); use x-kubernetes-list-type: set or map');
  delete node.uniqueItems;

  if (node.properties !== undefined) {
    if (!isObject(node.properties)) fail(path, 'properties must be an object');
    const props: Schema = {};
    for (const [key, value] of Object.entries(node.properties)) props[key] = convertNode(value, `${path}.${key}`, ctx, false);
    node.properties = props;
    const extra = node.additionalProperties;
    if (extra === false) delete node.additionalProperties; // unknown fields are pruned anyway
    else if (extra !== undefined) {
      if (node['x-kubernetes-preserve-unknown-fields'] !== true) {
        fail(path, 'an object with properties that keeps unknown fields (z.looseObject) needs x-kubernetes-preserve-unknown-fields');
      }
      delete node.additionalProperties;
    }
    if (Array.isArray(node.required) && node.required.length === 0) delete node.required;
  } else if (node.additionalProperties !== undefined) {
    if (node.additionalProperties === true || (isObject(node.additionalProperties) && Object.keys(node.additionalProperties).length === 0)) {
      fail(path, 'a map of unknown values: give the value a schema');
    }
    if (node.additionalProperties === false) fail(path, 'an object without fields');
    node.additionalProperties = convertNode(node.additionalProperties, `${path}[*]`, ctx, false);
  }
  // Key constraints have no CRD keyword; schemas state them as CEL rules (see qualifiedNameMap).
  delete node.propertyNames;
  if (node.type === 'object' && node.properties === undefined && node.additionalProperties === undefined && node['x-kubernetes-preserve-unknown-fields'] !== true) {
    fail(path, 'an object with neither properties nor a value schema');
  }
  if (node.items !== undefined) {
    if (Array.isArray(node.items)) fail(path, 'tuple items have no CRD equivalent');
    node.items = convertNode(node.items, `${path}[]`, ctx, false);
  }

  for (const key of Object.keys(node)) {
    if (!ALLOWED.has(key) && !(ctx.options.docs && key.startsWith('x-skillpod-'))) fail(path, `unsupported keyword ${key}`);
  }
  if (inValueValidation) return node;
  return order(node);
}

/** Converts a JSON Schema document (as z.toJSONSchema writes it) into a structural schema. */
export function jsonSchemaToStructural(doc: Schema, options: ConvertOptions = {}): Schema {
  const defs = { ...((doc.definitions as Record<string, Schema> | undefined) ?? {}), ...((doc.$defs as Record<string, Schema> | undefined) ?? {}) };
  return convertNode(doc, '', { defs, refStack: [], options }, false);
}

/** The JSON Schema zod writes for what a user may send: defaulted fields are optional, defaults are kept. */
export function zodToJSONSchema(schema: z.ZodType): Schema {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'throw', cycles: 'ref', reused: 'inline' });
}

export function toStructural(schema: z.ZodType, options: ConvertOptions = {}): Schema {
  return jsonSchemaToStructural(zodToJSONSchema(schema), options);
}

const API_VERSION_DESCRIPTION =
  'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources';
const KIND_DESCRIPTION =
  'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds';

/**
 * The schema of a whole kind. apiVersion, kind and metadata belong to the API server: they become the plain
 * fields every CRD has (metadata may carry nothing but `type: object` at the root).
 */
export function toKindSchema(schema: z.ZodType, options: ConvertOptions = {}): Schema {
  const doc = zodToJSONSchema(schema);
  const props = doc.properties;
  if (!isObject(props) || !props.metadata || !props.apiVersion || !props.kind) {
    throw new ConversionError('<root>: a kind has apiVersion, kind and metadata');
  }
  const { metadata: _metadata, ...rest } = props;
  doc.properties = {
    ...rest,
    apiVersion: { type: 'string', description: API_VERSION_DESCRIPTION },
    kind: { type: 'string', description: KIND_DESCRIPTION },
  };
  // The API server guarantees these three; listing them as required would only add noise to explain.
  if (Array.isArray(doc.required)) doc.required = (doc.required as string[]).filter((k) => !['apiVersion', 'kind', 'metadata'].includes(k));
  const out = jsonSchemaToStructural(doc, options);
  const { apiVersion, kind, ...fields } = out.properties as Schema;
  // metadata is the one node the converter may not see: at the root it carries nothing but its type.
  out.properties = { apiVersion, kind, metadata: { type: 'object' }, ...fields };
  return out;
}
