#!/usr/bin/env node
// `make start`: wacloud on the embedded default, on this machine, with nothing else installed.
// Starts a MongoDB-wire server (MONGODB_URI if set, else mongod on PATH, else the FerretDB that `make tools` built),
// the simulated WhatsApp network, and one instance service with the simulated engine (ENGINE=webjs for the real one).
// State lives in .data/ so a restart resumes. Ctrl-C stops everything.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findBinary, startProcess, waitForPort } from '../testenv/dist/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const data = path.join(root, '.data');
mkdirSync(data, { recursive: true });
const PORT = Number(process.env.PORT ?? 8080);
const INTERNAL_PORT = Number(process.env.INTERNAL_PORT ?? 8081);
const SIMNET_PORT = Number(process.env.SIMNET_PORT ?? 7300);
const MONGO_PORT = Number(process.env.MONGO_PORT ?? 27017);
const children = [];
const say = (m) => process.stdout.write(`[start] ${m}\n`);

async function mongo() {
  if (process.env.MONGODB_URI) return process.env.MONGODB_URI;
  const mongod = findBinary('mongod');
  const ferret = findBinary('wacloud-ferretdb');
  const dir = path.join(data, 'mongo');
  mkdirSync(dir, { recursive: true });
  let p;
  if (mongod) p = startProcess({ command: mongod, args: ['--bind_ip', '127.0.0.1', '--port', String(MONGO_PORT), '--dbpath', dir, '--quiet'] });
  else if (ferret) p = startProcess({ command: ferret, args: ['-listen', `127.0.0.1:${MONGO_PORT}`, '-dir', dir] });
  else throw new Error('no MongoDB-wire server: set MONGODB_URI, install mongod, or run `make tools`');
  children.push(p);
  await waitForPort(MONGO_PORT);
  say(`${mongod ? 'mongod' : 'FerretDB'} on mongodb://127.0.0.1:${MONGO_PORT}/ (data in .data/mongo)`);
  return `mongodb://127.0.0.1:${MONGO_PORT}/`;
}

function secret(name) {
  const f = path.join(data, name);
  if (!existsSync(f)) writeFileSync(f, randomBytes(24).toString('base64url'), { mode: 0o600 });
  return readFileSync(f, 'utf8').trim();
}

async function main() {
  const base = await mongo();
  const simnet = startProcess({ command: process.execPath, args: [path.join(root, 'instance/dist/simnet/main.js')], env: { ...process.env, SIMNET_PORT: String(SIMNET_PORT), LOG_LEVEL: 'warn' } });
  children.push(simnet);
  await simnet.waitForOutput(/simnet listening/);
  say(`simulated WhatsApp network on http://127.0.0.1:${SIMNET_PORT}`);
  secret('internal-key'); // created once, read by the instance from the file
  const uri = new URL(base);
  uri.pathname = '/wacloud_instance_local';
  const instance = startProcess({
    command: process.execPath,
    args: [path.join(root, 'instance/dist/main.js')],
    env: {
      ...process.env,
      PORT: String(PORT),
      INTERNAL_PORT: String(INTERNAL_PORT),
      HOST: '127.0.0.1',
      MONGODB_URI: uri.toString(),
      INTERNAL_API_KEY_FILE: path.join(data, 'internal-key'),
      ENGINE: process.env.ENGINE ?? 'simulated',
      SIMNET_URL: `http://127.0.0.1:${SIMNET_PORT}`,
      DATA_DIR: path.join(data, 'instance'),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    },
    verbose: true,
  });
  children.push(instance);
  await waitForPort(PORT);
  say(`instance public API on http://127.0.0.1:${PORT}, internal API on http://127.0.0.1:${INTERNAL_PORT}`);
  say('try it (see README.md):');
  say(`  KEY=$(cat .data/internal-key)`);
  say(`  TOKEN=$(curl -s -X POST localhost:${INTERNAL_PORT}/internal/v1/tokens -H "Authorization: Bearer $KEY" -H 'content-type: application/json' -d '{"name":"me","permissions":"rw"}' | sed 's/.*"token":"\\([^"]*\\)".*/\\1/')`);
  say(`  QR=$(curl -s -X POST localhost:${PORT}/v1/session/login -H "Authorization: Bearer $TOKEN" | sed 's/.*"qr":"\\([^"]*\\)".*/\\1/')`);
  say(`  curl -s -X POST localhost:${SIMNET_PORT}/hooks/scan -H 'content-type: application/json' -d "{\\"qr\\":\\"$QR\\",\\"phone\\":\\"15550001111\\"}"`);
  say(`  curl -s -X POST localhost:${SIMNET_PORT}/hooks/accounts -H 'content-type: application/json' -d '{"phone":"15550002222","pushname":"Friend"}'`);
  say(`  curl -s -X POST localhost:${PORT}/v1/messages -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"to":"15550002222","text":"hello"}'`);
  say(`  curl -s localhost:${PORT}/v1/messages -H "Authorization: Bearer $TOKEN"`);
  await instance.exited;
  throw new Error(`instance exited:\n${instance.output().slice(-3000)}`);
}

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const c of children.reverse()) await c.stop(10_000);
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
main().catch((err) => {
  process.stderr.write(`${err.message}\n`);
  void stop(1);
});
