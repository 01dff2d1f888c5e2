/**
 * Reconnect and the memory watchdog of the webjs engine with the real system Chromium, launched, measured, killed and
 * closed by the real engine code. WhatsApp's servers are out of reach here, so a session can only become WORKING with
 * a stand-in for whatsapp-web.js' `Client` at the library boundary (`createClient`): it connects to the browser the
 * engine launched (over its DevTools endpoint, as whatsapp-web.js does), opens its page there and speaks the library's
 * events — `qr`, `authenticated`, `ready` — keeping its "stored session" in the browser profile the engine owns, so
 * a restart that kept the profile logs in again without a QR. The offline start runs the real whatsapp-web.js.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { Client as WClient, ClientOptions as WClientOptions } from 'whatsapp-web.js';
import { chromiumPath, countProcesses, eventually, startMongo, type MongoServer } from '@wacloud/testenv';
import type { SessionState } from '../src/engines/engine.js';
import { groupAlive } from '../src/engines/webjs/browser.js';
import { WebjsEngine, type WebjsEngineOptions } from '../src/engines/webjs/engine.js';
import { startInstance } from './harness.js';

const MB = 1024 * 1024;
const ME = '15550008001';
const tmpRoot = mkdtempSync(path.join(tmpdir(), 'wacloud-reconnect-webjs-'));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

/** The stand-in's stored session: a file in the browser profile (LocalAuth keeps WhatsApp Web's keys there). */
const SESSION_MARK = 'standin-session';

/**
 * whatsapp-web.js' `Client` as far as the engine uses it for a login: `initialize()` connects to the engine's browser
 * and opens the page; then `authenticated` + `ready` when the profile holds a session, else `qr` until {@link scan}.
 */
class StandInClient extends EventEmitter {
  static all: StandInClient[] = [];
  info: { wid: { _serialized: string; user: string }; pushname: string } | undefined;
  pupPage: Page | undefined;
  #browser: Browser | undefined;

  constructor(
    private readonly options: WClientOptions,
    private readonly profileDir: string,
  ) {
    super();
    StandInClient.all.push(this);
  }

  async initialize(): Promise<void> {
    this.#browser = await puppeteer.connect({ browserWSEndpoint: this.options.puppeteer!.browserWSEndpoint!, defaultViewport: null });
    this.pupPage = await this.#browser.newPage();
    await this.pupPage.setContent('<h1>WhatsApp Web (stand-in)</h1>');
    if (existsSync(path.join(this.profileDir, SESSION_MARK))) this.#ready();
    else this.emit('qr', `2@standin-${StandInClient.all.length}`);
  }

  /** The phone scans the QR: the session is stored in the profile, then authenticated and ready. */
  scan(): void {
    writeFileSync(path.join(this.profileDir, SESSION_MARK), ME);
    this.#ready();
  }

  #ready(): void {
    this.emit('authenticated', undefined);
    this.info = { wid: { _serialized: `${ME}@c.us`, user: ME }, pushname: 'Stand-in' };
    this.emit('ready');
  }

  async destroy(): Promise<void> {
    await this.#browser?.disconnect().catch(() => undefined);
  }

  async logout(): Promise<void> {
    rmSync(path.join(this.profileDir, SESSION_MARK), { force: true });
  }
}

function makeEngine(extra: Partial<WebjsEngineOptions> = {}, dataDir = mkdtempSync(path.join(tmpRoot, 'data-'))) {
  const logs: Array<{ msg: string; [k: string]: unknown }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as { msg: string });
      cb();
    },
  });
  const engine: WebjsEngine = new WebjsEngine({
    dataDir,
    chromiumPath: chromiumPath(),
    memoryLimitBytes: 4096 * MB,
    memoryCheckMs: 0,
    logger: pino({ level: 'debug' }, sink),
    reconnect: { initialDelayMs: 50, maxDelayMs: 200, maxAttempts: 3 },
    createClient: (options) => new StandInClient(options, engine.profileDir) as unknown as WClient,
    ...extra,
  });
  const states: Array<[SessionState, string | undefined]> = [];
  const qrs: string[] = [];
  engine.on('state', (s, r) => states.push([s, r]));
  engine.on('qr', (qr) => qrs.push(qr));
  return { engine, dataDir, logs, states, qrs };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Live Chromium processes started on this profile directory. */
const chromiumsOn = (profileDir: string) => countProcesses(new RegExp(`--user-data-dir=${escape(profileDir)}(\\s|$)`));
const launchedPids = (logs: Array<{ msg: string; [k: string]: unknown }>) =>
  logs.filter((l) => l.msg === 'browser launched').map((l) => l.browserPid as number);

/** Starts the engine and scans the stand-in's QR: WORKING with a stored session. */
async function linked(made: ReturnType<typeof makeEngine>) {
  await made.engine.start();
  expect(made.engine.state()).toBe('SCAN_QR_CODE');
  StandInClient.all.at(-1)!.scan();
  await eventually(() => made.engine.state() === 'WORKING', 20_000);
}

