/**
 * One database, one instance (database-claims.ts): the oldest claimant holds a database, changes name the instances to
 * reconcile again, and the platform's own databases are refused.
 */
import type { WhatsAppInstance } from '@wacloud/crds';
import { DatabaseClaims, databaseRefusal, reservedDatabases } from '../src/database-claims.js';

const wai = (ns: string, name: string, created: string, mongodb?: WhatsAppInstance['spec']['mongodb']): WhatsAppInstance => ({
  apiVersion: 'wacloud.io/v1alpha1',
  kind: 'WhatsAppInstance',
  metadata: { namespace: ns, name, creationTimestamp: created },
  spec: { owner: 'tenant-a', ...(mongodb ? { mongodb } : {}) },
});

describe('DatabaseClaims', () => {
  test('the oldest claimant holds a database; a newer one is told who holds it; names compare case-insensitively', () => {
    const claims = new DatabaseClaims();
    const older = wai('a', 'one', '2026-12-01T10:00:00Z', { database: 'Shared' });
    const newer = wai('b', 'two', '2026-12-01T10:00:05Z', { database: 'shared' });
    expect(claims.set(newer)).toEqual([]);
    expect(claims.holderOtherThan(newer)).toBeUndefined(); // alone: it holds it
    expect(claims.set(older)).toEqual(['b/two']); // the other claimant is reconciled again
    expect(claims.holderOtherThan(newer)).toBe('a/one');
    expect(claims.holderOtherThan(older)).toBeUndefined();
    expect(claims.set(older)).toEqual([]); // a resync changes nothing
  });

  test('the holder gone or renamed: the others are named, and the next oldest holds it', () => {
    const claims = new DatabaseClaims();
    const [x, y, z] = ['x', 'y', 'z'].map((n, i) => wai('ns', n, `2026-12-01T10:00:0${i}Z`, { database: 'db1' }));
    for (const w of [x!, y!, z!]) claims.set(w);
    expect(claims.holderOtherThan(z!)).toBe('ns/x');
    expect(claims.remove(x!).sort()).toEqual(['ns/y', 'ns/z']);
    expect(claims.holderOtherThan(z!)).toBe('ns/y');
    expect(claims.holderOtherThan(y!)).toBeUndefined();
    const renamed = { ...y!, spec: { ...y!.spec, mongodb: { database: 'db2' } } };
    expect(claims.set(renamed)).toEqual(['ns/z']);
    expect(claims.holderOtherThan(z!)).toBeUndefined();
    expect(claims.holderOtherThan(renamed)).toBeUndefined();
    expect(claims.remove(renamed)).toEqual([]);
    expect(claims.remove(renamed)).toEqual([]); // already gone
  });

  test('equal creation times (seconds only): the lower namespace/name holds; an instance with its own Secret claims nothing', () => {
    const claims = new DatabaseClaims();
    const b = wai('ns', 'b', '2026-12-01T10:00:00Z', { database: 'db' });
    const a = wai('ns', 'a', '2026-12-01T10:00:00Z', { database: 'db' });
    claims.set(b);
    claims.set(a);
    expect(claims.holderOtherThan(b)).toBe('ns/a');
    const own = { ...a, spec: { ...a.spec, mongodb: { database: 'db', secretRef: { name: 's', key: 'uri' } } } };
    expect(claims.set(own)).toEqual(['ns/b']);
    expect(claims.holderOtherThan(b)).toBeUndefined();
    expect(claims.holderOtherThan(own)).toBeUndefined();
  });

  test('default database names are the instance’s own: two instances never meet', () => {
    const claims = new DatabaseClaims();
    const one = wai('ns', 'one', '2026-12-01T10:00:00Z');
    const two = wai('ns', 'two', '2026-12-01T10:00:00Z');
    claims.set(one);
    claims.set(two);
    expect(claims.holderOtherThan(one)).toBeUndefined();
    expect(claims.holderOtherThan(two)).toBeUndefined();
  });
});

describe('reservedDatabases and databaseRefusal', () => {
  const config = {
    defaultMongodbUri: 'mongodb://root:pw@db:27017/Wacloud?authMechanism=PLAIN&authSource=authdb',
    instanceDatabaseUsersPostgresUrl: 'postgres://pgadmin:pw@pg:5432/ferretdb',
  };

  test("MongoDB's own databases and every name in the admin credentials", () => {
    expect([...reservedDatabases(config)].sort()).toEqual(['admin', 'authdb', 'config', 'ferretdb', 'local', 'pgadmin', 'root', 'wacloud']);
    expect(
      [...reservedDatabases({ defaultMongodbUri: 'mongodb://db:27017/', instanceDatabaseUsersPostgresUrl: undefined })].sort(),
    ).toEqual(['admin', 'config', 'local']);
  });

  test('a reserved name, then another holder, refuse; its own database or its own Secret do not', () => {
    const reserved = reservedDatabases(config);
    const named = (database: string) => wai('ns', 'w', '2026-12-01T10:00:00Z', { database });
    expect(databaseRefusal(named('PGADMIN'), reserved, undefined)).toMatchObject({ reason: 'DatabaseReserved' });
    expect(databaseRefusal(named('wacloud'), reserved, 'ns/other')).toMatchObject({ reason: 'DatabaseReserved' });
    expect(databaseRefusal(named('sales'), reserved, 'ns/other')).toEqual({
      reason: 'DatabaseInUse',
      message: expect.stringContaining('is the database of instance ns/other'),
    });
    expect(databaseRefusal(named('sales'), reserved, undefined)).toBeUndefined();
    const ownSecret = wai('ns', 'w', '2026-12-01T10:00:00Z', { database: 'wacloud', secretRef: { name: 's', key: 'uri' } });
    expect(databaseRefusal(ownSecret, reserved, undefined)).toBeUndefined();
  });
});
