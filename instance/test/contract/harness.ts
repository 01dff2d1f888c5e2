/**
 * The engine contract suite's harness: {@link describeEngines} runs the same tests once per engine, each against a
 * started, WORKING engine whose other side of WhatsApp a test drives through {@link Network} / {@link Peer}:
 * - `simulated`: a real simnet server on a loopback port and the real `SimulatedEngine` linked to it over WebSocket
 *   (the phone scans its QR through the server's hooks);
 * - `webjs`: the real `WebjsEngine` whose whatsapp-web.js `Client` is the stand-in of `webjs-stand-in/` (typed with
 *   the library's own definitions), created through the engine's one seam (`createClient`, `launchBrowser: false`).
 * One engine (and one network) per `describeEngines` block; tests make their own peers to stay independent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { eventually } from '@wacloud/testenv';
import { createSimnetServer } from '@wacloud/simnet';
import type { Engine, EngineAccount, EngineEvents } from '../../src/engines/engine.js';
import { SimulatedEngine } from '../../src/engines/simulated/engine.js';
import { WebjsEngine } from '../../src/engines/webjs/engine.js';
import { SimnetNetwork, uniquePhone, type Network, type Peer } from './peer.js';
import { StandInNetwork } from './webjs-stand-in/peers.js';
import { StandInWorld } from './webjs-stand-in/world.js';

export type EngineKind = 'simulated' | 'webjs';
export const ENGINE_KINDS: readonly EngineKind[] = ['simulated', 'webjs'];

/**
 * Engine events the {@link EventLog} records from the start. A feature that adds an event to `EngineEvents` adds
 * it here (one line) to wait for it in its contract tests.
 */
export const RECORDED_EVENTS: Array<keyof EngineEvents> = [
  'state',
  'qr',
  'pairing_code',
  'authenticated',
  'message',
  'message_ack',
  'contact',
  'chat',
];

/** Everything an engine emitted (of {@link RECORDED_EVENTS}), in order, with waiting helpers. */
export class EventLog {
  readonly #seen = new Map<keyof EngineEvents, unknown[][]>();

  constructor(engine: Engine) {
    for (const event of RECORDED_EVENTS) {
      const list: unknown[][] = [];
      this.#seen.set(event, list);
      (engine as unknown as NodeJS.EventEmitter).on(event, (...args: unknown[]) => list.push(args));
    }
  }

  /** The argument lists of every `event` so far, oldest first. */
  all<K extends keyof EngineEvents>(event: K): Array<EngineEvents[K]> {
    const list = this.#seen.get(event);
    if (!list) throw new Error(`event ${event} is not recorded: add it to RECORDED_EVENTS`);
    return list as Array<EngineEvents[K]>;
  }

  /** The first argument of every `event` so far (the payload of single-argument events). */
  payloads<K extends keyof EngineEvents>(event: K): Array<EngineEvents[K][0]> {
    return this.all(event).map((args) => args[0]);
  }

  /** Waits until an `event` whose arguments satisfy `pred` was emitted (also one before the call); resolves with them. */
  waitFor<K extends keyof EngineEvents>(
    event: K,
    pred: (...args: EngineEvents[K]) => boolean = () => true,
    timeoutMs = 15_000,
  ): Promise<EngineEvents[K]> {
    return eventually(() => this.all(event).find((args) => pred(...args)), timeoutMs, 20);
  }
}

/** What each contract test gets: filled in before the block's first test. */
export interface EngineContext {
  kind: EngineKind;
  /** Started and WORKING (account known). */
  engine: Engine;
  /** The account the engine is logged in as. */
  me: EngineAccount;
  /** Everything the engine emitted since before its start. */
  events: EventLog;
  /** The rest of WhatsApp: new peers, groups, what the account showed. */
  network: Network;
  /** A peer made for the block ("Bob"). */
  peer: Peer;
  /** The engine's data directory (its stored session). */
  dataDir: string;
  /** Stops the engine and starts it again from its stored session (no QR); resolves once WORKING. */
  restart(): Promise<void>;
}

interface Setup {
  engine: Engine;
  network: Network;
  /** The phone scans the QR the engine shows. */
  scan(): Promise<void>;
  close(): Promise<void>;
}

const tmpRoot = mkdtempSync(path.join(tmpdir(), 'wacloud-contract-'));
const RECONNECT = { initialDelayMs: 50, maxDelayMs: 200 };

async function simulated(phone: string, dataDir: string): Promise<Setup> {
  const server = await createSimnetServer({ port: 0 });
  const engine = new SimulatedEngine({ simnetUrl: server.url, dataDir, reconnect: RECONNECT });
  const network = new SimnetNetwork(server.url, phone);
  return {
    engine,
    network,
    scan: async () => void (await network.hook('/scan', { qr: engine.qr(), phone, pushname: 'Me' })),
    close: () => server.close(),
  };
}

async function webjs(phone: string, dataDir: string): Promise<Setup> {
  const world = new StandInWorld({ id: `${phone}@c.us`, pushname: 'Me' });
  const engine = new WebjsEngine({
    dataDir,
    chromiumPath: '/nonexistent/chromium (no browser: launchBrowser is false)',
    memoryLimitBytes: 0,
    memoryCheckMs: 0,
    logger: pino({ level: 'silent' }),
    reconnect: RECONNECT,
    launchBrowser: false,
    createClient: (options) => world.newClient(options),
  });
  return { engine, network: new StandInNetwork(world), scan: async () => world.scan(), close: async () => undefined };
}

/** Builds, starts and links an engine of `kind`; resolves with the context and its teardown. */
export async function startEngine(kind: EngineKind): Promise<{ ctx: EngineContext; close(): Promise<void> }> {
  const phone = uniquePhone();
  const dataDir = mkdtempSync(path.join(tmpRoot, `${kind}-`));
  const setup = kind === 'simulated' ? await simulated(phone, dataDir) : await webjs(phone, dataDir);
  const { engine, network } = setup;
  const events = new EventLog(engine);
  await engine.start();
  if (engine.state() !== 'SCAN_QR_CODE') throw new Error(`${kind} engine did not show a QR: ${engine.state()} ${engine.stateReason()}`);
  await setup.scan();
  await eventually(() => engine.state() === 'WORKING', 15_000, 20);
  const ctx: EngineContext = {
    kind,
    engine,
    me: engine.account()!,
    events,
    network,
    peer: await network.newPeer('Bob'),
    dataDir,
    async restart() {
      await engine.stop();
      await engine.start();
      await eventually(() => engine.state() === 'WORKING', 15_000, 20);
    },
  };
  return {
    ctx,
    async close() {
      await engine.stop();
      await setup.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Declares `body`'s tests once per engine (`describe("<title> [<kind>]")`). `ctx` is filled in `beforeAll` (read it
 * inside tests and hooks, not while declaring); `kinds` narrows the engines (default both).
 */
export function describeEngines(title: string, body: (ctx: EngineContext) => void, kinds: readonly EngineKind[] = ENGINE_KINDS): void {
  for (const kind of kinds) {
    describe(`${title} [${kind}]`, () => {
      const ctx = { kind } as EngineContext;
      let close: (() => Promise<void>) | undefined;
      beforeAll(async () => {
        const started = await startEngine(kind);
        Object.assign(ctx, started.ctx);
        close = started.close;
      });
      afterAll(async () => {
        await close?.();
      });
      body(ctx);
    });
  }
}
