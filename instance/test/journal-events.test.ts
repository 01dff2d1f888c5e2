/**
 * An inbound message's journal entry outlives its webhook events, not only its message: the events are queued after
 * an await (the webhook settings, read from MongoDB on a cache miss: the first message after a start or a change), so
 * the message's batch can be written before they are even queued. Until they are written too the entry stays in the
 * journal, so a crash in between replays the message and its events (EventRecorder, Persister.holdJournal). Real
 * MongoDB-wire server, real journal file; the engine is an emitter the test drives.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { eventually, startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import type { Engine, EngineEvents, EngineMessage } from '../src/engines/engine.js';
import { createMetrics } from '../src/metrics.js';
import { EventRecorder } from '../src/services/event-recorder.js';
import { LiveEvents } from '../src/services/live-events.js';
import { Journal, journalFilePath } from '../src/storage/journal.js';
import { Persister } from '../src/storage/persistence.js';
import { openStore, type Store } from '../src/storage/store.js';
import { WebhookOutbox } from '../src/webhooks/outbox.js';
import { WebhookSettingsService, type WebhookEvent } from '../src/webhooks/settings.js';

const logger = pino({ level: 'silent' });

/** Settings whose reads wait for the test (a cache miss that takes longer than a batch). */
class GatedSettings extends WebhookSettingsService {
  gate: Promise<void> = Promise.resolve();
  override async wants(event: WebhookEvent): Promise<boolean> {
    await this.gate;
    return super.wants(event);
  }
}

describe('the journal entry of an inbound message', () => {
  let mongo: MongoServer;
  let store: Store;

  beforeAll(async () => {
    mongo = await startMongo();
    store = await openStore(mongo.dbUri(uniqueDbName('journal_events')));
    await store.init();
  });
  afterAll(async () => {
    await store?.close();
    await mongo?.stop();
  });

  test('stays until its webhook events, queued after its batch was written, are written too', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-journal-events-'));
    let uncommitted = -1;
    const { journal } = Journal.open({
      file: journalFilePath(dir),
      sync: 'write',
      maxBytes: 1 << 20,
      logger,
      metrics: { bytes: () => {}, entries: (n) => (uncommitted = n) },
    });
    const persister = new Persister({
      store,
      logger,
      batchSize: 100,
      flushMs: 10,
      bufferLimit: 1_000,
      spillFile: path.join(dir, 'spill'),
      onJournaledStored: (seqs) => journal.committed(seqs),
    });
    const settings = new GatedSettings(store, { url: 'http://127.0.0.1:9/hook', secret: undefined, events: ['*'] });
    let open!: () => void;
    settings.gate = new Promise<void>((resolve) => (open = resolve));
    const engine = new EventEmitter<EngineEvents>();
    const recorder = new EventRecorder({
      engine: engine as unknown as Engine,
      store,
      persister,
      outbox: new WebhookOutbox(settings, persister),
      live: new LiveEvents(),
      metrics: createMetrics({ outboxDepth: async () => 0, browserMemoryBytes: async () => undefined }),
      logger,
      journal,
    });
    const m: EngineMessage = {
      id: 'false_15550007002@c.us_JOURNALEVENTS1',
      chatId: '15550007002@c.us',
      author: '15550007002@c.us',
      fromMe: false,
      isGroup: false,
      type: 'chat',
      body: 'hello',
      timestamp: Date.now(),
      ack: 1,
    };
    try {
      engine.emit('message', m);
      await persister.flush();
      expect(await store.col.messages.countDocuments({ _id: m.id })).toBe(1);
      expect(await store.col.outbox.countDocuments({ 'payload.id': m.id })).toBe(0); // the settings are still being read
      expect(uncommitted).toBe(1); // released here, a crash now would lose its events

      open();
      await eventually(async () => (await store.col.outbox.countDocuments({ 'payload.id': m.id })) === 2, 10_000);
      await eventually(() => uncommitted === 0, 10_000);
      expect((await store.col.outbox.find({ 'payload.id': m.id }).toArray()).map((d) => d.event).sort()).toEqual([
        'message',
        'message.any',
      ]);
    } finally {
      recorder.close();
      await persister.close();
      journal.close();
    }
  });
});
