/**
 * The process provider's on-disk store: one directory per instance under the data root, the provider's only state.
 *
 * `<dataRoot>/<id>/`:
 * - `provider.json` — {@link ProcessInstanceRecord}: owner, name, engine, suspended, ports, createdAt (no secrets);
 * - `internal-key` — the instance's internal API key (mode 0600; read by the instance via `INTERNAL_API_KEY_FILE`;
 *   never logged);
 * - `db-password` — the password of the instance's database user (mode 0600; never logged), when the provider gives
 *   instances their own users;
 * - `pid` — pid of the running instance process (also its process-group id);
 * - `instance.log` — the process' stdout and stderr (appended; the provider adds a line per start);
 * - `data/` — the instance's `DATA_DIR` (the stored WhatsApp session).
 *
 * Files are replaced atomically (temporary file + rename), so a reader never sees a partial one.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { newDatabasePassword } from '@wacloud/kit/mongo-users';
import { ProviderError, type Engine } from '../provider.js';
import { isInstanceId } from '../shared/instance-id.js';

/** Contents of `<dataRoot>/<id>/provider.json`. */
export interface ProcessInstanceRecord {
  id: string;
  owner: string;
  name: string;
  engine: Engine;
  suspended: boolean;
  /** Public API port on the provider's host. */
  publicPort: number;
  /** Internal API port on the provider's host. */
  internalPort: number;
  /** ISO 8601 creation time. */
  createdAt: string;
}

/** Bytes read from the end of instance.log for {@link ProcessRecords.logTail}. */
const LOG_TAIL_BYTES = 8192;
/** Longest log tail returned, characters. */
const LOG_TAIL_CHARS = 1000;

function isRecord(v: unknown): v is ProcessInstanceRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.id === 'string' &&
    typeof r.owner === 'string' &&
    typeof r.name === 'string' &&
    (r.engine === 'webjs' || r.engine === 'simulated') &&
    typeof r.suspended === 'boolean' &&
    Number.isInteger(r.publicPort) &&
    Number.isInteger(r.internalPort) &&
    typeof r.createdAt === 'string'
  );
}

/** A free TCP port on `host` (the kernel picks one for port 0, then it is released). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Writes through a temporary file and rename, so readers never see a partial file. */
async function writeAtomic(file: string, content: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, content, { mode });
  await rename(tmp, file);
}

/** The files of every instance under one data root (see the module comment). Paths are absolute. */
export class ProcessRecords {
  /** Internal keys read so far (they never change while the directory exists). */
  private readonly keys = new Map<string, string>();

  /** @param root absolute data root; created on first write. */
  constructor(readonly root: string) {}

  /** `<root>/<id>`. */
  dir(id: string): string {
    return path.join(this.root, id);
  }

  /** `<root>/<id>/data`, the instance's `DATA_DIR` (also the marker in its command line). */
  dataDir(id: string): string {
    return path.join(this.dir(id), 'data');
  }

  /** `<root>/<id>/internal-key`. */
  keyFile(id: string): string {
    return path.join(this.dir(id), 'internal-key');
  }

  /** `<root>/<id>/instance.log`. */
  logFile(id: string): string {
    return path.join(this.dir(id), 'instance.log');
  }

  /** Creates the data root and the instance's `data/` directory (mode 0700) when missing. */
  async ensureDirs(id: string): Promise<void> {
    await mkdir(this.dataDir(id), { recursive: true, mode: 0o700 });
  }

  /** Whether the root is a directory, or does not exist yet (it is created on the first write). */
  private async rootUsable(): Promise<boolean> {
    return stat(this.root).then(
      (st) => st.isDirectory(),
      (err: NodeJS.ErrnoException) => err.code === 'ENOENT',
    );
  }

  /** Whether `<root>/<id>` exists. */
  async exists(id: string): Promise<boolean> {
    return stat(this.dir(id)).then(
      () => true,
      () => false,
    );
  }

