/**
 * Instance database users: the URI surgery, MongoDB's user commands (on the default test server, which records users
 * but does not enforce them) and — on a server that enforces per-database authorisation (FerretDB on PostgreSQL) —
 * that an instance's credentials reach its own database and nothing else.
 */
import { MongoClient, MongoServerError, type Document } from 'mongodb';
import { pino } from 'pino';
import { startAuthorisingMongo, startMongo, uniqueDbName, type AuthorisingMongoServer, type MongoServer } from '@wacloud/testenv';
import pg from 'pg';
import { createHmac, randomBytes } from 'node:crypto';
import { FerretPostgresDatabaseUsers, scramSha256Verifier } from '../src/ferretdb-pg-users.js';
import { scramSha256Keys } from '../src/scram.js';
import {
  INSTANCE_USER_MARK,
  MongoDatabaseUsers,
  SharedDatabaseCredentials,
  detectDatabaseUsers,
  mongoUriFor,
  mongoUriParts,
  newDatabasePassword,
  type CommandClient,
} from '../src/mongo-users.js';

const silent = pino({ level: 'silent' });

/** Whether `err` is the server refusing access (MongoDB: code 13 Unauthorized; FerretDB/PostgreSQL: permission denied). */
function isDenied(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e.code === 13 || /permission denied|not authorized|must be owner/i.test(String(e.message));
}

