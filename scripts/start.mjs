#!/usr/bin/env node
// `make start`: the wacloud platform on the embedded default, on this machine, with nothing else installed:
// a MongoDB-wire server (MONGODB_URI if set, else mongod on PATH, else the FerretDB that `make tools` built, on Debian's
// PostgreSQL — or on SQLite for a .data/mongo made by an older version; docs/embedded-database.md), the
// simulated WhatsApp network, and the api with the `process` provider (instances are child processes of this
// machine) and the simulated engine (ENGINE=webjs for real WhatsApp Web through Chromium). The dashboard is served
// by the api when it has been built. State lives in .data/, so a restart resumes: Ctrl-C stops everything,
// including the instance processes, and the next start brings the same instances (and their WhatsApp sessions) back.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findBinary, hasPostgres, startPostgres, startProcess, waitForPort } from '../testenv/dist/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const data = path.join(root, '.data');
mkdirSync(data, { recursive: true });
const PORT = Number(process.env.PORT ?? 3000);
const SIMNET_PORT = Number(process.env.SIMNET_PORT ?? 7300);
const MONGO_PORT = Number(process.env.MONGO_PORT ?? 27017);
const children = [];
let database; // the MongoDB-wire server this script started, stopped last
let postgres; // the PostgreSQL server behind it (FerretDB on PostgreSQL), stopped after it
const say = (m) => process.stdout.write(`[start] ${m}\n`);

async function mongo() {
  if (process.env.MONGODB_URI) return process.env.MONGODB_URI;
  const mongod = findBinary('mongod');
  const ferret = findBinary('wacloud-ferretdb');
  const dir = path.join(data, 'mongo');
  // FerretDB's SQLite backend reads and sorts a whole collection for every sorted query; PostgreSQL (with wacloud's
  // pushdown patch) reads a page. A .data/mongo from an older version (SQLite files) keeps being used.
  const sqlite = existsSync(dir) && readdirSync(dir).length > 0;
  let p;
  let where = '.data/mongo';
  if (mongod) {
    mkdirSync(dir, { recursive: true });
    p = startProcess({ command: mongod, args: ['--bind_ip', '127.0.0.1', '--port', String(MONGO_PORT), '--dbpath', dir, '--quiet'] });
  } else if (ferret && !sqlite && hasPostgres()) {
    const pgDir = path.join(data, 'postgres');
    mkdirSync(pgDir, { recursive: true });
    postgres = await startPostgres({ dir: pgDir });
    p = startProcess({ command: ferret, args: ['-listen', `127.0.0.1:${MONGO_PORT}`, '-postgresql-url', postgres.url] });
    where = '.data/postgres, PostgreSQL';
  } else if (ferret) {
    mkdirSync(dir, { recursive: true });
    p = startProcess({ command: ferret, args: ['-listen', `127.0.0.1:${MONGO_PORT}`, '-dir', dir] });
    where = '.data/mongo, SQLite';
  } else throw new Error('no MongoDB-wire server: set MONGODB_URI, install mongod, or run `make tools`');
  database = p;
  await waitForPort(MONGO_PORT);
  say(`${mongod ? 'mongod' : 'FerretDB'} on mongodb://127.0.0.1:${MONGO_PORT}/ (data in ${where})`);
  return `mongodb://127.0.0.1:${MONGO_PORT}/`;
}

/** A random secret kept in .data/<name> (mode 0600), created once. */
function secretFile(name) {
  const f = path.join(data, name);
  if (!existsSync(f)) writeFileSync(f, randomBytes(32).toString('base64url'), { mode: 0o600 });
  return f;
}

async function main() {
  const base = await mongo();
  const simnet = startProcess({
    command: process.execPath,
    args: [path.join(root, 'simnet/dist/main.js')],
    env: { ...process.env, SIMNET_PORT: String(SIMNET_PORT), LOG_LEVEL: 'warn' },
  });
  children.push(simnet);
  await simnet.waitForOutput(/simnet listening/);
  say(`simulated WhatsApp network on http://127.0.0.1:${SIMNET_PORT}`);
  const uri = new URL(base);
  uri.pathname = '/wacloud';
  const dashboard = path.join(root, 'dashboard/dist/dashboard/browser');
  const api = startProcess({
    command: process.execPath,
    args: [path.join(root, 'api/dist/main.js')],
    env: {
      ...process.env,
      PORT: String(PORT),
      HOST: '127.0.0.1',
      MONGODB_URI: uri.toString(),
      JWT_SECRET_FILE: secretFile('jwt-secret'),
      PROVIDER: 'process',
      ENGINE: process.env.ENGINE ?? 'simulated',
      SIMNET_URL: `http://127.0.0.1:${SIMNET_PORT}`,
      PROCESS_DATA_ROOT: path.join(data, 'instances'),
      DASHBOARD_DIR: existsSync(dashboard) ? dashboard : '',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    },
    verbose: true,
  });
  children.push(api);
  await waitForPort(PORT);
  say(`api on http://127.0.0.1:${PORT} (OpenAPI: /openapi.json)${existsSync(dashboard) ? ', dashboard at /' : ''}`);
  say('walk through it with the commands in README.md ("Try it").');
  await api.exited;
  throw new Error(`api exited:\n${api.output().slice(-3000)}`);
}

/** The api leaves instance processes running (it adopts them when it restarts); `make start` stops them on exit. */
async function stopInstances() {
  const dir = path.join(data, 'instances');
  const pids = existsSync(dir)
    ? readdirSync(dir)
        .map((id) => path.join(dir, id, 'pid'))
        .filter((f) => existsSync(f))
        .map((f) => Number(readFileSync(f, 'utf8').trim()))
        .filter((pid) => Number.isInteger(pid) && pid > 1)
    : [];
  const signal = (pid, sig) => {
    try {
      process.kill(-pid, sig);
      return true;
    } catch {
      return false;
    }
  };
  const live = pids.filter((pid) => signal(pid, 'SIGTERM'));
  for (let i = 0; i < 100 && live.some((pid) => signal(pid, 0)); i++) await new Promise((r) => setTimeout(r, 100));
  for (const pid of live) signal(pid, 'SIGKILL');
  if (live.length) say(`stopped ${live.length} instance process(es)`);
}

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const c of children.reverse()) await c.stop(10_000);
  await stopInstances(); // after the api, so it does not restart them; before the database, so they flush
  await database?.stop(10_000);
  await postgres?.stop({ keepData: true });
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
main().catch((err) => {
  process.stderr.write(`${err.message}\n`);
  void stop(1);
});