describe('webjs engine, real Chromium', () => {
  it('logs in through AUTHENTICATING; a killed browser restarts with the stored session (no QR) and leaves no orphan', async () => {
    const made = makeEngine();
    const { engine, states, qrs, logs } = made;
    await linked(made);
    expect(states.map(([s]) => s)).toEqual(['STARTING', 'SCAN_QR_CODE', 'AUTHENTICATING', 'WORKING']);
    expect(qrs).toHaveLength(1);
    const first = engine.browserPid()!;
    expect(chromiumsOn(engine.profileDir)).toBeGreaterThan(0);

    // Kill Chromium's browser process for real, as the OOM killer or a crash would.
    const mark = states.length;
    process.kill(first, 'SIGKILL');
    await eventually(() => engine.state() === 'WORKING' && states.length > mark, 30_000);
    expect(states.slice(mark)).toEqual([
      ['DISCONNECTED', `browser exited unexpectedly (pid ${first})`],
      ['STARTING', 'reconnecting (attempt 1 of 3)'],
      ['AUTHENTICATING', undefined],
      ['WORKING', undefined],
    ]);
    expect(qrs).toHaveLength(1); // the stored session was kept: no new QR
    expect(engine.account()?.id).toBe(`${ME}@c.us`);
    expect(engine.reconnectStatus()).toBeUndefined();
    const second = engine.browserPid()!;
    expect(launchedPids(logs)).toEqual([first, second]);
    await eventually(() => !groupAlive(first), 10_000); // nothing of the killed browser is left

    await engine.stop();
    await eventually(() => chromiumsOn(engine.profileDir) === 0 && !groupAlive(second), 10_000);
  });

  it('the memory watchdog recycles the browser above the PSS limit and keeps the session', async () => {
    // A limit every browser is above: the first check while WORKING recycles.
    const made = makeEngine({ memoryLimitBytes: 1, memoryCheckMs: 300 });
    const { engine, states, qrs, logs } = made;
    await linked(made);
    const first = engine.browserPid()!;
    await eventually(() => launchedPids(logs).length >= 2 && engine.state() === 'WORKING', 30_000);
    await engine.stop();
    const recycled = logs.find((l) => l.msg === 'browser memory over the limit: restarting the browser (session kept)');
    expect(recycled?.pssBytes).toBeGreaterThan(10 * MB);
    const i = states.findIndex(([s, r]) => s === 'STARTING' && r === 'restarting the browser: memory limit exceeded');
    expect(i).toBeGreaterThan(0);
    expect(states.slice(i, i + 3).map(([s]) => s)).toEqual(['STARTING', 'AUTHENTICATING', 'WORKING']);
    expect(qrs).toHaveLength(1); // session kept
    expect(states.some(([s]) => s === 'DISCONNECTED' || s === 'FAILED')).toBe(false);
    expect(launchedPids(logs)[1]).not.toBe(first);
    await eventually(() => chromiumsOn(engine.profileDir) === 0 && launchedPids(logs).every((pid) => !groupAlive(pid)), 10_000);
  });

  it('an offline start (real whatsapp-web.js) backs off, then FAILED after the budget, with no browser left', async () => {
    const made = makeEngine({ createClient: undefined, reconnect: { initialDelayMs: 50, maxDelayMs: 100, maxAttempts: 2 } });
    const { engine, states, logs } = made;
    await engine.start();
    await eventually(() => engine.state() === 'FAILED', 60_000);
    expect(states.map(([s]) => s)).toEqual(['STARTING', 'DISCONNECTED', 'STARTING', 'DISCONNECTED', 'STARTING', 'FAILED']);
    expect(states[1]![1]).toMatch(/WhatsApp Web unreachable: .*net::ERR_/);
    expect(engine.stateReason()).toMatch(/WhatsApp Web unreachable: .*; gave up after 2 reconnect attempts$/);
    expect(engine.reconnectStatus()).toMatchObject({ attempt: 2, exhausted: true });
    expect(launchedPids(logs)).toHaveLength(3);
    await eventually(() => chromiumsOn(engine.profileDir) === 0 && launchedPids(logs).every((pid) => !groupAlive(pid)), 10_000);
    // A new start forgets the spent budget.
    await engine.stop();
    expect(engine.reconnectStatus()).toBeUndefined();
  });
});

describe('instance with the webjs engine, offline', () => {
  let mongo: MongoServer;
  beforeAll(async () => {
    mongo = await startMongo();
  }, 60_000);
  afterAll(async () => mongo?.stop());

  it('login offline → backoff → FAILED after the budget → /health/live 503, no Chromium left', async () => {
    const inst = await startInstance({
      mongo,
      simnetUrl: 'http://127.0.0.1:9',
      env: {
        ENGINE: 'webjs',
        CHROMIUM_PATH: chromiumPath(),
        RECONNECT_INITIAL_DELAY_MS: '50',
        RECONNECT_MAX_DELAY_MS: '100',
        RECONNECT_MAX_ATTEMPTS: '1',
      },
    });
    try {
      const w = await inst.token('w');
      expect((await inst.api('GET', '/health/live')).status).toBe(200);
      const login = await inst.api('POST', '/v1/session/login', { token: w });
      expect(login.status).toBe(200);
      expect(['DISCONNECTED', 'FAILED']).toContain(login.body.state);
      await eventually(async () => (await inst.api('GET', '/health')).body.session.state === 'FAILED', 60_000);
      const live = await inst.api('GET', '/health/live');
      expect(live.status).toBe(503);
      expect(live.body).toMatchObject({
        status: 'failed',
        state: 'FAILED',
        reason: expect.stringMatching(/gave up after 1 reconnect attempts$/),
      });
      const profile = WebjsEngine.profileDirOf(inst.dataDir);
      await eventually(() => chromiumsOn(profile) === 0, 10_000);
    } finally {
      await inst.stop();
    }
  });
});
