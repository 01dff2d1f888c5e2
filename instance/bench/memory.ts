/**
 * Memory per instance (issue 18 item 6): what one idle instance costs on this machine, in one run.
 *
 * - **tree**: the real instance process (`node <flags> dist/main.js`, `ENGINE=webjs`, the image's CMD flags and NODE_OPTIONS) logged out
 *   and showing its QR — the real whatsapp-web.js on the Chromium the engine launches with the flags of
 *   `src/engines/webjs/browser.ts`, WhatsApp Web served offline from whatsapp-web.js' own web-version cache
 *   (`memory-page.ts`). PSS summed over the Node process and every process below it (`/proc/<pid>/smaps_rollup`).
 * - **bare**: the same Chromium binary launched by puppeteer-core with its launch defaults (headless, its default
 *   flags, nothing of ours) on its about:blank tab. PSS over its process tree: the yardstick.
 * - **node**: the instance process alone with the simulated engine, logged in (WORKING) on the simulated network and
 *   idle: VmRSS (and PSS).
 *
 * The bare browser and the tree run side by side and are read in the same second (see {@link runMemory}); each
 * reading follows `settleMs` of idleness, then `samples` readings 1 s apart (median).
 */
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';
import { chromiumPath, eventually, freePort, startProcess, uniqueDbName, waitForPort, type MongoServer } from '@wacloud/testenv';
import { closeBrowser, processTree, pssBytes } from '@wacloud/instance/engines/webjs/browser';
import { NO_SANDBOX_FLAG, sandboxFailureReason } from '@wacloud/instance/engines/webjs/sandbox';
import { INSTANCE_NODE_FLAGS } from '@wacloud/instance/node-flags';
import { installStandInWaWeb } from './memory-page.js';

const instanceDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const mainJs = path.join(instanceDir, 'dist', 'main.js');
const simnetJs = path.join(instanceDir, '..', 'simnet', 'dist', 'main.js');

/**
 * The instance process' NODE_OPTIONS: `BENCH_INSTANCE_NODE_OPTIONS` if set, else the image's (`NODE_OPTIONS="…"` in
 * instance/Dockerfile's ENV), else none — so the instance is measured as it ships.
 */
export const INSTANCE_NODE_OPTIONS: string =
  process.env.BENCH_INSTANCE_NODE_OPTIONS ??
  /NODE_OPTIONS="([^"]*)"/.exec(readFileSync(path.join(instanceDir, 'Dockerfile'), 'utf8'))?.[1] ??
  '';

/**
 * The V8 flags on the instance process' command line: `BENCH_INSTANCE_NODE_FLAGS` (space-separated; empty for none) if
 * set, else {@link INSTANCE_NODE_FLAGS} (the image's CMD).
 */
export const BENCH_NODE_FLAGS: readonly string[] =
  process.env.BENCH_INSTANCE_NODE_FLAGS !== undefined
    ? process.env.BENCH_INSTANCE_NODE_FLAGS.split(' ').filter(Boolean)
    : INSTANCE_NODE_FLAGS;

/**
 * The Chromium both sides run: the image's `/usr/lib/chromium/chromium` when the tools' Chromium is Debian's
 * `/usr/bin/chromium` wrapper (which adds flags of its own from /etc/chromium.d), else `chromiumPath()`.
 */
export function benchChromium(): string {
  const p = chromiumPath();
  const debianBinary = '/usr/lib/chromium/chromium';
  return realpathSync(p) === '/usr/bin/chromium' && existsSync(debianBinary) ? debianBinary : p;
}

export interface MemorySide {
  /** Median PSS summed over the process tree, bytes. */
  pssBytes: number;
  /** Median of the same sum of `Pss_Anon + Pss_Shmem` only (memory no process outside the tree shares), bytes. */
  privateBytes: number;
  /** Processes in the tree at the last reading. */
  processes: number;
}

