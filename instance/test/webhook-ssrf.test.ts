/**
 * Issue 14, feature 1: the webhook SSRF guard. Addresses in every form (IPv4, IPv6, decimal / octal / hex), names
 * resolved by a real DNS server on loopback (a name resolving to 127.0.0.1, a rebinding name), a redirect to a private
 * address, and the caps on the answer — against a real instance process.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually, startMongo, type MongoServer } from '@wacloud/testenv';
import { WebhookGuard } from '../src/webhooks/ssrf.js';
import { startInstance, startSimnet, type RunningInstance, type RunningSimnet } from './harness.js';
import { startDnsServer, type TestDnsServer } from './webhook-dns.js';

const LITERAL_REFUSED = [
  // IPv4
  'http://127.0.0.1/h',
  'http://10.1.2.3/h',
  'http://172.16.5.4/h',
  'http://192.168.0.1/h',
  'http://169.254.169.254/latest/meta-data/',
  'http://100.64.0.1/h',
  'http://0.0.0.0/h',
  'http://224.0.0.1/h',
  'http://255.255.255.255/h',
  // IPv6
  'http://[::1]/h',
  'http://[::]/h',
  'http://[fd00::1]/h',
  'http://[fe80::1]/h',
  'http://[ff02::1]/h',
  'http://[fd00:ec2::254]/h',
  'http://[::ffff:127.0.0.1]/h',
  'http://[::ffff:a9fe:a9fe]/h',
  'http://[64:ff9b::7f00:1]/h',
  'http://[2002:7f00:1::]/h',
  // decimal, octal, hex and short forms of 127.0.0.1 and 169.254.169.254
  'http://2130706433/h',
  'http://0177.0.0.1/h',
  'http://0x7f.0.0.1/h',
  'http://0x7f000001/h',
  'http://017700000001/h',
  'http://127.1/h',
  'http://0xa9fea9fe/h',
  'http://2852039166/h',
];

describe('the guard judges the address every URL form denotes', () => {
  const guard = new WebhookGuard({ allowCidrs: [], denyCidrs: ['203.0.113.0/24'], dnsServers: [] });

  test.each(LITERAL_REFUSED)('%s is refused', async (url) => {
    await expect(guard.target(url)).rejects.toThrow(/webhooks go to public addresses only/);
  });

  test('public IPv4 and IPv6 addresses pass, and the checked address is the one to connect to', async () => {
    await expect(guard.target('https://93.184.216.34/h')).resolves.toMatchObject({ address: '93.184.216.34', family: 4 });
    await expect(guard.target('https://[2606:4700:4700::1111]/h')).resolves.toMatchObject({ address: '2606:4700:4700::1111', family: 6 });
  });

  test("the operator's deny list (cluster ranges) refuses public-looking ranges; the allow list opens refused ones", async () => {
    await expect(guard.target('http://203.0.113.9/h')).rejects.toThrow(/cluster's refused ranges/);
    const open = new WebhookGuard({ allowCidrs: ['127.0.0.0/8'], denyCidrs: ['127.0.0.9/32'], dnsServers: [] });
    await expect(open.target('http://127.0.0.1/h')).resolves.toMatchObject({ address: '127.0.0.1' });
    await expect(open.target('http://127.0.0.9/h')).rejects.toThrow(/refused ranges/);
    expect(open.refusal('::1')).toBe('::1 (loopback)');
  });

  test('credentials in the URL and other schemes are refused', async () => {
    await expect(guard.target('http://user:pw@93.184.216.34/h')).rejects.toThrow(/credentials/);
    await expect(guard.target('file:///etc/passwd')).rejects.toThrow(/http and https/);
  });
});

interface Receiver {
  url: (host?: string) => string;
  port: number;
  hits: { path: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** A receiver bound to `address` (`port` 0: a free one) answering with `answer`. */
