/**
 * Each instance gets its own database user, limited to its own database — proven on a server that enforces it
 * (FerretDB on PostgreSQL, testenv's startAuthorisingMongo): the process provider's instances run with credentials
 * that read and write their database and are refused on another instance's and on the api's; deleting an instance
 * drops its user.
 */
import { readFileSync, statSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mongoose from 'mongoose';
import { pino } from 'pino';
import { FerretPostgresDatabaseUsers } from '@wacloud/kit/ferretdb-pg-users';
import type { DatabaseUser, DatabaseUsers } from '@wacloud/kit/mongo-users';
import { eventually, startAuthorisingMongo, startMongo, type AuthorisingMongoServer, type ManagedProcess } from '@wacloud/testenv';
import { loadConfig } from '../../src/config.js';
import { createProvider } from '../../src/providers/index.js';
import { ProcessProvider } from '../../src/providers/process/provider.js';
import type { ProvisionRequest } from '../../src/providers/provider.js';
import { instanceDatabaseName } from '../../src/providers/shared/database.js';
import { startSimnet } from '../../../instance/test/harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..', '..');
const instanceMain = path.join(repoRoot, 'instance', 'dist', 'main.js');
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** Whether `err` is the server refusing access (MongoDB: 13 Unauthorized; FerretDB on PostgreSQL: permission denied). */
function isDenied(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e.code === 13 || /permission denied|not authorized|must be owner/i.test(String(e.message));
}

