/**
 * A throwaway PostgreSQL server for tests: `initdb` into a temporary directory and `postgres` on a loopback port,
 * password authentication (SCRAM-SHA-256) for every connection, one superuser and one database. PostgreSQL refuses to
 * run as root: as root, both run as the `postgres` user (Debian's package creates it) or else `nobody`.
 * `make tools` links Debian's `initdb` and `postgres` into `.tools/bin`.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findBinary } from './paths.js';
import { freePort, waitForPort } from './ports.js';
import { startProcess, type ManagedProcess } from './process.js';

export interface PostgresServer {
  host: string;
  port: number;
  /** The superuser and its password. */
  user: string;
  password: string;
  /** The database created for the tests. */
  database: string;
  /** `postgres://user:password@host:port/database` */
  url: string;
  /** The URL without credentials (what a client adds its own to). */
  urlWithoutCredentials: string;
  process: ManagedProcess;
  /** The directory holding the data directory and the password (pass it as `dir` to start this server again). */
  dir: string;
  /** Stops the server and removes its directory unless `keepData`. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

export interface StartPostgresOptions {
  /** Address to listen on (default `127.0.0.1`). */
  host?: string;
  /** A stopped server's `dir` to start it again with its data (default: a new temporary directory). */
  dir?: string;
}

/** `initdb` and `postgres`: `.tools/bin` or PATH, else Debian's `/usr/lib/postgresql/<version>/bin`. */
function postgresBinaries(): { initdb: string; postgres: string } | undefined {
  const initdb = findBinary('initdb');
  const postgres = findBinary('postgres');
  if (initdb && postgres) return { initdb, postgres };
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  for (const v of readdirSync(root).sort().reverse()) {
    const bin = path.join(root, v, 'bin');
    if (existsSync(path.join(bin, 'initdb'))) return { initdb: path.join(bin, 'initdb'), postgres: path.join(bin, 'postgres') };
  }
  return undefined;
}

/** Whether PostgreSQL's binaries are available (tests that need it skip with a message otherwise). */
export function hasPostgres(): boolean {
  return postgresBinaries() !== undefined;
}

/** The uid/gid PostgreSQL runs as when this process is root. */
function unprivilegedUser(): { name: string; uid: number; gid: number } {
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name]).toString().trim());
      const gid = Number(execFileSync('id', ['-g', name]).toString().trim());
      return { name, uid, gid };
    } catch {
      // next
    }
  }
  throw new Error('running as root, but there is neither a postgres nor a nobody user to run PostgreSQL as');
}

/**
 * Starts PostgreSQL with superuser `wacloud` (a random password) and database `wacloud`.
 * @throws Error when the binaries are missing (`make tools` installs them) or the server does not start in 30 s.
 */
export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bins = postgresBinaries();
  if (!bins) throw new Error('no PostgreSQL: run `make tools` (installs Debian postgresql) or put initdb and postgres on PATH');
  const host = opts.host ?? '127.0.0.1';
  const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'wacloud-postgres-'));
  const data = path.join(dir, 'data');
  const user = 'wacloud';
  const database = 'wacloud';
  const existing = existsSync(path.join(data, 'PG_VERSION'));
  // A throwaway server (no `dir`) starts from a copy of a cached initdb: initdb takes seconds, a copy a fraction.
  const template = opts.dir ? undefined : templateDir(bins.initdb);
  const fromTemplate = !existing && template !== undefined && existsSync(path.join(template, 'data', 'PG_VERSION'));
  const password =
    existing || fromTemplate
      ? readFileSync(path.join(existing ? dir : template!, 'pw'), 'utf8').trim()
      : randomBytes(18).toString('base64url');
  if (!existing) writeFileSync(path.join(dir, 'pw'), `${password}\n`, { mode: 0o600 });
  const asRoot = process.getuid?.() === 0;
  const runAs = asRoot ? unprivilegedUser() : undefined;
  const wrap = (cmd: string, args: string[]): [string, string[]] =>
    runAs ? ['runuser', ['-u', runAs.name, '--', cmd, ...args]] : [cmd, args];
  if (runAs && !existing) {
    chmodSync(dir, 0o700);
    chownSync(dir, runAs.uid, runAs.gid);
    chownSync(path.join(dir, 'pw'), runAs.uid, runAs.gid);
  }
  const [initCmd, initArgs] = wrap(bins.initdb, [
    '-D',
    data,
    '-U',
    user,
    `--pwfile=${path.join(dir, 'pw')}`,
    '--auth=scram-sha-256',
    '-E',
    'UTF8',
    '--no-locale',
    '--no-sync',
  ]);
  if (fromTemplate) {
    execFileSync('cp', ['-a', path.join(template!, 'data'), data], { stdio: 'pipe' }); // -a keeps the owner (root → postgres)
  } else if (!existing) {
    try {
      execFileSync(initCmd, initArgs, { stdio: 'pipe' });
    } catch (err) {
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
      throw new Error(`initdb failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
    }
    // initdb admits loopback only; the server listens on `host` alone, so any client address may try a password.
    appendFileSync(path.join(data, 'pg_hba.conf'), 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n');
    if (template) saveTemplate(dir, template);
  }
  const port = await freePort();
  const [cmd, args] = wrap(bins.postgres, ['-D', data, '-h', host, '-p', String(port), '-k', dir, '-F', '-c', 'max_connections=200']);
  const proc = startProcess({ command: cmd, args });
  const stop = async (o?: { keepData?: boolean }) => {
    await proc.stop(10_000);
    if (!o?.keepData) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, host, 30_000);
    await proc.waitForOutput(/ready to accept connections/, 30_000);
    if (!existing) await createDatabase({ host, port, user, password }, database);
  } catch (err) {
    await stop();
    throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${proc.output().slice(-2000)}`);
  }
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    host,
    port,
    user,
    password,
    database,
    url: `postgres://${user}:${password}@${h}:${port}/${database}`,
    urlWithoutCredentials: `postgres://${h}:${port}/${database}`,
    dir,
    process: proc,
    stop,
  };
}

/** Where the cached initdb for `initdb` lives (`$XDG_CACHE_HOME/wacloud`, else `~/.cache/wacloud`). */
function templateDir(initdb: string): string {
  const key = createHash('sha256')
    .update(`${realpathSync(initdb)} ${statSync(realpathSync(initdb)).mtimeMs} ${process.getuid?.() ?? ''}`)
    .digest('hex')
    .slice(0, 12);
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'wacloud', `postgres-template-${key}`);
}

/** Keeps a copy of a fresh server directory (data and password) as the template; a concurrent copy may win. */
function saveTemplate(dir: string, template: string): void {
  const tmp = `${template}.tmp-${process.pid}`;
  try {
    mkdirSync(path.dirname(template), { recursive: true });
    execFileSync('cp', ['-a', dir, tmp], { stdio: 'pipe' });
    renameSync(tmp, template);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process saved it first, or no cache: next time again
  }
}

/** `CREATE DATABASE <name>` as the superuser, through the `postgres` maintenance database. */
async function createDatabase(c: { host: string; port: number; user: string; password: string }, name: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ host: c.host, port: c.port, user: c.user, password: c.password, database: 'postgres' });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}