  /**
   * The record of `id`, or undefined when it has none.
   * @throws ProviderError `unavailable` when the root is not a directory, or provider.json exists but cannot be read
   *   or is not a valid record.
   */
  async read(id: string): Promise<ProcessInstanceRecord | undefined> {
    let text: string;
    try {
      text = await readFile(path.join(this.dir(id), 'provider.json'), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR' && !(await this.rootUsable()))
        throw new ProviderError('unavailable', `the data root ${this.root} is not a directory`);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new ProviderError('unavailable', `cannot read provider.json of ${id}: ${(err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!isRecord(parsed) || parsed.id !== id) throw new ProviderError('unavailable', `provider.json of ${id} is corrupt`);
    return parsed;
  }

  /**
   * The record of `id`.
   * @throws ProviderError `not_found` when the instance does not exist; `unavailable` as {@link read}.
   */
  async require(id: string): Promise<ProcessInstanceRecord> {
    const rec = isInstanceId(id) ? await this.read(id) : undefined;
    if (!rec) throw new ProviderError('not_found', `no instance ${id}`);
    return rec;
  }

  /** Writes provider.json (creating the instance's directory, mode 0700). */
  async write(rec: ProcessInstanceRecord): Promise<void> {
    const { id, owner, name, engine, suspended, publicPort, internalPort, createdAt } = rec;
    await mkdir(this.dir(id), { recursive: true, mode: 0o700 });
    await writeAtomic(
      path.join(this.dir(id), 'provider.json'),
      `${JSON.stringify({ id, owner, name, engine, suspended, publicPort, internalPort, createdAt }, null, 2)}\n`,
      0o644,
    );
  }

  /** Creates `internal-key` (32 random bytes, base64url, mode 0600) unless it exists. */
  async ensureKey(id: string): Promise<void> {
    try {
      await writeFile(this.keyFile(id), randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }

  /** The password of `id`'s database user: read from `db-password`, created there first (random, mode 0600). */
  async ensureDbPassword(id: string): Promise<string> {
    const file = path.join(this.dir(id), 'db-password');
    try {
      await writeFile(file, newDatabasePassword(), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    return (await readFile(file, 'utf8')).trim();
  }

  /**
   * The internal key of `id` (cached after the first read).
   * @throws ProviderError `not_found` when the key file is missing.
   */
  async readKey(id: string): Promise<string> {
    const cached = this.keys.get(id);
    if (cached) return cached;
    try {
      const key = (await readFile(this.keyFile(id), 'utf8')).trim();
      this.keys.set(id, key);
      return key;
    } catch {
      throw new ProviderError('not_found', `instance ${id} has no internal key`);
    }
  }

  /** The pid in `<id>/pid`, or undefined when there is none (or it is not a plausible pid). */
  async readPid(id: string): Promise<number | undefined> {
    try {
      const n = Number((await readFile(path.join(this.dir(id), 'pid'), 'utf8')).trim());
      return Number.isInteger(n) && n > 1 ? n : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records the pid of the instance's running process. */
  async writePid(id: string, pid: number): Promise<void> {
    await writeAtomic(path.join(this.dir(id), 'pid'), `${pid}\n`, 0o644);
  }

  /** Removes the pid file (missing: fine). */
  async removePid(id: string): Promise<void> {
    await rm(path.join(this.dir(id), 'pid'), { force: true });
  }

  /** Removes `<root>/<id>` with everything in it, and forgets its cached key. */
  async remove(id: string): Promise<void> {
    this.keys.delete(id);
    await rm(this.dir(id), { recursive: true, force: true });
  }

  /** Forgets the cached key of `id` (its directory is about to go). */
  forgetKey(id: string): void {
    this.keys.delete(id);
  }

  /** Ids of the instance directories in the root (those with a provider.json); none when the root is missing. */
  async listIds(): Promise<string[]> {
    let entries: string[];
    try {
      entries = await readdir(this.root);
    } catch {
      return [];
    }
    const ids: string[] = [];
    for (const e of entries) {
      if (!isInstanceId(e)) continue;
      const has = await stat(path.join(this.root, e, 'provider.json')).then(
        () => true,
        () => false,
      );
      if (has) ids.push(e);
    }
    return ids;
  }

  /**
   * Two distinct free ports on `host`, avoiding those recorded for other instances (which may be stopped right now).
   * @throws ProviderError `unavailable` when none are found in 50 tries.
   */
  async allocatePorts(host: string): Promise<[number, number]> {
    const used = new Set<number>();
    for (const id of await this.listIds()) {
      const rec = await this.read(id).catch(() => undefined);
      if (rec) used.add(rec.publicPort).add(rec.internalPort);
    }
    const ports: number[] = [];
    for (let i = 0; ports.length < 2 && i < 50; i++) {
      const p = await freePort(host);
      if (!used.has(p)) {
        used.add(p);
        ports.push(p);
      }
    }
    if (ports.length < 2) throw new ProviderError('unavailable', 'no free ports');
    return [ports[0]!, ports[1]!];
  }

  /** Appends `line` (and a newline) to instance.log (mode 0600 when created). */
  async appendLog(id: string, line: string): Promise<void> {
    await appendFile(this.logFile(id), `${line}\n`, { mode: 0o600 });
  }

  /** The last lines of instance.log (at most 5 lines, ~1 000 characters); empty when there is no log. */
  async logTail(id: string): Promise<string> {
    try {
      const fh = await open(this.logFile(id), 'r');
      try {
        const { size } = await fh.stat();
        const len = Math.min(size, LOG_TAIL_BYTES);
        const buf = Buffer.alloc(len);
        await fh.read(buf, 0, len, size - len);
        const lines = buf
          .toString('utf8')
          .split('\n')
          .filter((l) => l.trim().length > 0)
          .slice(-5);
        const text = lines.join('\n');
        return text.length > LOG_TAIL_CHARS ? text.slice(-LOG_TAIL_CHARS) : text;
      } finally {
        await fh.close();
      }
    } catch {
      return '';
    }
  }
}