async function withClient<T>(uri: string, fn: (c: mongoose.mongo.MongoClient) => Promise<T>): Promise<T> {
  const c = new mongoose.mongo.MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/** The error `p` rejects with (throws when it resolves). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a refusal, but the operation succeeded');
}

/** `MONGODB_URI` in the environment of the running process `pid`. */
function mongoUriOfProcess(pid: number): string {
  const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  const line = env.find((l) => l.startsWith('MONGODB_URI='));
  if (!line) throw new Error(`process ${pid} has no MONGODB_URI`);
  return line.slice('MONGODB_URI='.length);
}

/** Records what a {@link DatabaseUsers} was asked to do, passing everything on. */
class Recording implements DatabaseUsers {
  readonly ensured: DatabaseUser[] = [];
  readonly dropped: string[] = [];
  constructor(private readonly inner: DatabaseUsers) {}
  get kind() {
    return this.inner.kind;
  }
  ensure(u: DatabaseUser) {
    this.ensured.push(u);
    return this.inner.ensure(u);
  }
  drop(u: Pick<DatabaseUser, 'db' | 'username'>) {
    this.dropped.push(u.username);
    return this.inner.drop(u);
  }
  close() {
    return this.inner.close();
  }
}

let server: AuthorisingMongoServer;
let simnet: ManagedProcess;
let simnetUrl: string;
let root: string;
const suffix = Math.random().toString(36).slice(2, 8);
const req = (id: string): ProvisionRequest => ({ id: `${id}-${suffix}`, owner: 'user-1', name: id, engine: 'simulated', suspended: false });

beforeAll(async () => {
  server = await startAuthorisingMongo();
  ({ proc: simnet, url: simnetUrl } = await startSimnet());
  root = mkdtempSync(path.join(os.tmpdir(), 'wacloud-dbusers-'));
}, 90_000);

afterAll(async () => {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (root && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(root)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (root) rmSync(root, { recursive: true, force: true });
  await simnet?.stop();
  await server?.stop();
});

describe('process provider: one database user per instance', () => {
  let provider: ProcessProvider;
  let users: Recording;
  const a = req('a');
  const b = req('b');

  beforeAll(() => {
    users = new Recording(new FerretPostgresDatabaseUsers(server.adminUri, server.postgres.url));
    provider = new ProcessProvider({
      instanceMain,
      dataRoot: root,
      mongoUri: server.uri,
      databaseUsers: users,
      simnetUrl,
      logger,
      env: { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn' },
    });
  });
  afterAll(async () => {
    await provider.close();
  });

  test("an instance runs with its own credentials: its database works, another instance's and the api's refuse", async () => {
    await withClient(server.dbUri('wacloud'), (c) => c.db('wacloud').collection('users').insertOne({ email: 'x@example.com' }));
    await Promise.all([provider.create(a), provider.create(b)]);
    for (const r of [a, b]) await eventually(async () => ((await provider.status(r.id)).phase === 'Running' ? true : undefined), 30_000);

    const pidA = Number(readFileSync(path.join(root, a.id, 'pid'), 'utf8').trim());
    const uriA = mongoUriOfProcess(pidA);
    const dbA = instanceDatabaseName(a.id);
    const dbB = instanceDatabaseName(b.id);
    expect(new URL(uriA).username).toBe(dbA);
    expect(new URL(uriA).pathname).toBe(`/${dbA}`);
    expect(uriA).not.toContain(server.postgres.password);
    // The password is kept in the instance's directory only (0600), never in provider.json.
    const pwFile = path.join(root, a.id, 'db-password');
    expect(statSync(pwFile).mode & 0o777).toBe(0o600);
    const password = readFileSync(pwFile, 'utf8').trim();
    expect(decodeURIComponent(new URL(uriA).password)).toBe(password);
    expect(readFileSync(path.join(root, a.id, 'provider.json'), 'utf8')).not.toContain(password);

    await withClient(uriA, async (c) => {
      // The instance itself created its collections at start, with these credentials.
      expect((await c.db(dbA).listCollections().toArray()).length).toBeGreaterThan(0);
      await c.db(dbA).collection('probe').insertOne({ ok: true });
      expect(await c.db(dbA).collection('probe').countDocuments()).toBe(1);
      const collB = (await c.db(dbB).listCollections().toArray())[0]?.name ?? 'messages';
      expect(isDenied(await rejection(c.db(dbB).collection(collB).find().toArray()))).toBe(true);
      expect(isDenied(await rejection(c.db(dbB).collection(collB).insertOne({ from: 'A' })))).toBe(true);
      expect(isDenied(await rejection(c.db('wacloud').collection('users').find().toArray()))).toBe(true);
    });
  });

  test('ensuring again keeps the password; delete drops the user (its credentials then fail)', async () => {
    const before = readFileSync(path.join(root, a.id, 'db-password'), 'utf8');
    await provider.create(a);
    expect(readFileSync(path.join(root, a.id, 'db-password'), 'utf8')).toBe(before);
    const uriA = mongoUriOfProcess(Number(readFileSync(path.join(root, a.id, 'pid'), 'utf8').trim()));
    await provider.delete(a.id);
    expect(users.dropped).toContain(instanceDatabaseName(a.id));
    // (Reading a database that no longer exists answers "empty" from FerretDB's cache; a write needs the server.)
    await expect(
      withClient(uriA, (c) => c.db(instanceDatabaseName(a.id)).collection('probe').insertOne({ after: 'delete' })),
    ).rejects.toThrow(/authentication failed|does not exist|terminating connection/);
    // B is untouched.
    expect((await provider.status(b.id)).phase).toBe('Running');
  });
});

describe('createProvider: how instances authenticate is decided at start and logged', () => {
  const configFor = (mongoUri: string, extra: Record<string, string> = {}) =>
    loadConfig({
      MONGODB_URI: mongoUri,
      JWT_SECRET: 'x'.repeat(40),
      PROVIDER: 'process',
      PROCESS_DATA_ROOT: root,
      SIMNET_URL: simnetUrl,
      ...extra,
    });
  const capture = () => {
    const lines: Array<{ level: number; msg: string; kind?: string }> = [];
    return { lines, log: pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) }) };
  };

  test('the embedded default server (cannot authorise per database) gives shared credentials, with one warning', async () => {
    const embedded = await startMongo();
    try {
      const { lines, log } = capture();
      const provider = await createProvider(configFor(embedded.dbUri('wacloud')), log);
      await provider.close();
      const warnings = lines.filter((l) => l.level === 40 && /instances share the MongoDB credentials/.test(l.msg));
      expect(warnings).toHaveLength(1);
    } finally {
      await embedded.stop();
    }
  });

  test('FerretDB on PostgreSQL with its admin URL gives each instance its own user', async () => {
    const { lines, log } = capture();
    const provider = await createProvider(
      configFor(server.dbUri('wacloud'), { INSTANCE_DATABASE_USERS_POSTGRES_URL: server.postgres.url }),
      log,
    );
    await provider.close();
    expect(lines.find((l) => /its own database user/.test(l.msg))?.kind).toBe('ferretdb-postgresql');
    expect(lines.some((l) => l.level >= 40)).toBe(false);
  });
});
