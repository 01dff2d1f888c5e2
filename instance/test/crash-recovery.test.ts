/**
 * Nothing lost at a crash, end to end: real simnet, MongoDB-wire server and instance processes.
 *
 * The persistence window is made wide on purpose (`PERSIST_FLUSH_MS` 10 minutes, a batch larger than the burst):
 * every message the device received sits in the in-memory batch when the process is killed, so what a crash can lose
 * is lost every time instead of by chance. The restarted instance runs with the usual window.
 *
 * 1. The journal: 1,000 inbound messages in a burst, SIGKILL once hundreds were confirmed to the network (which then
 *    never sends them again), restart on the same data dir → all 1,000 stored exactly once. The gap fill is off here,
 *    so the journal alone has to bring them back.
 * 2. The gap fill: the same with the journal file deleted after the kill (messages lost before the journal): after the
 *    reconnect the instance fetches them from the chat history → all stored exactly once.
 */
import { rmSync, statSync } from 'node:fs';
import { eventually, startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { journalFilePath } from '../src/storage/journal.js';
import { openStore, type Store } from '../src/storage/store.js';
import { loginWithQr, startInstance, startSimnet, type RunningInstance, type RunningSimnet } from './harness.js';

/** The whole burst stays in memory until the process dies. */
const WIDE_WINDOW = { PERSIST_FLUSH_MS: '600000', PERSIST_BATCH_SIZE: '100000' };
const NORMAL_WINDOW = { PERSIST_FLUSH_MS: '50', PERSIST_BATCH_SIZE: '500' };

interface WireMessage {
  id: string;
  ack: number;
  body: string;
}

/** The message key (shared by the sender's and the receiver's ids): `<fromMe>_<chatId>_<KEY>`. */
const keyOf = (id: string) => id.split('_')[2]!;

describe('nothing lost at a crash', () => {
  let mongo: MongoServer;
  let simnet: RunningSimnet;
  const running: RunningInstance[] = [];
  const stores: Store[] = [];

  beforeAll(async () => {
    mongo = await startMongo();
    simnet = await startSimnet();
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled(running.map((i) => i.stop()));
    await Promise.allSettled(stores.map((s) => s.close()));
    await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
  });

  /** Messages `from` sent to `to`'s device that the network counts as delivered (ack ≥ 2). */
  async function delivered(from: string): Promise<number> {
    const sent = await simnet.hook<{ messages: WireMessage[] }>(`/hooks/accounts/${from}/sent`);
    return sent.body.messages.filter((m) => m.ack >= 2).length;
  }

  /**
   * Logs an instance in as `me`, has `peer` send `count` messages in one burst, kills the instance with SIGKILL once
   * `killAfter` of them were confirmed to the network, runs `whileDown`, restarts it on the same data dir and database
   * and resolves with the ids the restarted instance stored (read from its database).
   */
  async function burstAndKill(o: {
    me: string;
    peer: string;
    count: number;
    killAfter: number;
    env: NodeJS.ProcessEnv;
    beforeBurst?: (inst: RunningInstance, wToken: string) => Promise<void>;
    whileDown?: (inst: RunningInstance) => void;
  }): Promise<{ store: Store; burstKeys: string[]; dataDir: string }> {
    const db = uniqueDbName('crash');
    const inst = await startInstance({ mongo, simnetUrl: simnet.url, db, env: { ...WIDE_WINDOW, ...o.env } });
    running.push(inst);
    const w = await inst.token('w');
    await loginWithQr(inst, simnet, o.me, w);
    await simnet.hook('/hooks/accounts', { phone: o.peer, pushname: 'Burst' });
    await o.beforeBurst?.(inst, w);
    const burst = await simnet.hook<{ ids: string[] }>('/hooks/burst', { from: o.peer, to: o.me, text: 'burst', count: o.count });
    expect(burst.status).toBe(201);
    await eventually(async () => (await delivered(o.peer)) >= o.killAfter, 30_000, 20);
    await inst.kill9();
    o.whileDown?.(inst);

    const again = await startInstance({ mongo, simnetUrl: simnet.url, db, dataDir: inst.dataDir, env: { ...NORMAL_WINDOW, ...o.env } });
    running.push(again);
    const store = await openStore(again.mongoUri);
    stores.push(store);
    await eventually(async () => (await again.api('GET', '/health')).body.session?.state === 'WORKING', 30_000);
    return { store, burstKeys: burst.body.ids.map(keyOf), dataDir: inst.dataDir };
  }

  /** Waits until the inbound messages of `peer` stop changing and checks they are exactly `keys`, each once. */
  async function expectStoredOnce(store: Store, peer: string, keys: string[]): Promise<void> {
    const filter = { chatId: `${peer}@c.us`, fromMe: false };
    await eventually(async () => (await store.col.messages.countDocuments(filter)) >= keys.length, 60_000, 250).catch(() => undefined);
    const docs = await store.col.messages.find(filter, { projection: { _id: 1 } }).toArray();
    const stored = docs.map((d) => keyOf(d._id));
    expect(new Set(stored).size).toBe(stored.length);
    expect(stored.length).toBe(keys.length);
    expect(new Set(stored)).toEqual(new Set(keys));
  }

  test('1,000 inbound messages in a burst, SIGKILL about a second in, restart: all 1,000 stored exactly once (journal replay)', async () => {
    const peer = '15550091002';
    const { store, burstKeys, dataDir } = await burstAndKill({
      me: '15550091001',
      peer,
      count: 1_000,
      killAfter: 300,
      env: { GAP_FILL_MESSAGES: '0' },
    });
    expect(burstKeys).toHaveLength(1_000);
    await expectStoredOnce(store, peer, burstKeys);
    // Once their batches are written, the replayed entries are released: the journal is emptied.
    await eventually(() => statSync(journalFilePath(dataDir)).size === 0, 30_000);
  }, 180_000);

  test('messages lost before the journal (journal deleted after the kill) are fetched from the chat history after the reconnect', async () => {
    const me = '15550092001';
    const peer = '15550092002';
    const { store, burstKeys } = await burstAndKill({
      me,
      peer,
      count: 300,
      killAfter: 300,
      env: { GAP_FILL_MESSAGES: '1000' },
      // A message sent through the API (waiting until it is sent, so stored): the chat has a stored message to fill the gap from.
      beforeBurst: async (inst, w) => {
        const sent = await inst.api('POST', '/v1/messages?wait=true', { token: w, body: { to: peer, text: 'anchor' } });
        expect(sent.status).toBe(201);
      },
      whileDown: (inst) => rmSync(journalFilePath(inst.dataDir), { force: true }),
    });
    await expectStoredOnce(store, peer, burstKeys);
  }, 180_000);
});