export interface MemoryResult {
  chromium: string;
  nodeOptions: string;
  /** The V8 flags on the instance's command line ({@link BENCH_NODE_FLAGS}). */
  nodeFlags: readonly string[];
  settleMs: number;
  samples: number;
  bare: MemorySide & { noSandbox: boolean };
  tree: MemorySide & { nodePssBytes: number; browserPssBytes: number; sessionState: string };
  node: { rssBytes: number; pssBytes: number; sessionState: string } & NodeFloors;
  /** tree PSS / bare PSS. */
  ratio: number;
  /** tree / bare of {@link MemorySide.privateBytes}. */
  privateRatio: number;
  loadavg: number[];
}

export interface MemoryOptions {
  mongo: MongoServer;
  settleMs: number;
  samples: number;
  log: (msg: string) => void;
}

/**
 * Runs the bare browser and the webjs instance side by side and reads both in the same second (PSS splits the file
 * pages of Chromium's binary among every process mapping it, other Chromiums on the machine included, so both sides
 * are read under the same sharing); then the instance alone with the simulated engine.
 */
export async function runMemory(o: MemoryOptions): Promise<MemoryResult> {
  const chromium = benchChromium();
  o.log(`memory: bare Chromium (${chromium}) on about:blank`);
  const bare = await launchBare(chromium);
  let pair: { bare: MemoryResult['bare']; tree: MemoryResult['tree'] };
  try {
    o.log(`memory: instance + webjs engine (node ${BENCH_NODE_FLAGS.join(' ')}, NODE_OPTIONS=${INSTANCE_NODE_OPTIONS || '(none)'})`);
    const inst = await startInstanceProcess(o.mongo, { ENGINE: 'webjs', CHROMIUM_PATH: chromium });
    try {
      installStandInWaWeb(inst.dataDir);
      const login = await inst.api('POST', '/v1/session/login', await inst.token());
      const state = (login.body as { state?: string }).state ?? '?';
      if (login.status !== 200 || state !== 'SCAN_QR_CODE')
        throw new Error(`webjs login did not reach the QR offline: ${login.status} ${JSON.stringify(login.body)}\n${inst.output()}`);
      const reads = { bare: [] as Reading[], tree: [] as Reading[], node: [] as number[] };
      await sampleMedian(() => {
        reads.bare.push(readTree(bare.pid));
        reads.tree.push(readTree(inst.pid));
        reads.node.push(pssBytes(inst.pid));
        return 0;
      }, o);
      const treeProcesses = processTree(inst.pid).length;
      if (treeProcesses < 3) throw new Error(`no browser below the instance process (${treeProcesses} processes)`);
      const treePss = median(reads.tree.map((r) => r.pss));
      const nodePss = median(reads.node);
      pair = {
        bare: { ...summarize(reads.bare), processes: processTree(bare.pid).length, noSandbox: bare.noSandbox },
        tree: {
          ...summarize(reads.tree),
          processes: treeProcesses,
          nodePssBytes: nodePss,
          browserPssBytes: treePss - nodePss,
          sessionState: state,
        },
      };
    } finally {
      await inst.stop();
    }
  } finally {
    await bare.close();
  }
  o.log('memory: instance alone, simulated engine');
  const node = await measureNode(o);
  return {
    chromium,
    nodeOptions: INSTANCE_NODE_OPTIONS,
    nodeFlags: BENCH_NODE_FLAGS,
    settleMs: o.settleMs,
    samples: o.samples,
    ...pair,
    node,
    ratio: pair.tree.pssBytes / pair.bare.pssBytes,
    privateRatio: pair.tree.privateBytes / pair.bare.privateBytes,
    loadavg: os.loadavg(),
  };
}

interface Reading {
  pss: number;
  private: number;
}

/** PSS and `Pss_Anon + Pss_Shmem` summed over `pid`'s tree (bytes; NaN when gone). */
function readTree(pid: number): Reading {
  const pids = processTree(pid);
  if (pids.length === 0) return { pss: NaN, private: NaN };
  let pss = 0;
  let priv = 0;
  for (const p of pids) {
    pss += pssBytes(p);
    priv += anonShmemPssBytes(p);
  }
  return { pss, private: priv };
}

