// CIDR parsing that agrees with the Kubernetes CEL `isCIDR`/`containsCIDR` functions, so that parse() and the
// API server accept the same ipBlocks.
import { isIPv4, isIPv6 } from 'node:net';

interface Prefix {
  family: 4 | 6;
  bits: number;
  value: bigint;
}

function ipToBigInt(ip: string, family: 4 | 6): bigint {
  if (family === 4) return ip.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
  const [head = '', tail = ''] = ip.includes('::') ? ip.split('::') : [ip, ''];
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  let h = groups(head);
  let t = groups(tail);
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const fix = (parts: string[]) =>
    parts.flatMap((p) => {
      if (!p.includes('.')) return [p];
      const v = ipToBigInt(p, 4);
      return [(v >> 16n).toString(16), (v & 0xffffn).toString(16)];
    });
  h = fix(h);
  t = fix(t);
  const all = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

export function parseCIDR(raw: string): Prefix | undefined {
  const slash = raw.indexOf('/');
  if (slash < 0) return undefined;
  const ip = raw.slice(0, slash);
  const len = raw.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(len)) return undefined;
  const family = isIPv4(ip) ? 4 : isIPv6(ip) && !ip.includes('%') ? 6 : undefined;
  if (family === undefined) return undefined;
  const bits = Number(len);
  if (bits > (family === 4 ? 32 : 128)) return undefined;
  const value = ipToBigInt(ip, family);
  // Go's netip refuses IPv4-mapped IPv6 prefixes, and so does the CEL library.
  if (family === 6 && value >> 32n === 0xffffn) return undefined;
  return { family, bits, value };
}

export function isCIDR(raw: string): boolean {
  return parseCIDR(raw) !== undefined;
}

/** True when `inner` lies within `outer` (same family, longer or equal prefix, same network bits). */
export function containsCIDR(outer: string, inner: string): boolean {
  const o = parseCIDR(outer);
  const i = parseCIDR(inner);
  if (!o || !i || o.family !== i.family || i.bits < o.bits) return false;
  const width = BigInt(o.family === 4 ? 32 : 128);
  const shift = width - BigInt(o.bits);
  return o.value >> shift === i.value >> shift;
}
