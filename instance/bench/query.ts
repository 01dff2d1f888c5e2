/**
 * Query benchmark: `GET /v1/messages` through the real HTTP service (in-process `startInstanceApp`, simulated
 * engine, token auth, validation, JSON) against the same query sent straight through the MongoDB driver on a separate
 * connection: `find(messageFilter(f)).sort(MESSAGE_ORDER).limit(limit + 1).toArray()` — the query `findMessages`
 * (queries.ts) builds for that request. Cases: no filter, chatId (the chat closest to 1 % of the messages), fromMe,
 * isGroup, a one-day range, text (`q`, ~10 % of bodies), and the second pages (cursor) of no filter and of the chat.
 *
 * M messages are stored first with raw `insertMany` (batches of 1000) into the service's database (indexes created by
 * the service at start). Each query is checked once to return the same ids on both sides; then it is warmed up and
 * timed K times per side, the two sides interleaved (alternating which goes first) and run one request at a time, so
 * the figures are latencies, not throughput.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { MongoClient, type Filter } from 'mongodb';
import { pino } from 'pino';
import { uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { createSimnetServer, type SimnetServer } from '@wacloud/simnet';
import { loadInstanceConfig } from '@wacloud/instance/config';
import { startInstanceApp, type InstanceApp } from '@wacloud/instance/instance-app';
import { messageFilter, MESSAGE_ORDER, type MessageFilter } from '@wacloud/instance/storage/queries';
import type { MessageDoc } from '@wacloud/instance/storage/store';
import { makeMessages, RARE_WORD, storedDoc } from './fixtures.js';
import { percentile } from './stats.js';

export interface QueryOptions {
  mongo: MongoServer;
  /** Stored messages (M). */
  stored: number;
  /** Timed iterations per query and side (K). */
  iterations: number;
  /** Untimed iterations per query and side before timing. */
  warmup: number;
  /** Chats the stored messages are spread over. */
  chats: number;
  /** Progress lines (stderr). */
  log: (line: string) => void;
}

export interface QuerySide {
  /** Median latency, ms. */
  p50Ms: number;
  /** 95th percentile latency, ms. */
  p95Ms: number;
}

export interface QueryFigure {
  /** Short name: newest, chat, range, text. */
  name: string;
  /** The request's query string. */
  request: string;
  /** Items returned per call (same on both sides). */
  items: number;
  http: QuerySide;
  driver: QuerySide;
  /** http.p50 / driver.p50 (≤ 2 is the target). */
  ratio: number;
}

export interface QueryResult {
  stored: number;
  iterations: number;
  warmup: number;
  /** Time to store the M messages with insertMany, ms (setup, not a benchmark figure). */
  loadMs: number;
  queries: QueryFigure[];
}

interface QueryCase {
  name: string;
  params: Record<string, string>;
  /** The filter `findMessages` builds for `params` (`messageFilter`). */
  filter: Filter<MessageDoc>;
  limit: number;
}

/** A case whose driver filter is exactly what `findMessages` sends for the same request. */
function queryCase(name: string, f: MessageFilter & { limit: number }): QueryCase {
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(f)) if (v !== undefined) params[k] = v instanceof Date ? v.toISOString() : String(v);
  const { limit, ...rest } = f;
  return { name, params, filter: messageFilter(rest) as Filter<MessageDoc>, limit };
}

