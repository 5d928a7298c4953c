import { describe, expect, it } from 'vitest';
import { parseAgentRun, parseSkillPack } from './parse.ts';
import { INVALID_CASES, minimalAgentRun, minimalSkillPack, validAgentRun, validSkillPack } from './testdata/fixtures.ts';

const parsers = { AgentRun: parseAgentRun, SkillPack: parseSkillPack } as const;
const fixtures = { AgentRun: validAgentRun, SkillPack: validSkillPack } as const;

describe('parse accepts valid objects', () => {
  it.each([
    ['AgentRun', validAgentRun],
    ['AgentRun', minimalAgentRun],
    ['SkillPack', validSkillPack],
    ['SkillPack', minimalSkillPack],
  ] as const)('%s %#', (kind, make) => {
    const result = parsers[kind](make());
    expect(result.ok ? [] : result.issues).toEqual([]);
  });
});

describe('parse applies the CRD defaults', () => {
  it('AgentRun: timeoutSeconds 600, skills enabled', () => {
    const result = parseAgentRun(validAgentRun());
    if (!result.ok) throw new Error(result.error);
    expect(result.value.spec.timeoutSeconds).toBe(600);
    expect(result.value.spec.skills).toEqual([
      { name: 'kubectl', enabled: true },
      { name: 'git', enabled: false },
    ]);
    expect(result.value.spec.agent?.egress?.[0]?.ports?.[0]?.protocol).toBe('TCP');
  });

  it('SkillPack: tool timeoutSeconds 60', () => {
    const result = parseSkillPack(minimalSkillPack());
    if (!result.ok) throw new Error(result.error);
    expect(result.value.spec.tools[0]?.timeoutSeconds).toBe(60);
  });

  it('keeps unknown metadata (resourceVersion, managedFields) for writes back', () => {
    const obj = minimalAgentRun();
    obj.metadata = { name: 'x', namespace: 'n', resourceVersion: '7', managedFields: [{ manager: 'kubectl' }] };
    const result = parseAgentRun(obj);
    if (!result.ok) throw new Error(result.error);
    expect(result.value.metadata).toMatchObject({ resourceVersion: '7', managedFields: [{ manager: 'kubectl' }] });
  });
});

describe('parse refuses invalid objects, naming the field', () => {
  it.each(INVALID_CASES.map((c) => [c.kind, c.name, c] as const))('%s: %s', (kind, _name, c) => {
    const obj = fixtures[kind]();
    c.change(obj);
    const result = parsers[kind](obj);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const issue = result.issues.find((i) => i.path === c.path);
    expect(issue, `issues: ${JSON.stringify(result.issues)}`).toBeDefined();
    expect(issue?.message).toContain(c.message);
    expect(result.error).toContain(`${c.path}: `);
  });
});

describe('parse errors', () => {
  it.each([
    ['not an object', null, '', 'must be an object'],
    ['wrong kind', { ...minimalAgentRun(), kind: 'Pod' }, 'kind', 'must be one of "AgentRun"'],
    ['wrong apiVersion', { ...minimalAgentRun(), apiVersion: 'skillpod.io/v1' }, 'apiVersion', 'must be one of'],
    ['spec missing', { ...minimalAgentRun(), spec: undefined }, 'spec', 'is required'],
  ])('%s', (_name, obj, path, message) => {
    const result = parseAgentRun(obj);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toContainEqual({ path, message: expect.stringContaining(message) as string });
  });

  it('names the object and every problem in one line', () => {
    const obj = validAgentRun();
    (obj.spec as Record<string, unknown>).timeoutSeconds = 0;
    (obj.spec as Record<string, unknown>).task = '';
    const result = parseAgentRun(obj);
    expect(result.ok ? '' : result.error).toBe(
      'AgentRun team-a/fix-the-build is invalid: spec.task: must not be empty; spec.timeoutSeconds: must be at least 1',
    );
  });

  it('quotes map keys that are not identifiers', () => {
    const obj = validAgentRun();
    (obj.spec as Record<string, unknown>).nodeSelector = { 'kubernetes.io/arch': 'a b' };
    const result = parseAgentRun(obj);
    expect(result.ok ? [] : result.issues.map((i) => i.path)).toEqual(['spec.nodeSelector["kubernetes.io/arch"]']);
  });
});
