/**
 * Prometheus metrics of the instance (prom-client), on `GET /metrics`. One registry per service object so tests
 * and benchmarks can run several instances in one process.
 */
import { collectLintCleanDefaultMetrics } from '@wacloud/kit';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SESSION_STATES, type SessionState } from './engines/engine.js';

export interface Metrics {
  registry: Registry;
  messages: Counter<'direction'>;
  webhookDeliveries: Counter<'result'>;
  outboxDepth: Gauge;
  sessionState: Gauge<'state'>;
  browserMemory: Gauge;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  persistBuffered: Gauge;
  persistBatches: Counter<'result'>;
  persistOverflow: Counter;
  journalBytes: Gauge;
  journalEntries: Gauge;
  journalErrors: Counter;
  gapFilled: Counter;
  reconnectAttempts: Counter;
  reconnects: Counter;
  reconnectsExhausted: Counter;
  sendQueueDepth: Gauge;
  sendLatency: Histogram;
  sends: Counter<'result'>;
  setSessionState(state: SessionState): void;
}

/**
 * Creates the metrics. `collectors` are read at scrape time: outbox depth (pending events) and browser memory
 * (bytes, PSS), each may be undefined when not measurable.
 */
export function createMetrics(collectors: {
  outboxDepth: () => Promise<number>;
  browserMemoryBytes: () => Promise<number | undefined>;
  /** Messages of the send queue not sent or failed yet (queued, being sent). */
  sendQueueDepth?: () => number;
}): Metrics {
  const registry = new Registry();
  collectLintCleanDefaultMetrics(registry);
  const sessionState = new Gauge({
    name: 'wacloud_session_state',
    help: 'Session state: 1 for the current state, 0 for the others',
    labelNames: ['state'],
    registers: [registry],
  });
  const m: Metrics = {
    registry,
    messages: new Counter({
      name: 'wacloud_messages_total',
      help: 'Messages seen by the engine, by direction (in|out)',
      labelNames: ['direction'],
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'wacloud_webhook_deliveries_total',
      help: 'Webhook delivery attempts by result (delivered|retry|failed)',
      labelNames: ['result'],
      registers: [registry],
    }),
    outboxDepth: new Gauge({
      name: 'wacloud_outbox_depth',
      help: 'Webhook events waiting for delivery: pending in the outbox, or handed over before they are stored and not yet attempted or recorded',
      registers: [registry],
      async collect() {
        this.set(await collectors.outboxDepth().catch(() => -1));
      },
    }),
    sessionState,
    browserMemory: new Gauge({
      name: 'wacloud_browser_memory_bytes',
      help: 'Memory (PSS) of the browser process tree, bytes; absent without a browser',
      registers: [registry],
      async collect() {
        const v = await collectors.browserMemoryBytes().catch(() => undefined);
        if (v === undefined) this.reset();
        else this.set(v);
      },
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration, seconds',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    persistBuffered: new Gauge({
      name: 'wacloud_persist_buffered',
      help: 'Documents waiting in the persistence buffer (memory and spill file)',
      registers: [registry],
    }),
    persistBatches: new Counter({
      name: 'wacloud_persist_batches_total',
      help: 'Persistence batch writes by result (ok|error)',
      labelNames: ['result'],
      registers: [registry],
    }),
    persistOverflow: new Counter({
      name: 'wacloud_persist_overflow_total',
      help: 'Documents spilled to disk because the in-memory persistence buffer was full',
      registers: [registry],
    }),
    journalBytes: new Gauge({
      name: 'wacloud_journal_bytes',
      help: 'Size of the inbound journal file on the session volume, bytes',
      registers: [registry],
    }),
    journalEntries: new Gauge({
      name: 'wacloud_journal_entries',
      help: 'Inbound journal entries whose messages are not in the database yet',
      registers: [registry],
    }),
    journalErrors: new Counter({
      name: 'wacloud_journal_errors_total',
      help: 'Inbound journal appends that failed (the message was kept in memory only)',
      registers: [registry],
    }),
    gapFilled: new Counter({
      name: 'wacloud_gap_filled_messages_total',
      help: 'Messages missing from the database that the gap fill after a (re)connect fetched from the chat history',
      registers: [registry],
    }),
    reconnectAttempts: new Counter({
      name: 'wacloud_session_reconnect_attempts_total',
      help: 'Reconnects scheduled after a connection loss, a browser crash or a failed start (session DISCONNECTED)',
      registers: [registry],
    }),
    reconnects: new Counter({
      name: 'wacloud_session_reconnects_total',
      help: 'Sessions WORKING again after a reconnect streak, without a new QR',
      registers: [registry],
    }),
    reconnectsExhausted: new Counter({
      name: 'wacloud_session_reconnect_exhausted_total',
      help: 'Reconnect budgets spent (session FAILED, liveness failing)',
      registers: [registry],
    }),
    sendQueueDepth: new Gauge({
      name: 'wacloud_send_queue_depth',
      help: 'Messages of the send queue not yet sent or failed (queued or being sent)',
      registers: [registry],
      collect() {
        this.set(collectors.sendQueueDepth?.() ?? 0);
      },
    }),
    sendLatency: new Histogram({
      name: 'wacloud_send_latency_seconds',
      help: 'Time from POST /v1/messages (queued) to WhatsApp taking the message (sent), seconds',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
      registers: [registry],
    }),
    sends: new Counter({
      name: 'wacloud_sends_total',
      help: 'Send queue outcomes: sent, failed (with a reason), interrupted (outcome unknown: checked against the chat history)',
      labelNames: ['result'],
      registers: [registry],
    }),
    setSessionState(state) {
      for (const s of SESSION_STATES) sessionState.set({ state: s }, s === state ? 1 : 0);
    },
  };
  m.setSessionState('STOPPED');
  return m;
}
