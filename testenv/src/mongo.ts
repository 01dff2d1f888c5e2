/**
 * A real MongoDB-wire server for tests, on loopback with a random port. Order (testenv/README.md):
 * 1. `MONGODB_URI` if set (an external server; databases are made unique per test, nothing is stopped);
 * 2. `mongod` on PATH or in .tools/bin;
 * 3. the FerretDB that `make tools` builds (`wacloud-ferretdb`) on a new PostgreSQL server (Debian's; the backend whose
 *    sorts, ranges and literal regexes wacloud's FerretDB patch pushes down, docs/embedded-database.md), or on SQLite
 *    when PostgreSQL is missing or `WACLOUD_TEST_FERRETDB=sqlite`;
 * 4. testcontainers' `mongo` image where a Docker daemon can pull images.
 *
 * {@link startAuthorisingMongo} starts the server that enforces per-database authorisation instead: FerretDB on
 * PostgreSQL with PLAIN authentication (only for the tests that need it).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findBinary } from './paths.js';
import { freePort, waitForPort } from './ports.js';
import { hasPostgres, startPostgres, type PostgresServer } from './postgres.js';
import { startProcess, type ManagedProcess } from './process.js';

export type MongoKind = 'external' | 'mongod' | 'ferretdb' | 'testcontainers';

export interface MongoServer {
  kind: MongoKind;
  /** FerretDB's backend (FerretDB only). */
  backend?: 'postgresql' | 'sqlite';
  /** Server URI without a database, ending in `/`, e.g. `mongodb://127.0.0.1:40123/`. */
  uri: string;
  /** A URI naming database `db` on this server (options kept). */
  dbUri(db: string): string;
  /** The managed process (mongod / ferretdb), when this library started one. */
  process?: ManagedProcess;
  /** Stops the server and removes its data unless `keepData` (no-op for an external server). */
  stop(opts?: { keepData?: boolean }): Promise<void>;
  /** Where the server keeps its data (started servers only). */
  dataDir?: string;
}

export interface StartMongoOptions {
  /** Port to listen on (default: a free one). */
  port?: number;
  /** Data directory to use (default: a new temporary one) — pass a stopped server's to restart it with its data. */
  dataDir?: string;
  /**
   * Address a started server listens on and its URI names (default `127.0.0.1`), e.g. a Docker network's gateway
   * address so that containers reach it. Ignored for external and testcontainers servers.
   */
  host?: string;
}

/** `mongodb://h:p/?x` + `db` → `mongodb://h:p/db?x` */
export function withDatabase(uri: string, db: string): string {
  const u = new URL(uri);
  u.pathname = `/${db}`;
  return u.toString();
}

let dbCounter = 0;
/** A database name unique within this test process, safe for MongoDB (≤ 38 chars). */
export function uniqueDbName(prefix = 't'): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${(dbCounter++).toString(36)}`.slice(0, 38);
}

/** Starts (or finds) a MongoDB-wire server; see the module comment for the order. */
export async function startMongo(opts: StartMongoOptions = {}): Promise<MongoServer> {
  const external = process.env.MONGODB_URI;
  if (external) {
    const base = withDatabase(external, '');
    return { kind: 'external', uri: base, dbUri: (db) => withDatabase(base, db), stop: async () => {} };
  }
  const mongod = findBinary('mongod');
  const host = opts.host ?? '127.0.0.1';
  const hostPort = (port: number) => `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (mongod)
    return startDaemon(
      'mongod',
      mongod,
      (port, dir) => ['--bind_ip', host, ...(host.includes(':') ? ['--ipv6'] : []), '--port', String(port), '--dbpath', dir, '--quiet'],
      opts,
    );
  const ferret = findBinary('wacloud-ferretdb');
  if (ferret && process.env.WACLOUD_TEST_FERRETDB !== 'sqlite' && hasPostgres()) return startFerretPostgres(ferret, opts);
  if (ferret)
    return { ...(await startDaemon('ferretdb', ferret, (port, dir) => ['-listen', hostPort(port), '-dir', dir], opts)), backend: 'sqlite' };
  if (process.env.DOCKER_HOST || existsSync('/var/run/docker.sock')) return startContainer();
  throw new Error('no MongoDB-wire server: set MONGODB_URI, put mongod on PATH, or run `make tools` (builds FerretDB)');
}

