/**
 * History import benchmark (sync after login): the time the `SyncService` takes to import `messages` messages —
 * `chats` chats of `perChat` messages each, read through `Engine.messagesSince` from an in-process engine that answers
 * at once — against a raw `insertMany(ordered: false)` of the same documents into an empty collection. Each run uses a
 * fresh database with the instance's indexes; the median of `runs` per side is reported. Target: ratio ≤ 1.6.
 */
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { uniqueDbName, type MongoServer } from '@wacloud/testenv';
import type { EngineChat, EngineMessage } from '@wacloud/instance/engines/engine';
import { LiveEvents } from '@wacloud/instance/services/live-events';
import { SyncService, IMPORT_BATCH } from '@wacloud/instance/services/sync';
import { toMessageDoc } from '@wacloud/instance/storage/messages';
import { openStore, type Store } from '@wacloud/instance/storage/store';
import { BenchEngine } from './bench-engine.js';
import { OWN_ID } from './fixtures.js';
import { median, round } from './stats.js';

export interface HistoryOptions {
  mongo: MongoServer;
  /** Messages imported per run. */
  messages: number;
  /** Messages per chat (HISTORY_IMPORT_MESSAGES). */
  perChat: number;
  runs: number;
  log: (line: string) => void;
}

export interface HistoryResult {
  messages: number;
  chats: number;
  perChat: number;
  runs: number;
  batch: number;
  sync: { medianMs: number; runsMs: number[]; perSec: number };
  raw: { medianMs: number; runsMs: number[]; perSec: number };
  /** sync / raw median time (target ≤ 1.6). */
  ratio: number;
}

/** An engine with `chats` chats whose histories are ready in memory. */
class HistoryEngine extends BenchEngine {
  constructor(private readonly history: Map<string, EngineMessage[]>) {
    super();
  }

  override async chats(): Promise<EngineChat[]> {
    return [...this.history.entries()].map(([id, msgs]) => ({
      id,
      name: id.split('@')[0],
      isGroup: false,
      unreadCount: 0,
      lastMessageAt: msgs.at(-1)?.timestamp,
    }));
  }

  override async messagesSince(chatId: string, sinceMs: number, limit: number): Promise<EngineMessage[]> {
    return (this.history.get(chatId) ?? []).slice(-limit).filter((m) => m.timestamp >= sinceMs);
  }
}

function makeHistory(messages: number, perChat: number): Map<string, EngineMessage[]> {
  const history = new Map<string, EngineMessage[]>();
  const t0 = Date.UTC(2026, 0, 1);
  for (let i = 0; i < messages; i++) {
    const chatId = `1555${String(1_000_000 + Math.floor(i / perChat)).padStart(7, '0')}@c.us`;
    const fromMe = i % 3 === 0;
    const key = i.toString(16).toUpperCase().padStart(20, '0');
    const list = history.get(chatId) ?? [];
    list.push({
      id: `${fromMe}_${chatId}_${key}`,
      chatId,
      author: fromMe ? OWN_ID : chatId,
      fromMe,
      isGroup: false,
      type: 'chat',
      body: `history message ${i} with some text in it`,
      timestamp: t0 + i * 1000,
      ack: fromMe ? 3 : 1,
    });
    history.set(chatId, list);
  }
  return history;
}

async function freshStore(mongo: MongoServer, tag: string): Promise<Store> {
  const store = await openStore(mongo.dbUri(uniqueDbName(tag)));
  await store.init();
  return store;
}

export async function runHistory(o: HistoryOptions): Promise<HistoryResult> {
  const history = makeHistory(o.messages, o.perChat);
  const docsOf = () => [...history.values()].flat().map((m) => toMessageDoc(m));
  const syncMs: number[] = [];
  const rawMs: number[] = [];
  for (let run = 0; run < o.runs; run++) {
    // Sides alternate so that a noisy neighbour hurts both alike.
    {
      const store = await freshStore(o.mongo, 'histsync');
      const sync = new SyncService({
        engine: new HistoryEngine(history),
        store,
        live: new LiveEvents(),
        logger: pino({ level: 'silent' }),
        historyPerChat: o.perChat,
      });
      const t = performance.now();
      const p = await sync.run();
      syncMs.push(performance.now() - t);
      if (p.phase !== 'done' || p.messagesImported !== o.messages)
        throw new Error(`sync imported ${p.messagesImported}: ${p.error ?? p.phase}`);
      await store.connection.dropDatabase();
      await store.close();
    }
    {
      const store = await freshStore(o.mongo, 'histraw');
      const docs = docsOf();
      const t = performance.now();
      await store.col.messages.insertMany(docs, { ordered: false });
      rawMs.push(performance.now() - t);
      await store.connection.dropDatabase();
      await store.close();
    }
    o.log(`history run ${run + 1}/${o.runs}: sync ${Math.round(syncMs.at(-1)!)} ms, raw ${Math.round(rawMs.at(-1)!)} ms`);
  }
  const side = (ms: number[]) => ({ medianMs: round(median(ms)), runsMs: ms.map(round), perSec: round(o.messages / (median(ms) / 1000)) });
  return {
    messages: o.messages,
    chats: history.size,
    perChat: o.perChat,
    runs: o.runs,
    batch: IMPORT_BATCH,
    sync: side(syncMs),
    raw: side(rawMs),
    ratio: median(syncMs) / median(rawMs),
  };
}
