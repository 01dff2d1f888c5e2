/**
 * The operator gives each instance its own database user, limited to its database, on a server that enforces it
 * (FerretDB on PostgreSQL): the internal Secret's `mongodb-uri` carries only that user's credentials and database,
 * they reach the instance's database and are refused on another instance's and on the api's; the password is kept
 * across reconciles; the finalizer drops the user, and so does a rename of the database or a Secret of its own.
 */
import { MongoClient } from 'mongodb';
import { eventually, startAuthorisingMongo, type AuthorisingMongoServer, type ControlPlane } from '@wacloud/testenv';
import { getJson, kubectlOk, startClusterWithCrd, startOperator, type RunningOperator } from './harness.js';
import { pino } from 'pino';
import { EventRecorder, KubeClient, loadKubeConfig } from '@wacloud/kube-runtime';
import { FINALIZER, KIND, PLURAL, type WhatsAppInstance } from '@wacloud/crds';
import { loadOperatorConfig } from '../src/config.js';
import { InstanceDatabaseUsers, formerUser } from '../src/database-user.js';
import { InstanceReconciler, httpSessionProbe } from '../src/reconciler.js';

let cp: ControlPlane;
let op: RunningOperator;
let server: AuthorisingMongoServer;
let operatorKubeconfig: string;
const NS = 'dbusers';

beforeAll(async () => {
  server = await startAuthorisingMongo();
  const cluster = await startClusterWithCrd();
  cp = cluster.cp;
  operatorKubeconfig = cluster.operatorKubeconfig;
  await kubectlOk(cp, ['create', 'namespace', NS]);
  op = await startOperator(cluster.operatorKubeconfig, 'op-dbusers', {
    DEFAULT_MONGODB_URI: server.adminUri,
    INSTANCE_DATABASE_USERS: 'ferretdb-postgresql',
    INSTANCE_DATABASE_USERS_POSTGRES_URL: server.postgres.url,
  });
}, 180_000);

afterAll(async () => {
  await op?.stop();
  await cp?.stop();
  await server?.stop();
});

afterEach(() => {
  const s = expect.getState();
  if ((s as { suppressedErrors?: unknown[] }).suppressedErrors?.length) process.stderr.write(op?.proc.output().slice(-4000) ?? '');
});

function isDenied(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e.code === 13 || /permission denied|not authorized|must be owner/i.test(String(e.message));
}

async function withClient<T>(uri: string, fn: (c: MongoClient) => Promise<T>): Promise<T> {
  const c = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a refusal, but the operation succeeded');
}

const instance = (name: string) => `apiVersion: wacloud.io/v1alpha1
kind: WhatsAppInstance
metadata: { name: ${name}, namespace: ${NS} }
spec: { owner: tenant-a, engine: simulated }
`;

/** The `mongodb-uri` of instance `name`'s internal Secret, once written. */
const secretUri = (name: string) =>
  eventually(async () => {
    const s = await getJson(cp, 'secret', `${name}-internal`, NS);
    const v = s?.data?.['mongodb-uri'];
    return v ? Buffer.from(v, 'base64').toString() : undefined;
  }, 30_000);

