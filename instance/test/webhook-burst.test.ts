/**
 * Issue 18 item 2, webhook fan-out under a burst — the pieces that make the dispatcher keep up with the instance's
 * ingest (api/bench `webhooks`), against real servers (MongoDB-wire, a loopback HTTP receiver):
 * - the persister writes a backlog in burst-sized batches, so a burst's webhook events reach the dispatcher in a few
 *   large hand-overs rather than many small ones;
 * - the SSRF guard checks a URL whose host is an IP literal once (each delivery of a burst used to parse and check it
 *   again), and still checks a host name on every call;
 * - deliveries to one receiver share a bounded pool of kept-alive connections (at most the dispatcher's concurrency).
 */
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { Persister } from '../src/storage/persistence.js';
import { openStore, type OutboxDoc, type Store } from '../src/storage/store.js';
import { closeWebhookConnections, postWebhook } from '../src/webhooks/post.js';
import { WebhookGuard } from '../src/webhooks/ssrf.js';

const logger = pino({ level: 'silent' });

function event(i: number): OutboxDoc {
  const now = new Date();
  return {
    _id: `evt_burst_${String(i).padStart(6, '0')}`,
    event: 'message',
    payload: { body: `burst ${i}` },
    createdAt: now,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: now,
    lockedUntil: null,
  };
}

describe('webhook burst', () => {
  let mongo: MongoServer;
  let store: Store;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-webhook-burst-'));

  beforeAll(async () => {
    mongo = await startMongo();
    store = await openStore(mongo.dbUri(uniqueDbName('whburst')));
    await store.init();
  }, 60_000);
  afterAll(async () => {
    closeWebhookConnections();
    await store?.close();
    await mongo?.stop();
  });

  test('a backlog is stored in burst-sized batches and handed to the dispatcher in a few large hand-overs', async () => {
    const handed: number[] = [];
    const p = new Persister({
      store,
      logger,
      batchSize: 100,
      flushMs: 20,
      bufferLimit: 100_000,
      spillFile: path.join(dir, 'spill.ndjson'),
      onEventsStored: ({ events }) => handed.push(events.length),
    });
    for (let i = 0; i < 1_000; i++) p.enqueue({ kind: 'event', doc: event(i) });
    await p.flush();
    expect(await store.col.outbox.countDocuments({ _id: { $regex: /^evt_burst_/ } })).toBe(1_000);
    expect(handed.reduce((a, b) => a + b, 0)).toBe(1_000);
    // 4 × batchSize while that many wait (400, 400), then the rest in batches of batchSize (100, 100).
    expect(handed).toEqual([400, 400, 100, 100]);
    // A trickle keeps the configured batch size.
    handed.length = 0;
    for (let i = 1_000; i < 1_150; i++) p.enqueue({ kind: 'event', doc: event(i) });
    await p.flush();
    expect(handed).toEqual([100, 50]);
    await p.close();
  }, 60_000);

  test('the guard checks an IP-literal URL once, a host name on every call', async () => {
    const guard = new WebhookGuard({ allowCidrs: ['127.0.0.0/8', '::1/128'], denyCidrs: [], dnsServers: [] });
    const a = await guard.target('http://127.0.0.1:9/hook');
    expect(await guard.target('http://127.0.0.1:9/hook')).toBe(a);
    expect(a).toMatchObject({ address: '127.0.0.1', family: 4 });
    const n = await guard.target('http://localhost:9/hook');
    expect(await guard.target('http://localhost:9/hook')).not.toBe(n);
    // A refused literal stays refused (nothing remembered for it).
    await expect(guard.target('http://10.0.0.1/hook')).rejects.toThrow(/webhooks go to public addresses only/);
    await expect(guard.target('http://10.0.0.1/hook')).rejects.toThrow(/webhooks go to public addresses only/);
  });

  test('parallel deliveries to one receiver share at most `connections` kept-alive connections', async () => {
    const sockets = new Set<string>();
    let active = 0;
    let maxActive = 0;
    const server = http.createServer((req, res) => {
      sockets.add(`${req.socket.remotePort}`);
      active++;
      maxActive = Math.max(maxActive, active);
      req.resume();
      req.on('end', () =>
        setTimeout(() => {
          active--;
          res.writeHead(200).end('ok');
        }, 5),
      );
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const guard = new WebhookGuard({ allowCidrs: ['127.0.0.0/8'], denyCidrs: [], dnsServers: [] });
      const o = { guard, timeoutMs: 10_000, maxResponseBytes: 1024, connections: 4 };
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => postWebhook(url, { 'content-type': 'application/json' }, JSON.stringify({ i }), o)),
      );
      expect(results.every((r) => r.status === 200 && r.error === null && r.address === '127.0.0.1')).toBe(true);
      expect(maxActive).toBeLessThanOrEqual(4);
      expect(sockets.size).toBeLessThanOrEqual(4);
    } finally {
      closeWebhookConnections();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  }, 60_000);
});