async function receiver(
  address: string,
  answer: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  port = 0,
): Promise<Receiver> {
  const hits: Receiver['hits'] = [];
  const server = http.createServer((req, res) => {
    hits.push({ path: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => answer(req, res));
  });
  await new Promise<void>((resolve) => server.listen(port, address, resolve));
  const p = (server.address() as AddressInfo).port;
  return {
    port: p,
    hits,
    url: (host = address) => `http://${host}:${p}/hook`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let mongo: MongoServer;
let simnet: RunningSimnet;
let dns: TestDnsServer;
/** The instance as operators run it: no allow list, names resolved by the test's DNS server. */
let strict: RunningInstance;
/** The same, with the allow list opening 127.0.0.2 only (the "public" address of these tests). */
let open: RunningInstance;
let evil: Receiver;
let good: Receiver;

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  dns = await startDnsServer();
  evil = await receiver('127.0.0.1', (_req, res) => res.writeHead(200).end('got it'));
  // The same port on 127.0.0.2: a connection that went to the other address of a name would land on `evil`.
  good = await receiver('127.0.0.2', (_req, res) => res.writeHead(200).end('ok'), evil.port);
  const env = { WEBHOOK_DNS_SERVERS: dns.server, WEBHOOK_MAX_ATTEMPTS: '3', WEBHOOK_RETRY_BASE_MS: '100', WEBHOOK_RETRY_MAX_MS: '200' };
  [strict, open] = await Promise.all([
    startInstance({ mongo, simnetUrl: simnet.url, env: { ...env, WEBHOOK_ALLOW_CIDRS: '' } }),
    startInstance({ mongo, simnetUrl: simnet.url, env: { ...env, WEBHOOK_ALLOW_CIDRS: '127.0.0.2/32', WEBHOOK_TIMEOUT_MS: '1500' } }),
  ]);
}, 90_000);

afterAll(async () => {
  await Promise.allSettled([strict?.stop(), open?.stop()]);
  await Promise.allSettled([simnet?.stop(), dns?.close(), evil?.close(), good?.close(), mongo?.stop()]);
});

const put = (inst: RunningInstance, url: string) => inst.internal('PUT', '/internal/v1/webhook', { url, events: ['message'] });
const log = async (inst: RunningInstance) =>
  (await inst.internal<{ items: any[] }>('GET', '/internal/v1/webhook/deliveries?limit=200')).body.items;
async function delivered(inst: RunningInstance, id: string, status: 'delivered' | 'failed') {
  return eventually(async () => (await log(inst)).find((d) => d.id === id && d.status === status), 20_000);
}

describe('a running instance refuses receivers on internal addresses', () => {
  test.each(['127.0.0.1', '[::1]', '2130706433', '0177.0.0.1', '0x7f.0.0.1', '[::ffff:127.0.0.1]'])(
    'setting http://%s:<port>/hook answers 422 webhook_url_refused',
    async (host) => {
      const r = await put(strict, `http://${host}:${evil.port}/hook`);
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('webhook_url_refused');
    },
  );

  test('a name resolving to 127.0.0.1 is refused, and so is a name with one private address among public ones', async () => {
    dns.a['loop.wacloud.test'] = [['127.0.0.1']];
    dns.a['mixed.wacloud.test'] = [['93.184.216.34', '10.0.0.5']];
    const loop = await put(strict, `http://loop.wacloud.test:${evil.port}/hook`);
    expect(loop.status).toBe(422);
    expect(loop.body.error.message).toMatch(/loop\.wacloud\.test resolves to 127\.0\.0\.1 \(loopback\)/);
    const mixed = await put(strict, 'http://mixed.wacloud.test/hook');
    expect(mixed.status).toBe(422);
    expect(mixed.body.error.message).toMatch(/10\.0\.0\.5 \(private\)/);
    expect(dns.queries).toContain('A loop.wacloud.test');
    expect(evil.hits).toHaveLength(0);
  });

  test('a rebinding name: the connection goes to the checked address, and a later answer of 127.0.0.1 is refused', async () => {
    // The first two answers (the settings check, the first delivery) are the allowed 127.0.0.2; then 127.0.0.1.
    dns.a['rebind.wacloud.test'] = [['127.0.0.2'], ['127.0.0.2'], ['127.0.0.1']];
    expect((await put(open, `http://rebind.wacloud.test:${evil.port}/hook`)).status).toBe(200);
    const first = await open.internal('POST', '/internal/v1/webhook/test');
    expect(first.status).toBe(202);
    const ok = await delivered(open, first.body.id, 'delivered');
    expect(ok).toMatchObject({ httpStatus: 200, address: '127.0.0.2', attempts: 1 });
    expect(good.hits.map((h) => h.headers['x-wacloud-event-id'])).toEqual([first.body.id]);
    expect(good.hits[0]!.headers.host).toBe(`rebind.wacloud.test:${evil.port}`);
    const second = await open.internal('POST', '/internal/v1/webhook/test');
    const refused = await delivered(open, second.body.id, 'failed');
    expect(refused.error).toMatch(/^refused: rebind\.wacloud\.test resolves to 127\.0\.0\.1 \(loopback\)/);
    expect(refused.attempts).toBe(1); // refused is final, not retried
    expect(evil.hits).toHaveLength(0);
  });

  test('a redirect to a private address is not followed: the delivery fails at once', async () => {
    const redirecting = await receiver('127.0.0.2', (_req, res) => res.writeHead(302, { location: evil.url() }).end());
    try {
      expect((await put(open, redirecting.url())).status).toBe(200);
      const t = await open.internal('POST', '/internal/v1/webhook/test');
      const failed = await delivered(open, t.body.id, 'failed');
      expect(failed).toMatchObject({ httpStatus: 302, attempts: 1 });
      expect(failed.error).toContain(`redirect not followed (302 to ${evil.url()})`);
      expect(redirecting.hits).toHaveLength(1);
      expect(evil.hits).toHaveLength(0);
    } finally {
      await redirecting.close();
    }
  });

  test('an endless answer is cut after the size cap (delivered on its status); a silent receiver times out', async () => {
    let cut = false;
    const endless = await receiver('127.0.0.2', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(16 * 1024, 120);
      const pump = () => {
        while (res.write(chunk));
      };
      res.on('drain', pump);
      res.on('close', () => (cut = true));
      pump();
    });
    const silent = await receiver('127.0.0.2', () => {
      /* never answers */
    });
    try {
      expect((await put(open, endless.url())).status).toBe(200);
      const a = await open.internal('POST', '/internal/v1/webhook/test');
      expect(await delivered(open, a.body.id, 'delivered')).toMatchObject({ httpStatus: 200, error: null });
      await eventually(() => cut, 10_000);
      expect((await put(open, silent.url())).status).toBe(200);
      const b = await open.internal('POST', '/internal/v1/webhook/test');
      const timedOut = await eventually(async () => (await log(open)).find((d) => d.id === b.body.id && d.attempts >= 1), 20_000);
      expect(timedOut.error).toBe('timed out after 1500 ms');
      expect(timedOut.httpStatus).toBeNull();
    } finally {
      await Promise.all([endless.close(), silent.close()]);
    }
  });
});
