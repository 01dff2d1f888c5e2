/**
 * The SSRF guard of webhook deliveries: a receiver URL's host is resolved and refused when any of its addresses is not
 * a public unicast address — loopback, private (RFC 1918), carrier-grade NAT, link-local (with the metadata address
 * 169.254.169.254), unique-local (with fd00:ec2::254), multicast, unspecified, reserved, or an IPv6 form embedding an
 * IPv4 address (6to4, NAT64, Teredo) — or lies in the operator's deny list (the cluster's service and pod ranges).
 * The operator's allow list opens ranges (e.g. a receiver on the cluster's network, or loopback in tests); the deny
 * list wins over it. Every IP form the WHATWG URL parser or `ipaddr.js` understands (decimal `2130706433`, octal
 * `0177.0.0.1`, hex `0x7f.0.0.1`, IPv4-mapped IPv6) is judged by the address it denotes.
 *
 * Names are resolved with the system resolver (`dns.lookup`, all addresses) or, when DNS servers are configured, with a
 * `dns.Resolver` pointed at them (A and AAAA). The caller connects to the address that was checked
 * ({@link WebhookGuard.target}), never resolving again: a name that answers differently the next time (DNS rebinding)
 * cannot move the connection.
 */
import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Why a receiver is refused, for the tenant (never logged with secrets; the host and address are the tenant's own). */
export class WebhookRefusedError extends Error {
  override readonly name = 'WebhookRefusedError';
}

/** The host could not be resolved (temporary: a delivery is retried, a settings change is refused). */
export class WebhookResolveError extends Error {
  override readonly name = 'WebhookResolveError';
}

export interface WebhookGuardOptions {
  /** CIDRs opened although their class is refused (operator-level, `WEBHOOK_ALLOW_CIDRS`). */
  allowCidrs: readonly string[];
  /** CIDRs always refused (the cluster's service and pod ranges, `WEBHOOK_DENY_CIDRS`); wins over `allowCidrs`. */
  denyCidrs: readonly string[];
  /** DNS servers (`ip` or `ip:port`, `[ipv6]:port`); empty: the system resolver (`dns.lookup`). */
  dnsServers: readonly string[];
  /** Longest wait for one resolution, ms (default 5,000). */
  resolveTimeoutMs?: number;
}

/** A checked connection target: connect to `address` (family 4 or 6), keep `host` for TLS SNI and the Host header. */
export interface CheckedTarget {
  url: URL;
  host: string;
  address: string;
  family: 4 | 6;
}

/** Named ranges a receiver may never be in, whatever ipaddr.js calls them. */
const REFUSED_NAMES: Record<string, string> = {
  loopback: 'loopback',
  private: 'private',
  carrierGradeNat: 'private (carrier-grade NAT)',
  linkLocal: 'link-local',
  uniqueLocal: 'unique-local',
  multicast: 'multicast',
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  reserved: 'reserved',
  benchmarking: 'reserved (benchmarking)',
  as112: 'reserved',
  as112v6: 'reserved',
  amt: 'reserved',
  orchid2: 'reserved',
  droneRemoteIdProtocolEntityTags: 'reserved',
  rfc6145: 'an IPv4 translation address',
  rfc6052: 'an IPv4 translation address (NAT64)',
  '6to4': 'an IPv4 translation address (6to4)',
  teredo: 'an IPv4 translation address (Teredo)',
};

const METADATA = new Set(['169.254.169.254', 'fd00:ec2::254']);

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Parses CIDRs (`10.0.0.0/8`, `fd00::/8`; a bare address is a /32 or /128).
 * @throws Error naming the first invalid entry.
 */
export function parseCidrs(list: readonly string[]): Cidr[] {
  return list.map((c) => {
    try {
      if (c.includes('/')) return ipaddr.parseCIDR(c);
      const a = ipaddr.parse(c);
      return [a, a.kind() === 'ipv4' ? 32 : 128] as Cidr;
    } catch {
      throw new Error(`"${c}" is not a CIDR (e.g. 10.96.0.0/12 or fd00::/8)`);
    }
  });
}

function inAny(a: ipaddr.IPv4 | ipaddr.IPv6, cidrs: Cidr[]): boolean {
  return cidrs.some(([net, bits]) => net.kind() === a.kind() && a.match(net, bits));
}

/** `host:port` / `[v6]:port` / bare address → the form `Resolver#setServers` takes. @throws Error when invalid. */
function dnsServer(s: string): string {
  const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(s) ?? /^([^:]+)(?::(\d{1,5}))?$/.exec(s);
  const host = m ? m[1]! : s;
  if (!ipaddr.isValid(host)) throw new Error(`DNS server "${s}" must be an IP address with an optional port`);
  return s;
}

/** Checked IP-literal URLs remembered at most (then forgotten all at once). */
const MAX_LITERALS = 64;

export class WebhookGuard {
  private readonly allow: Cidr[];
  private readonly deny: Cidr[];
  private readonly resolver: dns.promises.Resolver | undefined;
  /** Checked targets of URLs whose host is an IP literal (nothing to resolve: the check cannot change), by URL. */
  private readonly literals = new Map<string, CheckedTarget>();

  /** @throws Error when a CIDR or DNS server is invalid (the configuration validates them first). */
  constructor(private readonly o: WebhookGuardOptions) {
    this.allow = parseCidrs(o.allowCidrs);
    this.deny = parseCidrs(o.denyCidrs);
    if (o.dnsServers.length) {
      this.resolver = new dns.promises.Resolver({ timeout: o.resolveTimeoutMs ?? 5_000, tries: 2 });
      this.resolver.setServers(o.dnsServers.map(dnsServer));
    }
  }

  /**
   * Why `address` may not receive webhooks (e.g. `127.0.0.1 (loopback)`), or undefined when it may.
   * IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
   */
  refusal(address: string): string | undefined {
    let a: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      a = ipaddr.process(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
    } catch {
      return `${address} is not an IP address`;
    }
    const shown = a.toString();
    if (inAny(a, this.deny)) return `${shown} (in the cluster's refused ranges)`;
    if (inAny(a, this.allow)) return undefined;
    if (METADATA.has(shown)) return `${shown} (the cloud metadata address)`;
    const range = a.range();
    if (range === 'unicast') return undefined;
    return `${shown} (${REFUSED_NAMES[range] ?? range})`;
  }

  /**
   * Every address `host` resolves to (an IP literal is itself), as `{address, family}`.
   * @throws WebhookResolveError when the name does not resolve (or resolves to nothing).
   */
  async resolve(host: string): Promise<{ address: string; family: 4 | 6 }[]> {
    const bare = host.replace(/^\[|\]$/g, '');
    if (ipaddr.isValid(bare)) {
      const a = ipaddr.parse(bare);
      return [{ address: a.toString(), family: a.kind() === 'ipv4' ? 4 : 6 }];
    }
    try {
      if (this.resolver) {
        const settle = (p: Promise<string[]>) => p.catch((e: NodeJS.ErrnoException) => (e.code === 'ENODATA' ? [] : Promise.reject(e)));
        const [v4, v6] = await Promise.all([settle(this.resolver.resolve4(bare)), settle(this.resolver.resolve6(bare))]);
        const all = [...v4.map((address) => ({ address, family: 4 as const })), ...v6.map((address) => ({ address, family: 6 as const }))];
        if (!all.length) throw Object.assign(new Error('no A or AAAA record'), { code: 'ENODATA' });
        return all;
      }
      const all = await dns.promises.lookup(bare, { all: true, order: 'ipv4first' });
      return all.map((r) => ({ address: r.address, family: r.family === 6 ? 6 : 4 }));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new WebhookResolveError(`the host name ${bare} could not be resolved (${code})`);
    }
  }

  /**
   * Checks a receiver URL: http(s), no credentials in it, and every address of its host allowed. Resolves with the
   * address to connect to (the first one; all were checked). A URL whose host is an IP literal is checked once and
   * remembered (a burst's deliveries skip parsing it again); a host name is resolved and checked on every call.
   * @throws WebhookRefusedError (not http(s), credentials, or an address refused); WebhookResolveError.
   */
  async target(raw: string): Promise<CheckedTarget> {
    const known = this.literals.get(raw);
    if (known) return known;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new WebhookRefusedError('the URL is not valid');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebhookRefusedError('only http and https URLs are allowed');
    if (url.username || url.password) throw new WebhookRefusedError('credentials in the URL are not allowed; use the signing secret');
    const host = url.hostname;
    const addresses = await this.resolve(host);
    for (const { address } of addresses) {
      const why = this.refusal(address);
      if (!why) continue;
      const literal = ipaddr.isValid(host.replace(/^\[|\]$/g, ''));
      throw new WebhookRefusedError(`${literal ? 'the address is' : `${host} resolves to`} ${why}; webhooks go to public addresses only`);
    }
    const checked: CheckedTarget = { url, host, address: addresses[0]!.address, family: addresses[0]!.family };
    if (ipaddr.isValid(host.replace(/^\[|\]$/g, ''))) {
      if (this.literals.size >= MAX_LITERALS) this.literals.clear();
      this.literals.set(raw, checked);
    }
    return checked;
  }
}

/**
 * A `lookup` for `http(s).request` that always answers the address the guard checked (`address`, IPv4 = 4 / IPv6 =
 * 6 `family`): the socket can then never resolve the name to another address (DNS rebinding between check and connect).
 */
export function pinnedLookup(address: string, family: number): LookupFunction {
  return (_host, opts, cb) => {
    if ((opts as { all?: boolean }).all)
      (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
    else cb(null, address, family);
  };
}
