// A self-signed serving certificate made in memory (ECDSA P-256, SHA-256), for the secure metrics endpoint when no
// certificate is given, as controller-runtime's metrics server does: scrapers then skip verification (the
// ServiceMonitor's insecureSkipVerify) and rely on the bearer token and the API server's review for trust.
// Node has no X.509 writer, so the DER is written here: only what a serving certificate needs.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, ...content: Buffer[]) => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
};
const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const oid = (dotted: string) => {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const chunk: number[] = [];
    for (let v = n; ; v = Math.floor(v / 128)) {
      chunk.unshift((v % 128) | (chunk.length ? 0x80 : 0));
      if (v < 128) break;
    }
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
};
const integer = (bytes: Buffer) => tlv(0x02, bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
const utcTime = (d: Date) => tlv(0x17, Buffer.from(d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'));
const name = (cn: string) => seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn)))));
const ipBytes = (ip: string) => (isIP(ip) === 4 ? Buffer.from(ip.split('.').map(Number))
  : Buffer.from(expandIPv6(ip).flatMap((h) => [h >> 8, h & 0xff])));

function expandIPv6(ip: string): number[] {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const parts = (s: string) => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
  const h = parts(head);
  const t = tail === undefined ? [] : parts(tail);
  return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

const pem = (label: string, der: Buffer) => `-----BEGIN ${label}-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;

export interface ServingCertificate {
  key: string;
  cert: string;
}

/** A certificate for `hosts` (DNS names and IP addresses), valid from an hour ago for `days`. */
export function selfSignedCertificate(hosts: string[], days = 365, now = new Date()): ServingCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ecdsaSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const san = seq(...hosts.map((h) => (isIP(h) ? tlv(0x87, ipBytes(h)) : tlv(0x82, Buffer.from(h)))));
  const extensions = tlv(0xa3, seq(
    seq(oid('2.5.29.17'), tlv(0x04, san)),
    // keyUsage digitalSignature, critical; extKeyUsage serverAuth.
    seq(oid('2.5.29.15'), tlv(0x01, Buffer.from([0xff])), tlv(0x04, tlv(0x03, Buffer.from([0x07, 0x80])))),
    seq(oid('2.5.29.37'), tlv(0x04, seq(oid('1.3.6.1.5.5.7.3.1')))),
  ));
  const subject = name(`skillpod-operator@${Math.floor(now.getTime() / 1000)}`);
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))),
    integer(randomBytes(16)),
    ecdsaSha256,
    subject,
    seq(utcTime(new Date(now.getTime() - 3600_000)), utcTime(new Date(now.getTime() + days * 86400_000))),
    subject,
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = sign('sha256', tbs, privateKey);
  const cert = seq(tbs, ecdsaSha256, tlv(0x03, Buffer.from([0]), signature));
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), cert: pem('CERTIFICATE', cert) };
}