export async function runQuery(o: QueryOptions): Promise<QueryResult> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-bench-query-'));
  const uri = o.mongo.dbUri(uniqueDbName('bq'));
  let simnet: SimnetServer | undefined;
  let service: InstanceApp | undefined;
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    simnet = await createSimnetServer({ port: 0 });
    const internalKey = `bench-${randomBytes(12).toString('hex')}`;
    const config = loadInstanceConfig({
      PORT: '0',
      INTERNAL_PORT: '0',
      HOST: '127.0.0.1',
      MONGODB_URI: uri,
      INTERNAL_API_KEY: internalKey,
      ENGINE: 'simulated',
      SIMNET_URL: simnet.url,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
    });
    service = await startInstanceApp(config, pino({ level: 'silent' }));
    await client.connect();
    const col = client.db().collection<MessageDoc>('messages');

    // ---- data ----
    const fx = makeMessages({ count: o.stored, chats: o.chats, keyPrefix: 'Q' });
    const docs = fx.messages.map((m) => storedDoc(m));
    const t0 = performance.now();
    for (let i = 0; i < docs.length; i += 1000) {
      await col.insertMany(docs.slice(i, i + 1000), { ordered: false });
      if ((i / 1000) % 20 === 19) o.log(`query: stored ${i + 1000} / ${docs.length}`);
    }
    const loadMs = performance.now() - t0;
    const stored = await col.countDocuments({});
    if (stored !== o.stored) throw new Error(`query: ${stored} messages stored, expected ${o.stored}`);
    o.log(`query: stored ${stored} messages in ${Math.round(loadMs)} ms`);

    // ---- token ----
    const res = await fetch(`${service.internalUrl}/internal/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${internalKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench', permissions: 'r' }),
    });
    if (res.status !== 201) throw new Error(`token creation failed: ${res.status} ${await res.text()}`);
    const token = ((await res.json()) as { token: string }).token;

    // ---- queries ----
    // A selective chat filter: the chat holding closest to 1 % of the messages (at least one).
    const perChat = new Map<string, number>();
    for (const m of fx.messages) perChat.set(m.chatId, (perChat.get(m.chatId) ?? 0) + 1);
    const target = Math.max(1, o.stored / 100);
    const [chatId] = [...perChat].reduce((best, cur) => (Math.abs(cur[1] - target) < Math.abs(best[1] - target) ? cur : best));
    // A one-day window in the middle of the stored span.
    const since = new Date(fx.firstMs + (fx.lastMs - fx.firstMs) / 2);
    const until = new Date(since.getTime() + 86_400_000);
    // Second pages: the cursor the first page of the same request returns.
    const cursorOf = async (q: Record<string, string>): Promise<string> => {
      const r = await fetch(`${service!.publicUrl}/v1/messages?${new URLSearchParams({ ...q, limit: '50' }).toString()}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const c = ((await r.json()) as { nextCursor?: string | null }).nextCursor;
      if (!c) throw new Error(`no second page for ${JSON.stringify(q)}`);
      return c;
    };
    const cases: QueryCase[] = [
      queryCase('newest', { limit: 50 }),
      queryCase('chat', { chatId, limit: 50 }),
      queryCase('fromMe', { fromMe: true, limit: 50 }),
      queryCase('isGroup', { isGroup: true, limit: 50 }),
      queryCase('range', { since, until, limit: 50 }),
      queryCase('text', { q: RARE_WORD, limit: 50 }),
      queryCase('page2', { cursor: await cursorOf({}), limit: 50 }),
      queryCase('chatPage2', { chatId, cursor: await cursorOf({ chatId }), limit: 50 }),
    ];

    const figures: QueryFigure[] = [];
    for (const c of cases) {
      const qs = new URLSearchParams(c.params).toString();
      const url = `${service.publicUrl}/v1/messages?${qs}`;
      const viaHttp = async (): Promise<string[]> => {
        const r = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
        const body = (await r.json()) as { items?: Array<{ id: string }> };
        if (r.status !== 200 || !body.items) throw new Error(`GET /v1/messages?${qs}: ${r.status} ${JSON.stringify(body).slice(0, 300)}`);
        return body.items.map((m) => m.id);
      };
      const viaDriver = async (): Promise<string[]> => {
        const rows = await col
          .find(c.filter)
          .sort(MESSAGE_ORDER)
          .limit(c.limit + 1)
          .toArray();
        return rows.slice(0, c.limit).map((d) => d._id);
      };

      // Same answer on both sides, or the comparison is meaningless.
      const [a, b] = [await viaHttp(), await viaDriver()];
      if (a.length === 0 || a.join() !== b.join())
        throw new Error(`query ${c.name}: HTTP and driver disagree (${a.length} vs ${b.length} items)`);

      for (let i = 0; i < o.warmup; i++) {
        await viaHttp();
        await viaDriver();
      }
      const httpMs: number[] = [];
      const driverMs: number[] = [];
      const time = async (fn: () => Promise<unknown>, into: number[]) => {
        const s = performance.now();
        await fn();
        into.push(performance.now() - s);
      };
      for (let i = 0; i < o.iterations; i++) {
        if (i % 2 === 0) {
          await time(viaHttp, httpMs);
          await time(viaDriver, driverMs);
        } else {
          await time(viaDriver, driverMs);
          await time(viaHttp, httpMs);
        }
      }
      const http = { p50Ms: percentile(httpMs, 50), p95Ms: percentile(httpMs, 95) };
      const driver = { p50Ms: percentile(driverMs, 50), p95Ms: percentile(driverMs, 95) };
      figures.push({ name: c.name, request: `GET /v1/messages?${qs}`, items: a.length, http, driver, ratio: http.p50Ms / driver.p50Ms });
      o.log(`query ${c.name}: http p50 ${http.p50Ms.toFixed(2)} ms, driver p50 ${driver.p50Ms.toFixed(2)} ms`);
    }
    await client
      .db()
      .dropDatabase()
      .catch(() => undefined);
    return { stored, iterations: o.iterations, warmup: o.warmup, loadMs, queries: figures };
  } finally {
    await client.close();
    await service?.close();
    await simnet?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