async function startDaemon(
  kind: 'mongod' | 'ferretdb',
  bin: string,
  args: (port: number, dir: string) => string[],
  opts: StartMongoOptions,
): Promise<MongoServer> {
  const dir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), `wacloud-${kind}-`));
  const port = opts.port ?? (await freePort());
  const host = opts.host ?? '127.0.0.1';
  const proc = startProcess({ command: bin, args: args(port, dir) });
  try {
    await waitForPort(port, host, 30_000);
  } catch (err) {
    await proc.stop();
    throw new Error(`${kind} did not start: ${(err as Error).message}\n${proc.output().slice(-2000)}`);
  }
  const uri = `mongodb://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  return {
    kind,
    uri,
    dbUri: (db) => withDatabase(uri, db),
    process: proc,
    dataDir: dir,
    async stop(o) {
      await proc.stop(5_000);
      if (!o?.keepData) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * FerretDB on a new PostgreSQL server (credentials in FerretDB's PostgreSQL URL, so clients need none). `dataDir`
 * holds PostgreSQL's directory: a stopped server's `dataDir` starts it again with its data.
 */
async function startFerretPostgres(bin: string, opts: StartMongoOptions): Promise<MongoServer> {
  const host = opts.host ?? '127.0.0.1';
  const h = host.includes(':') ? `[${host}]` : host;
  const postgres = await startPostgres({ host: '127.0.0.1', ...(opts.dataDir ? { dir: opts.dataDir } : {}) });
  const dir = postgres.dir;
  const port = opts.port ?? (await freePort());
  const proc = startProcess({ command: bin, args: ['-listen', `${h}:${port}`, '-postgresql-url', postgres.url] });
  const stop = async (o?: { keepData?: boolean }) => {
    await proc.stop(5_000);
    await postgres.stop(o);
  };
  try {
    await waitForPort(port, host, 30_000);
  } catch (err) {
    await stop();
    throw new Error(`ferretdb did not start: ${(err as Error).message}\n${proc.output().slice(-2000)}`);
  }
  const uri = `mongodb://${h}:${port}/`;
  return { kind: 'ferretdb', backend: 'postgresql', uri, dbUri: (db) => withDatabase(uri, db), process: proc, dataDir: dir, stop };
}

async function startContainer(): Promise<MongoServer> {
  const { MongoDBContainer } = await import('@testcontainers/mongodb');
  const c = await new MongoDBContainer('mongo:8').start();
  const uri = withDatabase(`${c.getConnectionString()}?directConnection=true`, '');
  return { kind: 'testcontainers', uri, dbUri: (db) => withDatabase(uri, db), stop: async () => void (await c.stop()) };
}

/** A MongoDB-wire server that authenticates every client and authorises per database. */
export interface AuthorisingMongoServer extends MongoServer {
  /** `uri` with the admin's credentials (PLAIN, FerretDB passes them on to PostgreSQL): what providers get. */
  adminUri: string;
  /** The URI without credentials (a client without any is refused). */
  anonymousUri: string;
  /** The PostgreSQL server behind it; `postgres.url` is the admin's SQL URL. */
  postgres: PostgresServer;
}

/**
 * FerretDB with its PostgreSQL backend on a new PostgreSQL server: each MongoDB database is a PostgreSQL schema and each
 * client's PLAIN credentials are PostgreSQL's, so PostgreSQL's roles and grants decide what a client may touch.
 * The admin is FerretDB's first client (it loads FerretDB's list of databases, which a restricted role would see
 * only part of). `uri` and `dbUri` carry the admin's credentials.
 * @throws Error when PostgreSQL (`make tools`) or `wacloud-ferretdb` is missing, or a server does not start.
 */
export async function startAuthorisingMongo(opts: { host?: string } = {}): Promise<AuthorisingMongoServer> {
  const ferret = findBinary('wacloud-ferretdb');
  if (!ferret) throw new Error('no wacloud-ferretdb: run `make tools`');
  const host = opts.host ?? '127.0.0.1';
  const postgres = await startPostgres({ host });
  const port = await freePort();
  const h = host.includes(':') ? `[${host}]` : host;
  const proc = startProcess({ command: ferret, args: ['-listen', `${h}:${port}`, '-postgresql-url', postgres.urlWithoutCredentials] });
  const stop = async () => {
    await proc.stop(5_000);
    await postgres.stop();
  };
  const anonymousUri = `mongodb://${h}:${port}/`;
  const adminUri = `mongodb://${postgres.user}:${encodeURIComponent(postgres.password)}@${h}:${port}/?authMechanism=PLAIN&authSource=%24external`;
  try {
    await waitForPort(port, host, 30_000);
    const { MongoClient } = await import('mongodb');
    const admin = await MongoClient.connect(adminUri, { serverSelectionTimeoutMS: 10_000 });
    try {
      await admin.db('admin').admin().listDatabases();
    } finally {
      await admin.close();
    }
  } catch (err) {
    await stop();
    throw new Error(`FerretDB on PostgreSQL did not start: ${(err as Error).message}\n${proc.output().slice(-2000)}`);
  }
  return {
    kind: 'ferretdb',
    uri: adminUri,
    adminUri,
    anonymousUri,
    dbUri: (db) => withDatabase(adminUri, db),
    backend: 'postgresql',
    process: proc,
    postgres,
    stop: () => stop(),
  };
}