test("an instance's Secret carries its own user, which reaches its database only; the finalizer drops it", async () => {
  await withClient(server.dbUri('wacloud'), (c) => c.db('wacloud').collection('users').insertOne({ email: 'x@example.com' }));
  await kubectlOk(cp, ['apply', '-f', '-'], `${instance('line-a')}---\n${instance('line-b')}`);
  const uriA = await secretUri('line-a');
  const uriB = await secretUri('line-b');
  const dbA = `wacloud_${NS}_line-a`;
  const dbB = `wacloud_${NS}_line-b`;
  expect(uriA).toMatch(new RegExp(`^mongodb://${dbA}:[A-Za-z0-9_-]{32}@`));
  expect(uriA).toContain(`/${dbA}?`);
  expect(uriA).not.toContain(server.postgres.password);

  await withClient(uriB, (c) => c.db(dbB).collection('messages').insertOne({ text: 'secret of B' }));
  await withClient(uriA, async (c) => {
    await c.db(dbA).collection('messages').insertOne({ text: 'from A' });
    expect(await c.db(dbA).collection('messages').countDocuments()).toBe(1);
    expect(isDenied(await rejection(c.db(dbB).collection('messages').find().toArray()))).toBe(true);
    expect(isDenied(await rejection(c.db(dbB).collection('messages').insertOne({ text: 'from A' })))).toBe(true);
    expect(isDenied(await rejection(c.db('wacloud').collection('users').find().toArray()))).toBe(true);
  });

  // A later reconcile (a spec change) keeps the password.
  await kubectlOk(cp, ['patch', 'wai', 'line-a', '-n', NS, '--type=merge', '-p', '{"spec":{"image":"wacloud/instance:2"}}']);
  await eventually(
    async () => (await getJson(cp, 'statefulset', 'line-a', NS))?.spec.template.spec.containers[0].image === 'wacloud/instance:2',
  );
  expect(await secretUri('line-a')).toBe(uriA);

  await kubectlOk(cp, ['delete', 'wai', 'line-a', '-n', NS, '--wait=false']);
  await eventually(async () => ((await getJson(cp, 'wai', 'line-a', NS)) ? undefined : true), 30_000);
  await expect(withClient(uriA, (c) => c.db(dbA).collection('messages').insertOne({ after: 'delete' }))).rejects.toThrow(
    /authentication failed|does not exist|terminating connection/,
  );
  await withClient(uriB, async (c) => expect(await c.db(dbB).collection('messages').countDocuments()).toBe(1));
});

test('renaming the database or naming its own Secret drops the user the Secret named before', async () => {
  await kubectlOk(cp, ['apply', '-f', '-'], instance('line-c'));
  const uriC = await secretUri('line-c');
  const dbC = `wacloud_${NS}_line-c`;
  await withClient(uriC, (c) => c.db(dbC).collection('messages').insertOne({ text: 'before the rename' }));

  await kubectlOk(cp, ['patch', 'wai', 'line-c', '-n', NS, '--type=merge', '-p', '{"spec":{"mongodb":{"database":"renamed_c"}}}']);
  const renamed = await eventually(async () => {
    const uri = await secretUri('line-c');
    return uri.startsWith('mongodb://renamed_c:') ? uri : undefined;
  }, 30_000);
  expect(renamed).toContain('/renamed_c?');
  await withClient(renamed, async (c) => {
    await c.db('renamed_c').collection('messages').insertOne({ text: 'after the rename' });
    expect(isDenied(await rejection(c.db(dbC).collection('messages').find().toArray()))).toBe(true);
  });
  // The former user is gone (dropped right after the Secret was applied).
  await eventually(async () => {
    const err = await withClient(uriC, (c) => c.db(dbC).collection('messages').countDocuments()).then(
      () => undefined,
      (e: unknown) => e,
    );
    return err && /authentication failed|does not exist|terminating connection/.test(String((err as Error).message)) ? true : undefined;
  }, 30_000);

  // Its own Secret named: the operator's user is dropped too, and the internal Secret no longer carries a URI.
  await kubectlOk(cp, ['create', 'secret', 'generic', 'line-c-db', '-n', NS, `--from-literal=uri=${renamed}`]);
  await kubectlOk(cp, [
    'patch',
    'wai',
    'line-c',
    '-n',
    NS,
    '--type=merge',
    '-p',
    '{"spec":{"mongodb":{"secretRef":{"name":"line-c-db"}}}}',
  ]);
  await eventually(async () => {
    const s = await getJson(cp, 'secret', 'line-c-internal', NS);
    return s && s.data?.['mongodb-uri'] === undefined ? true : undefined;
  }, 30_000);
  await expect(withClient(renamed, (c) => c.db('renamed_c').collection('messages').countDocuments())).rejects.toThrow(
    /authentication failed|does not exist|terminating connection/,
  );
});

