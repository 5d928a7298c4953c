import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cel, listMap } from './cel.ts';
import { ConversionError, jsonSchemaToStructural, toStructural, zodToJSONSchema } from './convert.ts';
import { structuralProblems } from './structural.ts';
import { expectGolden } from '../../../test/harness/golden.ts';

// Each zod shape that needs rewriting, with what zod writes and what the CRD gets; the golden file shows both.
const CASES: Record<string, z.ZodType> = {
  'string bounds and pattern': z.object({ s: z.string().min(1).max(10).regex(/^a\/b$/).describe('d') }),
  'literal becomes enum': z.object({ kind: z.literal('X') }),
  'union of literals merges into one enum': z.object({ v: z.union([z.literal('a'), z.literal('b'), z.enum(['b', 'c'])]) }),
  'default makes a field optional': z.object({ n: z.int().min(1).max(9).default(5), b: z.boolean().default(true) }),
  'safe-integer bounds become int64': z.object({ n: z.int() }),
  'int32 bounds become int32': z.object({ n: z.int32(), m: z.int32().min(0) }),
  'exclusive bounds become inclusive for integers': z.object({ n: z.int().gt(0).lt(10) }),
  'exclusive bounds stay exclusive for numbers': z.object({ n: z.number().gt(0).max(1) }),
  'nullable becomes nullable: true': z.object({ s: z.string().max(3).nullable() }),
  'strict object drops additionalProperties: false': z.strictObject({ a: z.string().max(1) }),
  'record becomes a map, propertyNames dropped': z.object({ m: z.record(z.string().max(5), z.string().max(5)).meta({ maxProperties: 2 }) }),
  'int-or-string': z.object({
    q: z.union([z.int().min(0), z.string().max(8).regex(/^[0-9]+m$/)]).meta({ 'x-kubernetes-int-or-string': true }),
  }),
  'date-time drops the zod pattern': z.object({ t: z.iso.datetime().max(64) }),
  'union of objects merges properties': z.object({
    u: z.union([z.object({ a: z.string().max(1), c: z.string().max(1) }), z.object({ b: z.string().max(1), c: z.string().max(1) })]),
  }),
  'CEL rules and list maps pass through': z.object({
    l: listMap(z.array(z.object({ k: z.string().max(3), v: z.int().default(1) })).max(4), ['k']),
    r: cel(z.object({ a: z.int().optional(), b: z.int().optional() }), { rule: 'has(self.a) != has(self.b)', message: 'one of a or b' }, null),
  }),
  'reused schemas with an id are inlined': (() => {
    const Shared = z.object({ x: z.string().max(2) }).meta({ id: 'Shared' });
    return z.object({ one: Shared, two: Shared.optional().describe('second') });
  })(),
  'intersections of objects (merged by zod)': z.object({ i: z.intersection(z.object({ a: z.string().max(1) }), z.object({ b: z.string().max(1) })) }),
  'several patterns become allOf': z.object({ s: z.string().max(9).regex(/^a/).regex(/b$/) }),
};

describe('zod to structural schema', () => {
  it('matches testdata/convert.golden.yaml', () => {
    const doc: Record<string, unknown> = {};
    for (const [name, schema] of Object.entries(CASES)) {
      doc[name] = { zod: zodToJSONSchema(schema), crd: toStructural(schema) };
    }
    const actual = stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false });
    expectGolden(new URL('./testdata/convert.golden.yaml', import.meta.url), actual);
  });

  it.each(Object.entries(CASES))('%s is structural', (_name, schema) => {
    expect(structuralProblems(toStructural(schema), { unbounded: [] })).toEqual([]);
  });
});

describe('what has no CRD equivalent is refused, naming the path', () => {
  const Tree: z.ZodType = z.object({ name: z.string(), get children() { return z.array(Tree).optional(); } });
  it.each([
    ['a loose object', z.object({ m: z.looseObject({ a: z.string() }) }), '.m: an object with properties that keeps unknown fields'],
    ['a tuple', z.object({ t: z.tuple([z.string(), z.int()]) }), '.t: prefixItems'],
    ['a recursive schema', z.object({ tree: Tree }), 'recursive schema'],
    ['a union of string and boolean', z.object({ u: z.union([z.string(), z.boolean()]) }), '.u: a node has one type, not string, boolean'],
    ['a map of anything', z.object({ m: z.record(z.string(), z.unknown()) }), '.m: a map of unknown values'],
    ['an int-or-string of two strings', z.object({ q: z.union([z.string(), z.string()]).meta({ 'x-kubernetes-int-or-string': true }) }), '.q: x-kubernetes-int-or-string needs'],
  ])('%s', (_name, schema, message) => {
    expect(() => toStructural(schema)).toThrow(ConversionError);
    expect(() => toStructural(schema)).toThrow(message);
  });

  it('refuses unknown keywords instead of dropping them', () => {
    expect(() => jsonSchemaToStructural({ type: 'object', properties: { a: { type: 'string', contentEncoding: 'base64' } } })).toThrow(
      '.a: unsupported keyword contentEncoding',
    );
  });

  it('refuses uniqueItems (quadratic in the API server)', () => {
    expect(() => jsonSchemaToStructural({ type: 'array', items: { type: 'string' }, uniqueItems: true })).toThrow('uniqueItems');
  });

  it('inlines $ref from definitions, keeping the referring description', () => {
    const out = jsonSchemaToStructural({
      type: 'object',
      properties: { a: { $ref: '#/definitions/A', description: 'mine' } },
      definitions: { A: { type: 'string', maxLength: 3, description: 'theirs' } },
    });
    expect(out).toEqual({ type: 'object', properties: { a: { description: 'mine', type: 'string', maxLength: 3 } } });
  });

  it('keeps x-skillpod-* annotations only for the docs', () => {
    const doc = { type: 'string', maxLength: 1, 'x-skillpod-checks': ['checked'] };
    expect(jsonSchemaToStructural(doc)).toEqual({ type: 'string', maxLength: 1 });
    expect(jsonSchemaToStructural(doc, { docs: true })).toEqual(doc);
  });
});
