import { describe, expect, it } from 'vitest';
import type { Schema } from './convert.ts';
import { structuralProblems, undocumentedFields } from './structural.ts';

const obj = (properties: Record<string, Schema>, extra: Schema = {}): Schema => ({ type: 'object', properties, ...extra });

describe('structuralProblems', () => {
  it.each<[string, Schema, string]>([
    ['untyped node', obj({ a: { maxLength: 1 } }), '.a: every node needs one type'],
    ['type list', obj({ a: { type: ['string', 'null'], maxLength: 1 } }), '.a: every node needs one type'],
    ['$ref', obj({ a: { $ref: '#/x' } }), '.a: $ref is not allowed'],
    ['const', obj({ a: { type: 'string', const: 'x', maxLength: 1 } }), '.a: const is not allowed'],
    ['numeric exclusiveMinimum', obj({ a: { type: 'integer', exclusiveMinimum: 0 } }), '.a: exclusiveMinimum must be a boolean'],
    ['unbounded string', obj({ a: { type: 'string' } }), '.a: string without maxLength'],
    ['unbounded array', obj({ a: { type: 'array', items: { type: 'boolean' } } }), '.a: array without maxItems'],
    ['unbounded map', obj({ a: { type: 'object', additionalProperties: { type: 'boolean' } } }), '.a: map without maxProperties'],
    ['properties beside additionalProperties', obj({}, { additionalProperties: false }), '<root>'],
    ['description in anyOf', obj({ a: { type: 'object', properties: {}, anyOf: [{ description: 'x' }] } }), '.a.anyOf[0]: description is not allowed'],
    ['type in allOf', obj({ a: { type: 'string', maxLength: 1, allOf: [{ type: 'string' }] } }), '.a.allOf[0]: type is not allowed'],
    ['int-or-string with a type', obj({ a: { type: 'string', maxLength: 1, 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] } }), '.a: int-or-string must not have a type'],
    ['int-or-string without anyOf', obj({ a: { maxLength: 1, 'x-kubernetes-int-or-string': true } }), '.a: int-or-string needs anyOf'],
    ['list map without keys', obj({ a: { type: 'array', maxItems: 1, items: obj({}), 'x-kubernetes-list-type': 'map' } }), '.a: list-type map without list-map-keys'],
    ['list map key optional', obj({ a: { type: 'array', maxItems: 1, items: obj({ k: { type: 'string', maxLength: 1 } }), 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['k'] } }), '.a: list-map key k must be required or defaulted'],
    ['rule without message', obj({}, { 'x-kubernetes-validations': [{ rule: 'true' }] }), 'x-kubernetes-validations[0] needs a rule and a message'],
    ['metadata with fields', obj({ metadata: obj({ name: { type: 'string', maxLength: 1 } }) }), '.metadata: must be exactly {type: object}'],
    ['uniqueItems', obj({ a: { type: 'array', maxItems: 1, items: { type: 'boolean' }, uniqueItems: true } }), '.a: uniqueItems is not allowed'],
  ])('%s', (_name, schema, problem) => {
    expect(structuralProblems(schema).join('\n')).toContain(problem);
  });

  it('accepts a bounded structural schema', () => {
    const good = obj({
      apiVersion: { type: 'string' },
      metadata: { type: 'object' },
      s: { type: 'string', maxLength: 3 },
      e: { type: 'string', enum: ['A'] },
      q: { maxLength: 8, 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
      m: { type: 'object', maxProperties: 1, additionalProperties: { type: 'string', maxLength: 1 } },
      l: { type: 'array', maxItems: 2, items: obj({ k: { type: 'string', maxLength: 1 } }, { required: ['k'] }), 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['k'] },
    });
    expect(structuralProblems(good)).toEqual([]);
  });
});

describe('undocumentedFields', () => {
  it('lists fields without a description, through lists and maps', () => {
    const schema = obj({
      a: { type: 'string', description: 'x' },
      b: { type: 'string' },
      l: { description: 'x', type: 'array', items: obj({ c: { type: 'string' } }) },
    });
    expect(undocumentedFields(schema)).toEqual(['.b', '.l[].c']);
  });
});
