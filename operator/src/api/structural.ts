// Checks a CRD schema for what the API server and CEL require: structural (every node typed, no JSON Schema
// keyword it lacks), bounded (CEL cost estimates need maxLength/maxItems/maxProperties), consistent list maps.
// Used by the tests and by the generator, which refuses to write a CRD that fails it.
import type { Schema } from './convert.ts';

const FORBIDDEN = ['$ref', '$schema', '$defs', 'definitions', 'const', 'propertyNames', 'patternProperties', 'prefixItems', 'dependencies', 'additionalItems', 'examples'];
const TYPES = ['object', 'array', 'string', 'integer', 'number', 'boolean'];
/** Inside anyOf/allOf/oneOf/not only value validations are allowed. */
const NOT_IN_VALUE_VALIDATION = ['type', 'description', 'default', 'additionalProperties', 'nullable', 'title', 'properties', 'items'];

const isObject = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface CheckOptions {
  /** Paths exempt from the bound check (the root's apiVersion and kind, owned by the API server). */
  unbounded?: string[];
}

function checkValueValidation(node: Schema, path: string, problems: string[]): void {
  for (const key of Object.keys(node)) {
    if (NOT_IN_VALUE_VALIDATION.includes(key) || key.startsWith('x-kubernetes-')) problems.push(`${path}: ${key} is not allowed inside anyOf/allOf/oneOf/not`);
  }
  for (const key of ['anyOf', 'allOf', 'oneOf']) {
    const list = node[key];
    if (Array.isArray(list)) list.forEach((b, i) => isObject(b) && checkValueValidation(b, `${path}.${key}[${i}]`, problems));
  }
}

function checkNode(node: Schema, path: string, problems: string[], options: CheckOptions): void {
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  for (const key of FORBIDDEN) if (node[key] !== undefined) problems.push(`${path}: ${key} is not allowed`);
  if (node.uniqueItems === true) problems.push(`${path}: uniqueItems is not allowed`);
  for (const key of ['exclusiveMinimum', 'exclusiveMaximum']) {
    if (node[key] !== undefined && typeof node[key] !== 'boolean') problems.push(`${path}: ${key} must be a boolean`);
  }

  if (intOrString) {
    if (node.type !== undefined) problems.push(`${path}: int-or-string must not have a type`);
    const anyOf = JSON.stringify(node.anyOf);
    if (anyOf !== JSON.stringify([{ type: 'integer' }, { type: 'string' }])) problems.push(`${path}: int-or-string needs anyOf [integer, string]`);
  } else if (typeof node.type !== 'string' || !TYPES.includes(node.type)) {
    if (!preserve) problems.push(`${path}: every node needs one type (got ${JSON.stringify(node.type)})`);
  }
  for (const key of ['anyOf', 'allOf', 'oneOf']) {
    const list = node[key];
    if (list === undefined || (intOrString && key === 'anyOf')) continue;
    if (!Array.isArray(list)) problems.push(`${path}: ${key} must be a list`);
    else list.forEach((b, i) => isObject(b) && checkValueValidation(b, `${path}.${key}[${i}]`, problems));
  }
  if (isObject(node.not)) checkValueValidation(node.not, `${path}.not`, problems);

  const exempt = options.unbounded?.includes(path) ?? false;
  if ((node.type === 'string' || intOrString) && node.maxLength === undefined && node.enum === undefined && !exempt) {
    problems.push(`${path}: string without maxLength`);
  }
  if (node.type === 'array' && node.maxItems === undefined) problems.push(`${path}: array without maxItems`);
  if (node.additionalProperties !== undefined) {
    if (node.properties !== undefined) problems.push(`${path}: properties and additionalProperties together`);
    if (!isObject(node.additionalProperties)) problems.push(`${path}: additionalProperties must be a schema`);
    if (node.maxProperties === undefined) problems.push(`${path}: map without maxProperties`);
  }
  if (node.type === 'object' && node.properties === undefined && node.additionalProperties === undefined && !preserve && path !== '.metadata') {
    problems.push(`${path}: object without properties`);
  }

  if (node['x-kubernetes-list-type'] === 'map') {
    const keys = node['x-kubernetes-list-map-keys'];
    const items = isObject(node.items) ? node.items : {};
    const props = isObject(items.properties) ? items.properties : {};
    const required = Array.isArray(items.required) ? (items.required as string[]) : [];
    if (!Array.isArray(keys) || keys.length === 0) problems.push(`${path}: list-type map without list-map-keys`);
    else {
      for (const k of keys as string[]) {
        const prop = props[k];
        if (!isObject(prop)) problems.push(`${path}: list-map key ${k} is not a property of the items`);
        else if (!required.includes(k) && prop.default === undefined) problems.push(`${path}: list-map key ${k} must be required or defaulted`);
      }
    }
  }
  const rules = node['x-kubernetes-validations'];
  if (rules !== undefined) {
    if (!Array.isArray(rules)) problems.push(`${path}: x-kubernetes-validations must be a list`);
    else {
      rules.forEach((r, i) => {
        if (!isObject(r) || typeof r.rule !== 'string' || (typeof r.message !== 'string' && typeof r.messageExpression !== 'string')) {
          problems.push(`${path}: x-kubernetes-validations[${i}] needs a rule and a message`);
        }
      });
    }
  }

  if (isObject(node.properties)) {
    for (const [key, child] of Object.entries(node.properties)) {
      if (isObject(child)) checkNode(child, `${path}.${key}`, problems, options);
      else problems.push(`${path}.${key}: not a schema`);
    }
  }
  if (isObject(node.additionalProperties)) checkNode(node.additionalProperties, `${path}[*]`, problems, options);
  if (node.items !== undefined) {
    if (isObject(node.items)) checkNode(node.items, `${path}[]`, problems, options);
    else problems.push(`${path}: items must be one schema`);
  }
}

/** Problems of a CRD's openAPIV3Schema; empty when the API server will accept it and CEL can estimate it. */
export function structuralProblems(root: Schema, options: CheckOptions = { unbounded: ['.apiVersion', '.kind'] }): string[] {
  const problems: string[] = [];
  if (root.type !== 'object') problems.push('<root>: type must be object');
  const props = isObject(root.properties) ? root.properties : {};
  if (props.metadata !== undefined && JSON.stringify(props.metadata) !== JSON.stringify({ type: 'object' })) {
    problems.push('.metadata: must be exactly {type: object} at the root');
  }
  checkNode(root, '', problems, options);
  return problems.map((p) => (p.startsWith(':') ? `<root>${p}` : p));
}

/** Fields without a description: `kubectl explain` would show nothing for them. */
export function undocumentedFields(root: Schema, path = ''): string[] {
  const out: string[] = [];
  const visit = (node: Schema, p: string) => {
    if (p !== '' && p !== '.metadata' && typeof node.description !== 'string') out.push(p);
    if (isObject(node.properties)) for (const [k, c] of Object.entries(node.properties)) if (isObject(c)) visit(c, `${p}.${k}`);
    if (isObject(node.items) && isObject(node.items.properties)) {
      for (const [k, c] of Object.entries(node.items.properties)) if (isObject(c)) visit(c, `${p}[].${k}`);
    }
    if (isObject(node.additionalProperties) && isObject(node.additionalProperties.properties)) {
      for (const [k, c] of Object.entries(node.additionalProperties.properties)) if (isObject(c)) visit(c, `${p}[*].${k}`);
    }
  };
  visit(root, path);
  return out;
}
