import { describe, expect, it } from 'vitest';
import { containsCIDR, isCIDR } from './cidr.ts';
import { isQualifiedName, re2Problem } from './formats.ts';

describe('re2Problem', () => {
  it.each([
    ['[-a-zA-Z0-9_./=:]+', undefined],
    ['(?i)secret', undefined],
    ['(?i:get|list)', undefined],
    ['(?P<verb>get)', undefined],
    ['\\Aabc\\z', undefined],
    ['(?=a)', 'lookaround'],
    ['(?<!a)b', 'lookaround'],
    ['(a)\\1', 'backreferences'],
    ['(a', 'Unterminated group'],
  ])('%s', (pattern, problem) => {
    const result = re2Problem(pattern);
    if (problem === undefined) expect(result).toBeUndefined();
    else expect(result).toContain(problem);
  });
});

describe('isCIDR agrees with the Kubernetes CEL library', () => {
  it.each([
    ['10.0.0.0/8', true],
    ['192.168.0.1/24', true], // not canonical, still a CIDR (as netip.ParsePrefix says)
    ['0.0.0.0/0', true],
    ['fd00::/8', true],
    ['::1/128', true],
    ['10.0.0.0/33', false],
    ['10.0.0.0', false],
    ['10.0.0.0/08', false],
    ['010.0.0.0/8', false],
    ['::ffff:10.0.0.0/104', false], // IPv4-mapped IPv6 is refused
    ['fe80::1%eth0/64', false],
    ['', false],
  ])('%s → %s', (cidr, ok) => {
    expect(isCIDR(cidr)).toBe(ok);
  });
});

describe('containsCIDR', () => {
  it.each([
    ['10.0.0.0/8', '10.1.0.0/16', true],
    ['10.0.0.0/8', '10.0.0.0/8', true],
    ['10.0.0.0/16', '10.0.0.0/8', false],
    ['10.0.0.0/8', '11.0.0.0/16', false],
    ['fd00::/8', 'fd12:3456::/32', true],
    ['fd00::/8', '10.0.0.0/8', false],
    ['2001:db8::/32', '2001:db9::/48', false],
  ])('%s ⊇ %s → %s', (outer, inner, ok) => {
    expect(containsCIDR(outer, inner)).toBe(ok);
  });
});

describe('isQualifiedName', () => {
  it.each([
    ['tier', true],
    ['example.com/tier', true],
    ['kubernetes.io/metadata.name', true],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
    [`${'a'.repeat(254)}/x`, false],
    ['-tier', false],
    ['Example.com/tier', false],
    ['a b', false],
    ['/tier', false],
  ])('%s → %s', (key, ok) => {
    expect(isQualifiedName(key)).toBe(ok);
  });
});
