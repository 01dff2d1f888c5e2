/**
 * IPv4 / IPv6 CIDR blocks as numbers, for the NetworkPolicy builder: an `ipBlock.except` entry must lie strictly
 * inside its `cidr` (the apiserver refuses the policy otherwise). Pure functions.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  /** The block as written, e.g. `10.0.0.0/8`. */
  text: string;
  family: 4 | 6;
  /** Prefix length in bits (0–32 for IPv4, 0–128 for IPv6). */
  prefix: number;
  /** First address of the block (host bits cleared). */
  start: bigint;
}

function ipv4ToBigInt(ip: string): bigint {
  return ip.split('.').reduce((n, octet) => (n << 8n) | BigInt(Number(octet)), 0n);
}

function ipv6ToBigInt(ip: string): bigint {
  let s = ip;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = ipv4ToBigInt(v4[1]!);
    s = `${s.slice(0, -v4[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/**
 * Parses `a.b.c.d/n` or `x:y::z/n`.
 * @throws Error naming the text when it is not a CIDR block (a bare address without `/n` is not accepted).
 */
export function parseCidr(text: string): Cidr {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  const family = m ? (isIPv4(m[1]!) ? 4 : isIPv6(m[1]!) ? 6 : undefined) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  const width = family === 4 ? 32 : 128;
  if (!m || !family || prefix > width) throw new Error(`${JSON.stringify(text)} is not a CIDR block (e.g. 10.0.0.0/8, fd00::/8)`);
  const addr = family === 4 ? ipv4ToBigInt(m[1]!) : ipv6ToBigInt(m[1]!);
  const hostBits = BigInt(width - prefix);
  return { text: text.trim(), family, prefix, start: (addr >> hostBits) << hostBits };
}

/** Whether `inner` lies inside `outer` (same family, prefix at least as long, same leading bits). */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || inner.prefix < outer.prefix) return false;
  const width = outer.family === 4 ? 32 : 128;
  const shift = BigInt(width - outer.prefix);
  return inner.start >> shift === outer.start >> shift;
}