function summarize(reads: Reading[]): { pssBytes: number; privateBytes: number } {
  return { pssBytes: median(reads.map((r) => r.pss)), privateBytes: median(reads.map((r) => r.private)) };
}

/** `Pss_Anon + Pss_Shmem` of one process (`/proc/<pid>/smaps_rollup`), bytes; 0 when gone. */
export function anonShmemPssBytes(pid: number): number {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? 0);
    return (kb('Pss_Anon') + kb('Pss_Shmem')) * 1024;
  } catch {
    return 0;
  }
}

/** The yardstick: the same Chromium by puppeteer-core's launch defaults, its about:blank tab open. */
async function launchBare(chromium: string): Promise<{ pid: number; noSandbox: boolean; close(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-bench-bare-'));
  const launch = (noSandbox: boolean) =>
    puppeteer.launch({ executablePath: chromium, headless: true, userDataDir: dir, args: noSandbox ? [NO_SANDBOX_FLAG] : [] });
  let noSandbox = false;
  const browser = await launch(false).catch((err: unknown) => {
    // Like the engine's `auto`: the same browser without its sandbox where the machine cannot sandbox.
    if (sandboxFailureReason(err) === undefined) throw err;
    noSandbox = true;
    return launch(true);
  });
  if ((await browser.pages()).length === 0) await browser.newPage();
  return {
    pid: browser.process()?.pid as number,
    noSandbox,
    close: async () => {
      await closeBrowser(browser);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function measureNode(o: MemoryOptions): Promise<MemoryResult['node']> {
  const simPort = await freePort();
  const simnet = startProcess({
    command: process.execPath,
    args: [simnetJs],
    env: { ...process.env, SIMNET_PORT: String(simPort), SIMNET_HOST: '127.0.0.1' },
  });
  try {
    await simnet.waitForOutput(/simnet listening/, 30_000);
    const simnetUrl = `http://127.0.0.1:${simPort}`;
    const inst = await startInstanceProcess(o.mongo, { ENGINE: 'simulated', SIMNET_URL: simnetUrl });
    try {
      const token = await inst.token();
      const login = await inst.api('POST', '/v1/session/login', token);
      const qr = (login.body as { qr?: string }).qr;
      if (!qr) throw new Error(`simulated login returned no QR: ${login.status} ${JSON.stringify(login.body)}`);
      const scan = await fetch(`${simnetUrl}/hooks/scan`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ qr, phone: '15550001111', pushname: 'Bench' }),
      });
      if (!scan.ok) throw new Error(`simnet scan failed: ${scan.status}`);
      await eventually(async () => (await inst.api('GET', '/health')).body.session?.state === 'WORKING', 30_000);
      const pss: number[] = [];
      const rss = await sampleMedian(() => {
        pss.push(pssBytes(inst.pid));
        return vmRssBytes(inst.pid);
      }, o);
      return { rssBytes: rss, pssBytes: median(pss), sessionState: 'WORKING', ...(await nodeFloors(o)) };
    } finally {
      await inst.stop();
    }
  } finally {
    await simnet.stop();
  }
}

/** VmRSS of `node` (same flags and NODE_OPTIONS as the instance) at three points short of the instance, bytes. */
export interface NodeFloors {
  /** `node` doing nothing. */
  bareNodeRssBytes: number;
  /** `node` that only imported the instance's modules (`dist/instance-app.js`) and started nothing. */
  importsRssBytes: number;
  /** The same, plus the instance's database opened and initialized (`openStore` + `init`: collections, indexes). */
  databaseRssBytes: number;
}

/**
 * The floors under the instance process' RSS ({@link NodeFloors}): what `node` itself, the modules (express, the
 * MongoDB driver and mongoose, pino, prom-client, zod…) and the open database take before the service does anything.
 */
async function nodeFloors(o: MemoryOptions): Promise<NodeFloors> {
  const idle = 'setInterval(() => {}, 1 << 30);';
  const appUrl = pathToFileURL(path.join(instanceDir, 'dist', 'instance-app.js')).href;
  const rssOf = async (code: string) => {
    const proc = startProcess({
      command: process.execPath,
      args: [...BENCH_NODE_FLAGS, '--input-type=module', '-e', `${code} console.log('idle');${idle}`],
      env: { ...process.env, NODE_OPTIONS: INSTANCE_NODE_OPTIONS },
    });
    try {
      await proc.waitForOutput(/idle/, 30_000);
      return await sampleMedian(() => vmRssBytes(proc.pid), o);
    } finally {
      await proc.stop();
    }
  };
  const storeUrl = pathToFileURL(path.join(instanceDir, 'dist', 'storage', 'store.js')).href;
  const importApp = `await import(${JSON.stringify(appUrl)});`;
  const openDb = `const { openStore } = await import(${JSON.stringify(storeUrl)}); await (await openStore(${JSON.stringify(o.mongo.dbUri(uniqueDbName('benchmemfloor')))})).init();`;
  return {
    bareNodeRssBytes: await rssOf(''),
    importsRssBytes: await rssOf(importApp),
    databaseRssBytes: await rssOf(importApp + openDb),
  };
}

interface BenchInstance {
  pid: number;
  dataDir: string;
  output(): string;
  api(
    method: string,
    p: string,
    token?: string,
  ): Promise<{ status: number; body: { session?: { state?: string } } & Record<string, unknown> }>;
  /** A read-write instance token (internal API). */
  token(): Promise<string>;
  stop(): Promise<void>;
}

/** `node <BENCH_NODE_FLAGS> dist/main.js` on loopback with `env` and the image's NODE_OPTIONS; resolves once both ports answer. */
async function startInstanceProcess(mongo: MongoServer, env: NodeJS.ProcessEnv): Promise<BenchInstance> {
  const [port, internalPort] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-bench-mem-'));
  const internalKey = `bench-${Math.random().toString(36).slice(2)}`;
  const proc = startProcess({
    command: process.execPath,
    args: [...BENCH_NODE_FLAGS, mainJs],
    cwd: instanceDir,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      NODE_OPTIONS: INSTANCE_NODE_OPTIONS,
      PORT: String(port),
      INTERNAL_PORT: String(internalPort),
      HOST: '127.0.0.1',
      MONGODB_URI: mongo.dbUri(uniqueDbName('benchmem')),
      INTERNAL_API_KEY: internalKey,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
  const stop = async () => {
    await proc.stop(10_000);
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 4 });
  };
  try {
    await Promise.race([
      Promise.all([waitForPort(port, '127.0.0.1', 60_000), waitForPort(internalPort, '127.0.0.1', 60_000)]),
      proc.exited.then((code) => {
        throw new Error(`instance exited with ${code}:\n${proc.output()}`);
      }),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  const base = `http://127.0.0.1:${port}`;
  return {
    pid: proc.pid,
    dataDir,
    output: () => proc.output(),
    async api(method, p, token) {
      const res = await fetch(base + p, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
      return { status: res.status, body: (await res.json()) as never };
    },
    async token() {
      const res = await fetch(`http://127.0.0.1:${internalPort}/internal/v1/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${internalKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'bench', permissions: 'rw' }),
      });
      if (res.status !== 201) throw new Error(`token creation failed: ${res.status}`);
      return ((await res.json()) as { token: string }).token;
    },
    stop,
  };
}

/** Waits `settleMs`, then takes `samples` readings 1 s apart; the median. */
async function sampleMedian(read: () => number, o: MemoryOptions): Promise<number> {
  await sleep(o.settleMs);
  const values: number[] = [];
  for (let i = 0; i < o.samples; i++) {
    if (i > 0) await sleep(1_000);
    values.push(read());
  }
  return median(values);
}

/** VmRSS of `pid` in bytes (`/proc/<pid>/status`), NaN when gone. */
export function vmRssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

function median(values: number[]): number {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