/** Runs `fn` with a client of `uri`, closing it afterwards. */
async function withClient<T>(uri: string, fn: (c: MongoClient) => Promise<T>): Promise<T> {
  const c = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/** The error `p` rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a refusal, but the operation succeeded');
}

describe('mongoUriFor', () => {
  test('replaces credentials, database and auth options; keeps hosts and other options', () => {
    expect(
      mongoUriFor(
        'mongodb://root:secret@h1:27017,h2:27018/admin?replicaSet=rs0&authSource=admin',
        'wacloud_inst_a',
        {
          username: 'wacloud_inst_a',
          password: 'p@ss/word',
        },
        { authSource: 'wacloud_inst_a' },
      ),
    ).toBe('mongodb://wacloud_inst_a:p%40ss%2Fword@h1:27017,h2:27018/wacloud_inst_a?replicaSet=rs0&authSource=wacloud_inst_a');
    expect(mongoUriFor('mongodb+srv://c.example.net/?authMechanism=SCRAM-SHA-1', 'd')).toBe('mongodb+srv://c.example.net/d');
    expect(() => mongoUriFor('http://x/', 'd')).toThrow(/mongodb:\/\//);
  });

  test('mongoUriParts reads back what it wrote: credentials, database and authSource, decoded', () => {
    const uri = mongoUriFor('mongodb://root:secret@h1,h2/admin?replicaSet=rs0', 'wacloud_inst_a', {
      username: 'wacloud_inst_a',
      password: 'p@ss/word',
    });
    expect(mongoUriParts(uri)).toEqual({ username: 'wacloud_inst_a', password: 'p@ss/word', db: 'wacloud_inst_a' });
    expect(mongoUriParts('mongodb+srv://c.example.net/?tls=true')).toEqual({});
    expect(mongoUriParts('mongodb://root@h1/')).toEqual({ username: 'root' });
    expect(mongoUriParts(mongoUriFor('mongodb://h1/', 'd', { username: 'u', password: 'p' }, { authSource: '$external' }))).toEqual({
      username: 'u',
      password: 'p',
      db: 'd',
      authSource: '$external',
    });
    expect(mongoUriParts('http://x/')).toBeUndefined();
  });

  test('shared credentials keep the server URI and name the database', async () => {
    const shared = new SharedDatabaseCredentials('mongodb://root:pw@h1,h2/?tls=true', silent, 'test');
    await expect(shared.ensure({ db: 'wacloud_inst_a', username: 'u', password: 'x' })).resolves.toBe(
      'mongodb://root:pw@h1,h2/wacloud_inst_a?tls=true',
    );
  });

  test("a SCRAM-SHA-256 verifier has PostgreSQL's format and never contains the password", () => {
    const pw = newDatabasePassword();
    expect(pw).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const v = scramSha256Verifier(pw);
    expect(v).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/);
    expect(v).not.toContain(pw);
  });
});

test('scramSha256Keys: the keys of RFC 7677’s example give its client proof and server signature', () => {
  const k = scramSha256Keys('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096);
  const nonce = 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
  const authMessage = `n=user,r=rOprNGfwEbeRWgbNEkqO,r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=${nonce}`;
  const signature = createHmac('sha256', k.storedKey).update(authMessage).digest();
  expect(Buffer.from(k.clientKey.map((b, i) => b ^ signature[i]!)).toString('base64')).toBe('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
  expect(createHmac('sha256', k.serverKey).update(authMessage).digest('base64')).toBe('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
});

interface FakeUser {
  pwd: string;
  roles: unknown;
  customData?: Document;
}

/**
 * MongoDB's user management as the server answers it (a stand-in: no mongod here, and FerretDB v1 has no createUser
 * without its experimental authentication): users per database, 51003 for an existing user, 11 for a missing one;
 * `usersInfo` with `showCredentials` gives the SCRAM-SHA-256 credentials MongoDB stores (15,000 iterations, random salt).
 */
class FakeMongoUsers implements CommandClient {
  readonly users = new Map<string, FakeUser>();
  readonly sent: Document[] = [];
  db(name: string) {
    return {
      command: async (cmd: Document): Promise<Document> => {
        this.sent.push({ ...cmd, $db: name });
        const fail = (code: number, msg: string) => Promise.reject(new MongoServerError({ code, errmsg: msg, ok: 0 }));
        const stored = (c: Document): FakeUser => ({ pwd: c.pwd, roles: c.roles, ...(c.customData ? { customData: c.customData } : {}) });
        if ('createUser' in cmd) {
          const key = `${name}.${cmd.createUser}`;
          if (this.users.has(key)) return fail(51003, `User "${key}" already exists`);
          this.users.set(key, stored(cmd));
        } else if ('updateUser' in cmd) {
          const key = `${name}.${cmd.updateUser}`;
          if (!this.users.has(key)) return fail(11, `User ${key} not found`);
          this.users.set(key, stored(cmd));
        } else if ('dropUser' in cmd) {
          if (!this.users.delete(`${name}.${cmd.dropUser}`)) return fail(11, 'User not found');
        } else if ('usersInfo' in cmd) {
          const u = this.users.get(`${cmd.usersInfo.db}.${cmd.usersInfo.user}`);
          if (!u) return { users: [], ok: 1 };
          const salt = randomBytes(28);
          const keys = scramSha256Keys(u.pwd, salt, 15_000);
          const credentials = {
            'SCRAM-SHA-256': {
              iterationCount: 15_000,
              salt: salt.toString('base64'),
              storedKey: keys.storedKey.toString('base64'),
              serverKey: keys.serverKey.toString('base64'),
            },
          };
          const view = {
            user: cmd.usersInfo.user,
            db: cmd.usersInfo.db,
            roles: u.roles,
            ...(u.customData ? { customData: u.customData } : {}),
          };
          return { users: [{ ...view, ...(cmd.showCredentials ? { credentials } : {}) }], ok: 1 };
        } else return fail(59, 'no such command');
        return { ok: 1 };
      },
    };
  }
}

describe('MongoDatabaseUsers (MongoDB user commands)', () => {
  test('ensure creates the user in its database with readWrite on it only, then updates it; drop is idempotent', async () => {
    const fake = new FakeMongoUsers();
    const users = new MongoDatabaseUsers('mongodb://root:secret@h1,h2/admin?replicaSet=rs0&authSource=admin', fake);
    const db = 'wacloud_inst_a';
    const uri = await users.ensure({ db, username: db, password: 'first' });
    expect(uri).toBe(`mongodb://${db}:first@h1,h2/${db}?replicaSet=rs0&authSource=${db}`);
    const customData = { wacloud: INSTANCE_USER_MARK };
    expect(fake.users.get(`${db}.${db}`)).toEqual({ pwd: 'first', roles: [{ role: 'readWrite', db }], customData });
    await users.ensure({ db, username: db, password: 'second' }); // exists, ours: updateUser
    expect(fake.users.get(`${db}.${db}`)).toEqual({ pwd: 'second', roles: [{ role: 'readWrite', db }], customData });
    expect(fake.sent.map((c) => Object.keys(c)[0])).toEqual(['createUser', 'createUser', 'usersInfo', 'updateUser']);
    await users.drop({ db, username: db });
    await users.drop({ db, username: db }); // missing: fine
    expect(fake.users.size).toBe(0);
  });

  test('a user wacloud did not make is never updated or dropped; one made before users were marked is adopted by its password', async () => {
    const fake = new FakeMongoUsers();
    const users = new MongoDatabaseUsers('mongodb://root:secret@h1/admin?authSource=admin', fake);
    const app = { pwd: 'the-app-password', roles: [{ role: 'dbOwner', db: 'billing' }] };
    fake.users.set('billing.billing', app); // another application's user, named like the database
    const err = await rejection(users.ensure({ db: 'billing', username: 'billing', password: 'instance-password' }));
    expect(String(err)).toMatch(/createUser billing: a MongoDB user of that name exists in database billing that wacloud did not create/);
    expect(String(err)).not.toContain('instance-password');
    await users.drop({ db: 'billing', username: 'billing' });
    expect(fake.users.get('billing.billing')).toBe(app); // untouched
    expect(fake.sent.map((c) => Object.keys(c)[0])).toEqual(['createUser', 'usersInfo', 'usersInfo']);

    // Made by an earlier wacloud (no customData) with the password its instance stores: adopted and marked.
    fake.users.set('wacloud_old.wacloud_old', { pwd: 'stored', roles: [{ role: 'readWrite', db: 'wacloud_old' }] });
    await users.ensure({ db: 'wacloud_old', username: 'wacloud_old', password: 'stored' });
    expect(fake.users.get('wacloud_old.wacloud_old')?.customData).toEqual({ wacloud: INSTANCE_USER_MARK });
    await users.drop({ db: 'wacloud_old', username: 'wacloud_old' });
    expect(fake.users.has('wacloud_old.wacloud_old')).toBe(false);
  });

  test('a refusal other than "exists" / "not found" is an error without the password', async () => {
    const users = new MongoDatabaseUsers('mongodb://h/', {
      db: () => ({ command: () => Promise.reject(new MongoServerError({ code: 13, errmsg: 'not authorized on x', ok: 0 })) }),
    });
    const err = await rejection(users.ensure({ db: 'x', username: 'x', password: 'the-secret' }));
    expect(String(err)).toMatch(/createUser x: not authorized on x/);
    expect(String(err)).not.toContain('the-secret');
    await expect(users.drop({ db: 'x', username: 'x' })).rejects.toThrow(/usersInfo x: not authorized/); // who made it, first
  });

  test('a user dropped by someone else between the steps of ensure is created again; refused once it keeps being dropped', async () => {
    const fake = new FakeMongoUsers();
    const key = 'wacloud_inst_r.wacloud_inst_r';
    const mark = { wacloud: INSTANCE_USER_MARK };
    const stored = (pwd: string) => ({ pwd, roles: [{ role: 'readWrite', db: 'wacloud_inst_r' }], customData: mark });
    /** Another party's change to the users, run right before ensure's next command of that name (once each). */
    const before: Partial<Record<'createUser' | 'usersInfo' | 'updateUser', Array<() => unknown>>> = {};
    const racing: CommandClient = {
      db: (name) => ({
        command: (cmd) => {
          before[Object.keys(cmd)[0] as keyof typeof before]?.shift()?.();
          return fake.db(name).command(cmd);
        },
      }),
    };
    const users = new MongoDatabaseUsers('mongodb://root:secret@h1/admin?authSource=admin', racing);
    const u = { db: 'wacloud_inst_r', username: 'wacloud_inst_r' };
    const commands = () => fake.sent.splice(0).map((c) => Object.keys(c)[0]);
    const drop = () => fake.users.delete(key);
    // "exists", then dropped before the look-up: created again.
    fake.users.set(key, stored('old'));
    before.usersInfo = [drop];
    await users.ensure({ ...u, password: 'new-1' });
    expect(fake.users.get(key)).toEqual(stored('new-1'));
    expect(commands()).toEqual(['createUser', 'usersInfo', 'createUser']);
    // Found by the look-up, dropped before the update: created again.
    before.updateUser = [drop];
    await users.ensure({ ...u, password: 'new-2' });
    expect(fake.users.get(key)).toEqual(stored('new-2'));
    expect(commands()).toEqual(['createUser', 'usersInfo', 'updateUser', 'createUser']);
    // Created by someone before each creation and dropped before each look-up: refused after three rounds.
    const recreate = () => fake.users.set(key, stored('someone'));
    before.createUser = [recreate, recreate, recreate];
    before.usersInfo = [drop, drop, drop];
    const err = await rejection(users.ensure({ ...u, password: 'new-3' }));
    expect(String(err)).toMatch(/dropped each time between "exists" and its look-up/);
    expect(String(err)).not.toContain('new-3');
    expect(commands()).toEqual(['createUser', 'usersInfo', 'createUser', 'usersInfo', 'createUser', 'usersInfo']);
  });

  describe('on the default test server', () => {
    let mongo: MongoServer;
    beforeAll(async () => {
      mongo = await startMongo();
    });
    afterAll(async () => {
      await mongo?.stop();
    });

    test('a real mongod runs the commands (FerretDB v1 has none: checked to refuse them)', async () => {
      const db = uniqueDbName('inst');
      const users = new MongoDatabaseUsers(mongo.uri);
      try {
        if (mongo.kind === 'ferretdb') {
          await expect(users.ensure({ db, username: db, password: 'pw' })).rejects.toThrow(/createUser/);
          return;
        }
        await users.ensure({ db, username: db, password: 'first-password' });
        await users.ensure({ db, username: db, password: 'second-password' });
        await withClient(mongo.uri, async (c) => {
          const info = await c.db(db).command({ usersInfo: db });
          expect(info.users[0].roles).toEqual([{ role: 'readWrite', db }]);
        });
        await users.drop({ db, username: db });
        await users.drop({ db, username: db });
      } finally {
        await users.close();
      }
    });

    test('auto-detection gives a server that cannot enforce users shared credentials, logged as a warning', async () => {
      const lines: string[] = [];
      const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
      const users = await detectDatabaseUsers({ mode: 'auto', adminUri: mongo.uri, log });
      try {
        // The test servers started here (FerretDB on SQLite, or mongod without --auth) cannot enforce users.
        if (mongo.kind !== 'external') {
          expect(users.kind).toBe('shared');
          expect(lines.join('')).toMatch(/instances share the MongoDB credentials/);
        }
      } finally {
        await users.close();
      }
    });
  });
});

/** Runs `fn` with a PostgreSQL client signed in as the superuser of `server`'s database, closed afterwards. */
async function withSql<T>(server: AuthorisingMongoServer, fn: (sql: pg.Client) => Promise<T>): Promise<T> {
  const sql = new pg.Client({ connectionString: server.postgres.url });
  await sql.connect();
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

describe('FerretPostgresDatabaseUsers on a server that authorises per database', () => {
  let server: AuthorisingMongoServer;
  let users: FerretPostgresDatabaseUsers;
  beforeAll(async () => {
    server = await startAuthorisingMongo();
    users = new FerretPostgresDatabaseUsers(server.adminUri, server.postgres.url);
  }, 90_000);
  afterAll(async () => {
    await users?.close();
    await server?.stop();
  });

  test("instance A reads and writes its database and is refused on B's and on the api's", async () => {
    await withClient(server.dbUri('wacloud'), (c) => c.db('wacloud').collection('users').insertOne({ email: 'admin@example.com' }));
    const a = { db: 'wacloud_inst_a', username: 'wacloud_inst_a', password: newDatabasePassword() };
    const b = { db: 'wacloud_inst_b', username: 'wacloud_inst_b', password: newDatabasePassword() };
    const uriA = await users.ensure(a);
    const uriB = await users.ensure(b);
    expect(uriA).toContain('authMechanism=PLAIN');
    await withClient(uriB, (c) => c.db(b.db).collection('messages').insertOne({ text: 'secret of B' }));

    await withClient(uriA, async (c) => {
      const own = c.db(a.db).collection('messages');
      await own.insertOne({ text: 'hello from A' });
      await own.createIndex({ text: 1 });
      expect((await own.find().toArray()).map((d) => d.text)).toEqual(['hello from A']);
      expect(isDenied(await rejection(c.db(b.db).collection('messages').find().toArray()))).toBe(true);
      expect(isDenied(await rejection(c.db(b.db).collection('messages').insertOne({ text: 'from A' })))).toBe(true);
      expect(isDenied(await rejection(c.db(b.db).dropDatabase()))).toBe(true);
      expect(isDenied(await rejection(c.db('wacloud').collection('users').find().toArray()))).toBe(true);
      expect(isDenied(await rejection(c.db('wacloud_new').collection('x').insertOne({ x: 1 })))).toBe(true);
    });
    // B's data is untouched and the api still works with the admin's credentials.
    await withClient(uriB, async (c) => expect(await c.db(b.db).collection('messages').countDocuments()).toBe(1));
    await withClient(server.dbUri('wacloud'), async (c) => expect(await c.db('wacloud').collection('users').countDocuments()).toBe(1));
  });

  test('no credentials or a wrong password reach nothing', async () => {
    const u = { db: 'wacloud_inst_c', username: 'wacloud_inst_c', password: newDatabasePassword() };
    await users.ensure(u);
    await expect(withClient(`${server.anonymousUri}${u.db}`, (c) => c.db(u.db).collection('m').find().toArray())).rejects.toThrow();
    const wrong = mongoUriFor(
      server.anonymousUri,
      u.db,
      { username: u.username, password: 'wrong' },
      { authMechanism: 'PLAIN', authSource: '$external' },
    );
    await expect(withClient(wrong, (c) => c.db(u.db).collection('m').find().toArray())).rejects.toThrow(/password authentication failed/);
  });

  test('ensure again sets the new password; drop removes the user, keeping what the admin needs', async () => {
    const u = { db: 'wacloud_inst_d', username: 'wacloud_inst_d', password: newDatabasePassword() };
    const first = await users.ensure(u);
    await withClient(first, (c) => c.db(u.db).collection('m').insertOne({ n: 1 }));
    const second = await users.ensure({ ...u, password: newDatabasePassword() });
    await withClient(second, async (c) => expect(await c.db(u.db).collection('m').countDocuments()).toBe(1));
    // Refused: the old password's pooled sessions were terminated, and new ones fail authentication.
    await expect(withClient(first, (c) => c.db(u.db).collection('m').countDocuments())).rejects.toThrow(
      /password authentication failed|terminating connection/,
    );
    await expect(withClient(first, (c) => c.db(u.db).collection('m').countDocuments())).rejects.toThrow(/password authentication failed/);
    await users.drop(u);
    await users.drop(u); // missing: fine
    await expect(withClient(second, (c) => c.db(u.db).collection('m').countDocuments())).rejects.toThrow(
      /authentication failed|does not exist|terminating connection/,
    );
    await expect(withClient(second, (c) => c.db(u.db).collection('m').countDocuments())).rejects.toThrow(
      /authentication failed|does not exist/,
    );
    // The data stays with the admin until the database is dropped.
    await withClient(server.dbUri(u.db), async (c) => {
      expect(await c.db(u.db).collection('m').countDocuments()).toBe(1);
      await c.db(u.db).dropDatabase();
    });
  });

  test('a role wacloud did not create is never altered or dropped; one it made before roles were marked is adopted', async () => {
    await withSql(server, async (sql) => {
      const note = async (role: string) =>
        (await sql.query("SELECT shobj_description(oid, 'pg_authid') AS note FROM pg_roles WHERE rolname = $1", [role])).rows[0]?.note;
      const signsIn = async (user: string, password: string) => {
        const c = new pg.Client({ connectionString: server.postgres.url, user, password });
        await c.connect();
        await c.end();
      };
      // Another application's role, and the superuser itself (its password known, as a caller could know it).
      await sql.query(`CREATE ROLE billing_app LOGIN PASSWORD 'billing-secret'`);
      await expect(users.ensure({ db: 'billing_app', username: 'billing_app', password: newDatabasePassword() })).rejects.toThrow(
        /cannot create the database user billing_app: a PostgreSQL role of that name exists that wacloud did not create/,
      );
      await expect(
        users.ensure({ db: server.postgres.user, username: server.postgres.user, password: server.postgres.password }),
      ).rejects.toThrow(/wacloud did not create/);
      await users.drop({ db: 'billing_app', username: 'billing_app' });
      await signsIn('billing_app', 'billing-secret'); // untouched: same password, still there
      await withClient(server.dbUri('wacloud'), async (c) => expect(await c.db('wacloud').collection('users').countDocuments()).toBe(1));

      // Made by an earlier wacloud (unmarked, the stored password): adopted and marked, then managed as before.
      const old = { db: 'wacloud_inst_e', username: 'wacloud_inst_e', password: newDatabasePassword() };
      await sql.query(`CREATE ROLE wacloud_inst_e WITH LOGIN NOINHERIT PASSWORD '${scramSha256Verifier(old.password)}'`);
      await withClient(await users.ensure(old), (c) => c.db(old.db).collection('m').insertOne({ n: 1 }));
      expect(await note('wacloud_inst_e')).toBe(INSTANCE_USER_MARK);
      // New roles are marked from the start; drop removes a marked one.
      const fresh = { db: 'wacloud_inst_f', username: 'wacloud_inst_f', password: newDatabasePassword() };
      await users.ensure(fresh);
      expect(await note('wacloud_inst_f')).toBe(INSTANCE_USER_MARK);
      await users.drop(old);
      await users.drop(fresh);
      expect(await note('wacloud_inst_e')).toBeUndefined();
      expect((await sql.query("SELECT 1 FROM pg_roles WHERE rolname = 'wacloud_inst_f'")).rowCount).toBe(0);
    });
  });

  test('a role created or dropped by someone else while ensure runs is created again, marked, with its password', async () => {
    const u = { db: 'wacloud_inst_r', username: 'wacloud_inst_r', password: newDatabasePassword() };
    await withSql(server, async (sql) => {
      const drop = () =>
        sql.query('REASSIGN OWNED BY wacloud_inst_r TO CURRENT_USER; DROP OWNED BY wacloud_inst_r; DROP ROLE wacloud_inst_r');
      /** Another party's statements around ensure's look-ups of the role, in their order (one entry per look-up). */
      const lookups: Array<{ before?: () => Promise<unknown>; after?: () => Promise<unknown> }> = [];
      const pool = (users as unknown as { pool: { query: (...args: unknown[]) => Promise<unknown> } }).pool;
      const query = pool.query.bind(pool);
      pool.query = async (...args: unknown[]) => {
        const step = String(args[0]).includes('FROM pg_authid') ? lookups.shift() : undefined;
        await step?.before?.();
        const r = await query(...args);
        await step?.after?.();
        return r;
      };
      try {
        // None at the first look-up, then made by someone (ensure's CREATE meets "exists"), and gone again at the
        // second look-up: a new round creates it.
        lookups.push({ after: () => sql.query(`CREATE ROLE wacloud_inst_r LOGIN PASSWORD 'someone'`) }, { before: drop });
        await withClient(await users.ensure(u), (c) => c.db(u.db).collection('m').insertOne({ n: 1 }));
        expect(lookups).toHaveLength(0);
        // Found, then dropped before its new password is set: created again.
        lookups.push({ after: drop });
        const again = { ...u, password: newDatabasePassword() };
        await withClient(await users.ensure(again), async (c) => expect(await c.db(u.db).collection('m').countDocuments()).toBe(1));
        expect(lookups).toHaveLength(0);
      } finally {
        Reflect.deleteProperty(pool, 'query');
      }
      const note = await sql.query("SELECT shobj_description(oid, 'pg_authid') AS note FROM pg_roles WHERE rolname = $1", [u.username]);
      expect(note.rows[0]?.note).toBe(INSTANCE_USER_MARK);
    });
    await users.drop(u);
  });

  test("a schema FerretDB did not make (another application's, PostgreSQL's own, public) is never handed over", async () => {
    await withSql(server, async (sql) => {
      const owner = async (table: string) =>
        (await sql.query('SELECT tableowner FROM pg_tables WHERE tablename = $1', [table])).rows[0]?.tableowner;
      const roles = async (name: string) => (await sql.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount;
      await sql.query('CREATE SCHEMA reports');
      await sql.query('CREATE TABLE reports.revenue (amount int)');
      await expect(users.ensure({ db: 'reports', username: 'wacloud_reports', password: newDatabasePassword() })).rejects.toThrow(
        /cannot give wacloud_reports its database: a PostgreSQL schema "reports" with objects in it exists that FerretDB did not create/,
      );
      expect(await owner('revenue')).toBe(server.postgres.user);
      expect(await roles('wacloud_reports')).toBe(0); // refused before anything was made
      for (const db of ['public', 'pg_catalog', 'information_schema'])
        await expect(users.ensure({ db, username: `wacloud_${db}`, password: newDatabasePassword() })).rejects.toThrow(
          /is one of PostgreSQL's own schemas/,
        );
      // An empty schema of that name, and a FerretDB database someone else made through FerretDB, are the instance's.
      await sql.query('CREATE SCHEMA wacloud_inst_g');
      const g = { db: 'wacloud_inst_g', username: 'wacloud_inst_g', password: newDatabasePassword() };
      await withClient(await users.ensure(g), (c) => c.db(g.db).collection('m').insertOne({ n: 1 }));
      await withClient(server.dbUri('wacloud_inst_h'), (c) => c.db('wacloud_inst_h').collection('m').insertOne({ n: 1 }));
      const h = { db: 'wacloud_inst_h', username: 'wacloud_inst_h', password: newDatabasePassword() };
      await withClient(await users.ensure(h), async (c) => expect(await c.db(h.db).collection('m').countDocuments()).toBe(1));
      await users.drop(g);
      await users.drop(h);
    });
  });
});