test("one database, one instance: a newer instance naming another's waits for it, the platform's is refused; no user of theirs is touched", async () => {
  const named = (name: string, database: string) =>
    instance(name).replace('engine: simulated }', `engine: simulated, mongodb: { database: ${database} } }`);
  const reconciled = (name: string, reason: string) =>
    eventually(async () => {
      const w = await getJson(cp, 'wai', name, NS);
      const c = w?.status?.conditions?.find((x: { type: string }) => x.type === 'Reconciled');
      return c?.reason === reason && c.observedGeneration === w.metadata.generation ? w : undefined;
    }, 30_000);
  const condition = (w: any, type: string) => w.status.conditions.find((c: { type: string }) => c.type === type);

  await kubectlOk(cp, ['apply', '-f', '-'], named('line-f', 'shared_f'));
  const uriF = await secretUri('line-f');
  await withClient(uriF, (c) => c.db('shared_f').collection('messages').insertOne({ text: 'of F' }));
  await new Promise((r) => setTimeout(r, 1_100)); // a later creationTimestamp (whole seconds)
  await kubectlOk(cp, ['apply', '-f', '-'], named('line-g', 'shared_f'));
  const g = await reconciled('line-g', 'DatabaseInUse');
  expect(condition(g, 'Reconciled').message).toContain(`is the database of instance ${NS}/line-f`);
  expect(condition(g, 'Ready')).toMatchObject({ status: 'False', reason: 'DatabaseInUse' });
  expect(g.status.phase).toBe('Failed');
  expect(await getJson(cp, 'secret', 'line-g-internal', NS)).toBeUndefined();
  expect(await getJson(cp, 'statefulset', 'line-g', NS)).toBeUndefined();
  const events = JSON.parse(
    await kubectlOk(cp, ['get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=line-g', '-o', 'json']),
  );
  expect(events.items.map((e: { reason: string }) => e.reason)).toEqual(['DatabaseInUse']);
  // F's user kept its password: its stored URI still works.
  await withClient(uriF, async (c) => expect(await c.db('shared_f').collection('messages').countDocuments()).toBe(1));

  // The PostgreSQL superuser of the admin credential is named like the database: refused, the admin still signs in.
  await kubectlOk(cp, ['apply', '-f', '-'], named('line-h', 'wacloud'));
  const h = await reconciled('line-h', 'DatabaseReserved');
  expect(condition(h, 'Reconciled').message).toMatch(/one the platform uses/);
  expect(await getJson(cp, 'secret', 'line-h-internal', NS)).toBeUndefined();
  await withClient(server.adminUri, async (c) => expect(await c.db('wacloud').collection('users').countDocuments()).toBe(1));
  // MongoDB's own databases never reach the operator: the apiserver refuses them.
  const admin = await cp.kubectl(['apply', '-f', '-'], { stdin: named('line-i', 'Admin') });
  expect(admin.code).not.toBe(0);
  expect(admin.stderr).toMatch(/admin, local and config are MongoDB's own databases/);

  // F deleted (its finalizer drops its user): G is reconciled again and gets the database, with a user of its own.
  await kubectlOk(cp, ['delete', 'wai', 'line-f', '-n', NS, '--wait=false']);
  await reconciled('line-g', 'ReconcileSucceeded');
  const uriG = await secretUri('line-g');
  expect(uriG).toMatch(/^mongodb:\/\/shared_f:/);
  expect(uriG).not.toBe(uriF);
  await withClient(uriG, (c) => c.db('shared_f').collection('messages').insertOne({ text: 'of G' }));
  await expect(withClient(uriF, (c) => c.db('shared_f').collection('messages').countDocuments())).rejects.toThrow(
    /authentication failed|does not exist|terminating connection/,
  );
  await kubectlOk(cp, ['delete', 'wai', 'line-g', 'line-h', '-n', NS, '--wait=false']);
});

test("a finalize from a stale cache (the instance already gone) drops nobody: the database's next instance keeps its user", async () => {
  const named = (name: string) => instance(name).replace('engine: simulated }', 'engine: simulated, mongodb: { database: stale_j } }');
  await kubectlOk(cp, ['apply', '-f', '-'], named('line-j'));
  await secretUri('line-j');
  const before = (await getJson(cp, 'wai', 'line-j', NS)) as WhatsAppInstance;
  expect(before.metadata.finalizers).toContain(FINALIZER);
  await kubectlOk(cp, ['delete', 'wai', 'line-j', '-n', NS]); // its finalizer dropped the user; gone
  await kubectlOk(cp, ['apply', '-f', '-'], named('line-k'));
  const uriK = await eventually(async () => {
    const uri = await secretUri('line-k');
    return await withClient(uri, (c) => c.db('stale_j').collection('m').insertOne({ n: 1 })).then(
      () => uri,
      () => undefined,
    );
  }, 30_000);

  // What the operator's cache can still hold after line-j's finalizer went, before the deletion reaches it: line-j
  // as it was while Terminating. A reconcile of it must not drop the user line-k has now.
  const stale = { ...before, metadata: { ...before.metadata, deletionTimestamp: new Date().toISOString() } };
  const env = {
    DEFAULT_MONGODB_URI: server.adminUri,
    INSTANCE_DATABASE_USERS: 'ferretdb-postgresql',
    INSTANCE_DATABASE_USERS_POSTGRES_URL: server.postgres.url,
  };
  const config = loadOperatorConfig(env);
  const client = new KubeClient(await loadKubeConfig({ KUBECONFIG: operatorKubeconfig }), { kinds: { [KIND]: PLURAL } });
  const logger = pino({ level: 'silent' });
  const databaseUsers = new InstanceDatabaseUsers(config, logger);
  const none = () => undefined;
  const reconciler = new InstanceReconciler({
    client,
    config,
    logger,
    databaseUsers,
    events: new EventRecorder(client, logger, {
      component: 'test',
      instance: 'test',
      involvedKind: { apiVersion: before.apiVersion!, kind: KIND },
    }),
    probe: httpSessionProbe(1_000),
    state: { instance: () => stale, statefulSet: none, service: none, secret: none, networkPolicy: none },
  });
  try {
    await expect(reconciler.reconcile(`${NS}/line-j`)).resolves.toEqual({});
  } finally {
    await databaseUsers.close();
  }
  await withClient(uriK, async (c) => expect(await c.db('stale_j').collection('m').countDocuments()).toBe(1));
  await kubectlOk(cp, ['delete', 'wai', 'line-k', '-n', NS, '--wait=false']);
});

test('formerUser: only a user named like the database in the stored URI, and only when the instance no longer uses it', () => {
  const wai = (mongodb?: WhatsAppInstance['spec']['mongodb']) =>
    ({ metadata: { name: 'line-x', namespace: NS }, spec: { owner: 'tenant-a', mongodb } }) as WhatsAppInstance;
  const own = `mongodb://wacloud_${NS}_line-x:pw@db:27017/wacloud_${NS}_line-x?authSource=wacloud_${NS}_line-x`;
  expect(formerUser(own, wai())).toBeUndefined(); // still its user
  expect(formerUser(own, wai({ database: 'renamed' }))).toBe(`wacloud_${NS}_line-x`);
  expect(formerUser(own, wai({ secretRef: { name: 's', key: 'uri' } }))).toBe(`wacloud_${NS}_line-x`);
  // The shared credential (a user not named like the database) is never a former user.
  expect(formerUser(`mongodb://admin:pw@db:27017/wacloud_${NS}_line-x`, wai({ database: 'renamed' }))).toBeUndefined();
  expect(formerUser(`mongodb://db:27017/wacloud_${NS}_line-x`, wai({ database: 'renamed' }))).toBeUndefined();
  expect(formerUser(undefined, wai({ database: 'renamed' }))).toBeUndefined();
});
