/**
 * The MongoDB driver and `pg` are loaded only when the operator talks to a database server: with
 * INSTANCE_DATABASE_USERS=off (shared credentials) neither is ever imported — ~13 MiB of resident memory at start.
 * Nor is Node's bundled undici (Node's fetch), which an ESM import of `node:http` loads (~8 MiB) — a second copy next to
 * the npm undici that kube-runtime's transport uses. Checked in a node process (the built operator, dist/) that records
 * every module it resolves.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const operatorDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (f: string) => JSON.stringify(path.join(operatorDir, 'dist', f));

/** Runs `body` in a node process after the operator's modules are imported: the driver modules loaded before and after, and whether undici was. */
async function driverModulesLoaded(body: string): Promise<{ atImport: string[]; after: string[]; undici: boolean }> {
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = new Set();
    registerHooks({
      resolve(specifier, context, next) {
        const r = next(specifier, context);
        const m = /\\/node_modules\\/(mongodb|pg|bson)\\//.exec(r.url);
        if (m) loaded.add(m[1]);
        return r;
      },
    });
    await import(${dist('operator.js')});
    const { InstanceDatabaseUsers } = await import(${dist('database-user.js')});
    const atImport = [...loaded].sort();
    const { pino } = await import('pino');
    const log = pino({ level: 'silent' });
    ${body}
    const undici = process.moduleLoadList.some((m) => m.includes('undici'));
    console.log(JSON.stringify({ atImport, after: [...loaded].sort(), undici }));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: operatorDir,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { atImport: string[]; after: string[]; undici: boolean };
}

const wai = { apiVersion: 'wacloud.io/v1alpha1', kind: 'WhatsAppInstance', metadata: { name: 'a', namespace: 'n' }, spec: { owner: 't' } };

test('with INSTANCE_DATABASE_USERS=off the operator never imports the MongoDB driver or pg', async () => {
  const r = await driverModulesLoaded(`
    const users = new InstanceDatabaseUsers(
      { instanceDatabaseUsers: 'off', defaultMongodbUri: 'mongodb://127.0.0.1:1/' },
      log,
    );
    if ((await users.kind()) !== 'shared') throw new Error('expected shared credentials');
    const uri = await users.ensure(${JSON.stringify(wai)}, undefined);
    if (!uri.startsWith('mongodb://127.0.0.1:1/')) throw new Error('unexpected URI ' + uri);
    await users.drop(${JSON.stringify(wai)});
    await users.close();`);
  expect(r).toEqual({ atImport: [], after: [], undici: false });
});

test("the operator's modules do not load Node's bundled undici (node:http is required, not imported: its lazy WebSocket getter loads it)", async () => {
  const r = await driverModulesLoaded(`await import(${dist('session-probe.js')}); await import('@wacloud/kube-runtime');`);
  expect(r.undici).toBe(false);
  // The check itself: an ESM import of node:http does load it.
  const esm = await driverModulesLoaded(`await import('node:http');`);
  expect(esm.undici).toBe(true);
});

test('the check sees the driver once something needs it (FerretDB on PostgreSQL users)', async () => {
  const r = await driverModulesLoaded(`await import('@wacloud/kit/ferretdb-pg-users');`);
  expect(r.atImport).toEqual([]);
  expect(r.after).toEqual(expect.arrayContaining(['mongodb', 'pg']));
});
