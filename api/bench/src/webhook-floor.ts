/**
 * The ideal fan-out of a webhook burst on the same server: what delivering `events` webhooks costs when nothing but
 * the durable minimum is done, by one plain Node process (full V8 tiers, the driver, undici), in the instance's own
 * database next to its collections and with the same indexes:
 *
 * 1. store each inbound message (`insertMany` of {@link CHUNK} messages; copies of a real stored message of the burst,
 *    new ids);
 * 2. POST its event, signed as the instance signs (HMAC-SHA256 over `<timestamp>.<body>`), {@link CONCURRENCY} at
 *    once over keep-alive connections, as soon as its message's chunk is stored (storing the next chunk meanwhile);
 * 3. store each event once, with its outcome (`insertMany` of {@link CHUNK} delivered records, copies of a real outbox
 *    record of the burst) — the instance's way since events are delivered before they are stored (2026-12-05; until
 *    then the floor stored each event pending first, then deleted it and inserted it as delivered).
 *
 * Nothing else: no WebSocket from the network, no journal, no chat or contact upserts, no events for the api, no logs
 * or metrics. Its deliveries/s (distinct events at the receiver / last arrival − start, the platform's own definition)
 * is the most a platform storing its messages and a record of each delivery on this server could deliver here; if it
 * is below the goal's share of the receiver's rate, that goal cannot be met on this machine with this server.
 */
import { createHmac } from 'node:crypto';
import mongoose from 'mongoose';
import { Pool } from 'undici';

/** Messages (and events) stored per write. */
const CHUNK = 250;
/** POSTs in flight at once (the instance dispatcher's default concurrency). */
const CONCURRENCY = 64;

export interface FloorReceiver {
  url: string;
  /** Arrivals so far: the event id header and performance.now() at arrival. */
  got: ReadonlyArray<{ eventId: string; at: number }>;
}

export interface FanOutFloor {
  /** Distinct events delivered / (last arrival − start), per second. */
  rate: number;
  /** Start to last arrival, ms. */
  ms: number;
  /** Start to the last outcome stored, ms. */
  storedMs: number;
}

type Doc = Record<string, unknown> & { _id: string };

/**
 * Runs the ideal fan-out of `events` events to `receiver` in the database at `dbUri` (collections `floor_messages` and
 * `floor_outbox`, created with the indexes of `messages` and `outbox`, dropped at the end). `message` and `event` are a
 * stored message and outbox record of the platform's burst, copied with new ids.
 * @throws Error when a POST is not answered 2xx or a write fails.
 */
export async function idealFanOut(
  dbUri: string,
  receiver: FloorReceiver,
  template: { message: Doc; event: Doc },
  events: number,
): Promise<FanOutFloor> {
  const conn = await mongoose.createConnection(dbUri).asPromise();
  const db = conn.db!;
  const messages = db.collection<Doc>('floor_messages');
  const outbox = db.collection<Doc>('floor_outbox');
  const pool = new Pool(new URL(receiver.url).origin, { connections: CONCURRENCY });
  const tag = `floor-${Date.now().toString(36)}`;
  try {
    for (const [from, to] of [
      ['messages', messages],
      ['outbox', outbox],
    ] as const) {
      await to.drop().catch(() => undefined);
      await db.createCollection(to.collectionName);
      for (const ix of await db.collection(from).listIndexes().toArray()) {
        if (ix.name === '_id_') continue;
        const { key, v: _v, ns: _ns, ...options } = ix;
        await to.createIndex(key, options);
      }
    }
    const path = new URL(receiver.url).pathname;
    const secret = 'floor-secret';
    const queue: Doc[] = [];
    const marks: Doc[] = [];
    let storing = true;
    const waiters: Array<() => void> = [];
    const wake = () => {
      for (const w of waiters.splice(0)) w();
    };
    const t0 = performance.now();

    const store = (async () => {
      try {
        for (let i = 0; i < events; i += CHUNK) {
          const n = Math.min(CHUNK, events - i);
          const now = new Date();
          const msgs = Array.from({ length: n }, (_, k) => ({ ...template.message, _id: `${tag}-m${i + k}`, createdAt: now }));
          await messages.insertMany(msgs, { ordered: false });
          // Their events, in memory until delivered (stored once, with the outcome, below).
          const evs = Array.from({ length: n }, (_, k) => ({
            ...template.event,
            _id: `${tag}-e${i + k}`,
            status: 'pending',
            attempts: 0,
            createdAt: now,
            nextAttemptAt: now,
            lockedUntil: null,
          }));
          queue.push(...evs);
          wake();
        }
      } finally {
        storing = false;
        wake();
      }
    })();

    const post = async (ev: Doc): Promise<void> => {
      const body = JSON.stringify({ id: ev._id, event: ev.event, instanceId: 'floor', createdAt: ev.createdAt, payload: ev.payload });
      const ts = Math.floor(Date.now() / 1000);
      const signature = `v1=${createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')}`;
      const res = await pool.request({
        path,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-wacloud-event-id': ev._id,
          'x-wacloud-event': String(ev.event),
          'x-wacloud-timestamp': String(ts),
          'x-wacloud-attempt': '1',
          'x-wacloud-signature': signature,
        },
        body,
      });
      await res.body.dump();
      if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`floor: receiver answered ${res.statusCode}`);
      marks.push({ ...ev, status: 'delivered', attempts: 1, lastStatus: res.statusCode, deliveredAt: new Date() });
    };
    const worker = async (): Promise<void> => {
      for (;;) {
        const ev = queue.shift();
        if (ev) {
          await post(ev);
          continue;
        }
        if (!storing) return;
        await new Promise<void>((r) => waiters.push(r));
      }
    };

    let outcomes = 0;
    const writeMarks = async (all: boolean): Promise<void> => {
      while (marks.length >= CHUNK || (all && marks.length > 0)) {
        const chunk = marks.splice(0, CHUNK);
        await outbox.insertMany(chunk, { ordered: false });
        outcomes += chunk.length;
      }
    };
    let delivering = true;
    const marker = (async () => {
      while (delivering) {
        await writeMarks(false);
        await new Promise((r) => setTimeout(r, 20));
      }
      await writeMarks(true);
    })();
    await Promise.all([store, ...Array.from({ length: CONCURRENCY }, () => worker())]);
    delivering = false;
    await marker;
    const storedMs = performance.now() - t0;
    if (outcomes !== events) throw new Error(`floor: ${outcomes} outcomes stored of ${events}`);

    const firstAt = new Map<string, number>();
    for (const d of receiver.got) if (d.eventId.startsWith(tag) && !firstAt.has(d.eventId)) firstAt.set(d.eventId, d.at);
    if (firstAt.size !== events) throw new Error(`floor: ${firstAt.size} of ${events} events arrived`);
    const ms = Math.max(...firstAt.values()) - t0;
    return { rate: events / (ms / 1000), ms, storedMs };
  } finally {
    await pool.close();
    await messages.drop().catch(() => undefined);
    await outbox.drop().catch(() => undefined);
    await conn.close();
  }
}
