import { describe, expect, it } from 'vitest';
import { childName, clusterChildName, skillContainerName, uidSuffix } from './names.ts';

const UID = '3F2A9C1E-7b4d-4e8a-9c0f-1a2b3c4d5e6f';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

describe('childName', () => {
  it.each([
    ['short name', 'demo', 'demo-3f2a9c1e7b4d'],
    ['63 characters are cut to fit', 'a'.repeat(63), `${'a'.repeat(50)}-3f2a9c1e7b4d`],
    ['dots become dashes (pod names must be hostnames)', 'web.v2.run', 'web-v2-run-3f2a9c1e7b4d'],
    ['no double dash at the cut', `${'a'.repeat(49)}-bbbb`, `${'a'.repeat(49)}-3f2a9c1e7b4d`],
    ['a cut ending in a dot', `${'a'.repeat(49)}.b`, `${'a'.repeat(49)}-3f2a9c1e7b4d`],
  ])('%s', (_what, name, want) => {
    const got = childName(name, UID);
    expect(got).toBe(want);
    expect(got.length).toBeLessThanOrEqual(63);
    expect(got).toMatch(DNS_LABEL);
  });

  it('differs for a run re-created under the same name', () => {
    expect(childName('demo', '00000000-0000-4000-8000-000000000001')).not.toBe(childName('demo', '00000001-0000-4000-8000-000000000001'));
  });

  it('refuses a UID without 12 leading hex characters', () => {
    expect(() => uidSuffix('not-a-uid')).toThrow(/12 hex/);
  });
});

describe('other names', () => {
  it('cluster-scoped names carry the namespace', () => {
    expect(clusterChildName('team-a', 'demo', UID)).toBe('skillpod:team-a:demo-3f2a9c1e7b4d');
  });
  it('sidecars are skill-<pack>, within 63 characters for the longest pack name', () => {
    expect(skillContainerName('kubectl')).toBe('skill-kubectl');
    expect(skillContainerName('p'.repeat(57))).toHaveLength(63);
  });
});
