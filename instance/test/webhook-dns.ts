/**
 * A real DNS server on loopback for the webhook SSRF tests (UDP, packets encoded with dns-packet): each name has a
 * script of A answers, one list of addresses per query, the last one repeating — so a name can answer a checked
 * address first and 127.0.0.1 next (DNS rebinding). AAAA queries answer `aaaa[name]` or nothing; unknown names NXDOMAIN.
 */
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import * as packet from 'dns-packet';

export interface TestDnsServer {
  /** `127.0.0.1:<port>`, for WEBHOOK_DNS_SERVERS. */
  server: string;
  /** Per name: the A answers of the next queries, in order; the last one repeats. */
  a: Record<string, string[][]>;
  aaaa: Record<string, string[]>;
  /** Names and types asked, in order. */
  queries: string[];
  close(): Promise<void>;
}

export async function startDnsServer(): Promise<TestDnsServer> {
  const socket = dgram.createSocket('udp4');
  const dns: TestDnsServer = { server: '', a: {}, aaaa: {}, queries: [], close: async () => {} };
  socket.on('message', (msg, rinfo) => {
    let q: packet.DecodedPacket;
    try {
      q = packet.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    if (!question) return;
    const name = question.name.toLowerCase();
    dns.queries.push(`${question.type} ${name}`);
    let answers: packet.Answer[] = [];
    const known = name in dns.a || name in dns.aaaa;
    if (question.type === 'A' && dns.a[name]) {
      const script = dns.a[name];
      const next = script.length > 1 ? script.shift()! : script[0]!;
      answers = next.map((data) => ({ type: 'A', name: question.name, class: 'IN', ttl: 0, data }));
    } else if (question.type === 'AAAA' && dns.aaaa[name]) {
      answers = dns.aaaa[name].map((data) => ({ type: 'AAAA', name: question.name, class: 'IN', ttl: 0, data }));
    }
    const reply = packet.encode({
      id: q.id,
      type: 'response',
      flags: packet.AUTHORITATIVE_ANSWER | packet.RECURSION_AVAILABLE | (known ? 0 : 3), // rcode 3: NXDOMAIN
      questions: q.questions,
      answers,
    });
    socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  dns.server = `127.0.0.1:${(socket.address() as AddressInfo).port}`;
  dns.close = () => new Promise((resolve) => socket.close(() => resolve()));
  return dns;
}
