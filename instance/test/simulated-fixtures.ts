/**
 * What the simulated engine's tests share: a real simnet server per test (closed after it, with every engine started
 * on it), engines whose events are recorded, the server's HTTP hooks playing the phones, and a linked engine in one
 * call. Importing this module registers the clean-up hooks in the importing test file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually } from '@wacloud/testenv';
import { createSimnetServer, type SimnetServer, type SimnetServerOptions } from '@wacloud/simnet';
import type { Ack, EngineChat, EngineContact, EngineMessage, SessionState } from '../src/engines/engine.js';
import { SimulatedEngine, type SimulatedEngineOptions } from '../src/engines/simulated/engine.js';

export const tmpRoot = mkdtempSync(path.join(tmpdir(), 'wacloud-simnet-'));
export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
export const QR_SHAPE = /^2@[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+$/;
export const KEY_SHAPE = /^[0-9A-F]{20}$/;

const servers: SimnetServer[] = [];
const engines: SimulatedEngine[] = [];

afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

export async function startServer(options: Partial<SimnetServerOptions> = {}): Promise<SimnetServer> {
  const server = await createSimnetServer({ port: 0, ...options });
  servers.push(server);
  return server;
}

/** Everything an engine emitted. */
export interface Recorded {
  states: Array<[SessionState, string | undefined]>;
  qrs: string[];
  codes: string[];
  messages: EngineMessage[];
  acks: Array<{ id: string; chatId: string; ack: Ack }>;
  contacts: EngineContact[];
  chats: EngineChat[];
  authenticated: number;
}

export function makeEngine(
  server: { url: string },
  dataDir = mkdtempSync(path.join(tmpRoot, 'data-')),
  extra: Partial<SimulatedEngineOptions> = {},
) {
  const engine = new SimulatedEngine({ simnetUrl: server.url, dataDir, ...extra });
  engines.push(engine);
  const rec: Recorded = { states: [], qrs: [], codes: [], messages: [], acks: [], contacts: [], chats: [], authenticated: 0 };
  engine.on('state', (s, r) => rec.states.push([s, r]));
  engine.on('qr', (qr) => rec.qrs.push(qr));
  engine.on('pairing_code', (c) => rec.codes.push(c));
  engine.on('message', (m) => rec.messages.push(m));
  engine.on('message_ack', (a) => rec.acks.push(a));
  engine.on('contact', (c) => rec.contacts.push(c));
  engine.on('chat', (c) => rec.chats.push(c));
  engine.on('authenticated', () => rec.authenticated++);
  return { engine, rec, dataDir };
}

export async function hook(server: { url: string }, method: 'GET' | 'POST', route: string, body?: unknown) {
  const res = await fetch(`${server.url}/hooks${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: { code: string; message: string } } };
}

/** Starts an engine and links it to `phone` by scanning its QR. */
export async function linked(server: SimnetServer, phone: string, pushname?: string) {
  const made = makeEngine(server);
  await made.engine.start();
  expect(made.engine.state()).toBe('SCAN_QR_CODE');
  const scan = await hook(server, 'POST', '/scan', { qr: made.engine.qr(), phone, pushname });
  expect(scan.status).toBe(200);
  await eventually(() => made.engine.state() === 'WORKING');
  return made;
}

export const ackOf = (rec: Recorded, id: string) => Math.max(0, ...rec.acks.filter((a) => a.id === id).map((a) => a.ack));
export const keyOf = (id: string) => id.split('_')[2];
