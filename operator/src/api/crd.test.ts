import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildCRD, crdFileName, DEFINITIONS, type KindDefinition, type Schema } from './crd.ts';
import { toKindSchema } from './convert.ts';
import { generatedFiles } from './generate.ts';
import { structuralProblems, undocumentedFields } from './structural.ts';
import { expectGolden } from '../../../test/harness/golden.ts';

const root = join(import.meta.dirname, '..', '..', '..');

interface CRD {
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    versions: { name: string; served: boolean; storage: boolean; subresources: unknown; additionalPrinterColumns: { name: string; jsonPath: string }[]; schema: { openAPIV3Schema: Schema } }[];
  };
}

const crd = (def: KindDefinition) => buildCRD(def) as unknown as CRD;
const byKind = (kind: string) => DEFINITIONS.find((d) => d.names.kind === kind) as KindDefinition;

/** Walks to a node by a path such as 'spec.skills[]'. */
function node(schema: Schema, path: string): Schema {
  return path.split('.').reduce<Schema>((n, seg) => {
    const list = seg.endsWith('[]');
    const key = list ? seg.slice(0, -2) : seg;
    const child = (n.properties as Record<string, Schema>)[key] as Schema;
    return list ? (child.items as Schema) : child;
  }, schema);
}

describe.each(DEFINITIONS.map((d) => [d.names.kind, d] as const))('%s', (kind, def) => {
  const schema = toKindSchema(def.schema);

  it('schema matches its golden file', () => {
    const actual = stringify(schema, { lineWidth: 0, aliasDuplicateObjects: false });
    expectGolden(new URL(`./testdata/${kind.toLowerCase()}.schema.golden.yaml`, import.meta.url), actual);
  });

  it('schema is structural and bounded', () => {
    expect(structuralProblems(schema)).toEqual([]);
  });

  it('every field has a description (kubectl explain)', () => {
    expect(undocumentedFields(schema)).toEqual([]);
  });

  it('the checked-in CRD is up to date (npm run gen:crds)', () => {
    const file = generatedFiles().find((f) => f.path === `crds/${crdFileName(def)}`);
    expect(readFileSync(join(root, 'crds', crdFileName(def)), 'utf8')).toBe(file?.content);
  });

  it('has a status subresource, one served storage version, the skillpod category and part-of label', () => {
    const c = crd(def);
    expect(c.metadata.labels).toEqual({ 'app.kubernetes.io/part-of': 'skillpod' });
    expect(c.spec.group).toBe('skillpod.io');
    expect(c.spec.names.categories).toEqual(['skillpod']);
    expect(c.spec.versions).toHaveLength(1);
    expect(c.spec.versions[0]).toMatchObject({ name: 'v1alpha1', served: true, storage: true, subresources: { status: {} } });
  });

  it('printer columns point at fields of the schema', () => {
    for (const col of def.printerColumns) {
      if (col.jsonPath.startsWith('.metadata.')) continue;
      const path = col.jsonPath.slice(1).replace(/\[\?\(@\.type=="\w+"\)\]/, '[]');
      expect(() => node(schema, path), col.jsonPath).not.toThrow();
      expect(node(schema, path), col.jsonPath).toBeDefined();
    }
  });
});

describe('contract (design.md section 2)', () => {
  it.each([
    ['AgentRun', 'agentruns.skillpod.io', 'Namespaced', 'ar'],
    ['SkillPack', 'skillpacks.skillpod.io', 'Cluster', 'skp'],
  ])('%s is %s, %s, short name %s', (kind, name, scope, short) => {
    const c = crd(byKind(kind));
    expect(c.metadata.name).toBe(name);
    expect(c.spec.scope).toBe(scope);
    expect(c.spec.names.shortNames).toEqual([short]);
  });

  const agentRun = toKindSchema(byKind('AgentRun').schema);
  const skillPack = toKindSchema(byKind('SkillPack').schema);

  it.each([
    // [schema, path, expected subset]
    ['AgentRun', 'spec.timeoutSeconds', { default: 600, minimum: 1, maximum: 86400 }],
    ['AgentRun', 'spec.task', { type: 'string', minLength: 1 }],
    ['AgentRun', 'spec.skills', { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] }],
    ['AgentRun', 'spec.skills[].enabled', { type: 'boolean', default: true }],
    ['AgentRun', 'status.phase', { enum: ['Pending', 'Running', 'Succeeded', 'Failed'] }],
    ['AgentRun', 'status.skills[].rbac', { enum: ['Granted', 'Revoked', 'None'] }],
    ['AgentRun', 'status.conditions', { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }],
    ['AgentRun', 'status.conditions[].status', { enum: ['True', 'False', 'Unknown'] }],
    ['SkillPack', 'spec.description', { maxLength: 1024 }],
    ['SkillPack', 'spec.tools', { minItems: 1 }],
    ['SkillPack', 'spec.tools[].timeoutSeconds', { default: 60, minimum: 1, maximum: 3600 }],
    ['SkillPack', 'spec.tools[].command', { minItems: 1 }],
  ])('%s %s', (kind, path, expected) => {
    expect(node(kind === 'AgentRun' ? agentRun : skillPack, path)).toMatchObject(expected);
  });

  it('AgentRun spec is required and task, agent, timeoutSeconds are immutable', () => {
    expect(agentRun.required).toEqual(['spec']);
    const rules = (node(agentRun, 'spec')['x-kubernetes-validations'] as { rule: string; fieldPath: string }[]).filter((r) =>
      r.rule.includes('oldSelf'),
    );
    expect(rules.map((r) => r.fieldPath)).toEqual(['.task', '.agent', '.timeoutSeconds']);
  });

  it.each([
    ['AgentRun', 'self.metadata.name.size() <= 63'],
    ['SkillPack', 'self.metadata.name.size() <= 57'],
  ])('%s limits metadata.name at the root', (kind, rule) => {
    const schema = kind === 'AgentRun' ? agentRun : skillPack;
    expect((schema['x-kubernetes-validations'] as { rule: string }[])[0]?.rule).toContain(rule);
  });

  it('the tool fields are exactly what the executor parses', () => {
    expect(Object.keys(node(skillPack, 'spec.tools[]').properties as object)).toEqual([
      'name', 'description', 'command', 'timeoutSeconds', 'parameters', 'args', 'freeArguments', 'argPolicy',
    ]);
    expect(Object.keys(node(skillPack, 'spec.tools[].argPolicy').properties as object)).toEqual([
      'allowedFlags', 'deniedFlags', 'allowedPatterns', 'deniedPatterns', 'maxArgs', 'parser',
    ]);
    expect(Object.keys(node(skillPack, 'spec.tools[].parameters').properties as object)).toEqual(['type', 'properties', 'required']);
  });
});

describe('docs/api.md', () => {
  const docs = generatedFiles().find((f) => f.path === 'docs/api.md')?.content ?? '';

  it('is up to date (npm run gen:crds)', () => {
    expect(readFileSync(join(root, 'docs', 'api.md'), 'utf8')).toBe(docs);
  });

  it.each(['spec.task', 'spec.skills[].enabled', 'spec.tools[].argPolicy.deniedFlags', 'status.skills[].rbac', 'spec.podLabels'])(
    'documents %s',
    (path) => {
      expect(docs).toContain(`| \`${path}\` |`);
    },
  );
});
