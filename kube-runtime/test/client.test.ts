/**
 * KubeClient and ApiServerError against a REAL kube-apiserver (testenv's control plane): every refusal the apiserver
 * really sends maps to its reason and helper, and a server that gives no answer maps to `unreachable`.
 */
import net from 'node:net';
import { eventually, freePort, startControlPlane, type ControlPlane } from '@wacloud/testenv';
import type { KubernetesObject, V1ConfigMap } from '@kubernetes/client-node';
import { KubeClient, collectionPath } from '../src/client/client.js';
import {
  ApiServerError,
  asApiServerError,
  isAlreadyExists,
  isConflict,
  isForbidden,
  isInvalid,
  isNotFound,
  isRetryable,
  isUnreachable,
} from '../src/client/errors.js';
import { EventRecorder } from '../src/client/events.js';
import { parseKubeConfigFile, type KubeConfigLike } from '../src/client/kubeconfig.js';
import { silentLogger } from '../src/runtime/logger.js';

const NS = 'client-test';
let cp: ControlPlane;
let client: KubeClient;
const cms = () => client.collectionPath('v1', 'ConfigMap', NS);
const cm = (name: string, data: Record<string, string> = {}, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: NS, labels },
  data,
});

/** Whatever `p` rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** A kubeconfig for a plain-HTTP server at `url` (no credentials). */
const plainConfig = (url: string): KubeConfigLike => ({ getCurrentCluster: () => ({ server: url }), getCurrentUser: () => ({}) });

beforeAll(async () => {
  cp = await startControlPlane({ controllerManager: false });
  client = new KubeClient(cp.kubeConfig());
  await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } });
}, 180_000);

afterAll(async () => {
  await cp?.stop();
});

describe('KubeClient against the apiserver', () => {
  it('applies (server-side apply), gets, lists page by page and deletes', async () => {
    const applied = await client.apply<V1ConfigMap>(cm('a', { k: 'v' }, { set: 'one' }), 'client-test');
    expect(applied.data).toEqual({ k: 'v' });
    expect(applied.metadata?.managedFields?.[0]?.manager).toBe('client-test');
    expect((await client.get<V1ConfigMap>(client.objectPath(cm('a'))))?.data).toEqual({ k: 'v' });
    for (const n of ['b', 'c', 'd']) await client.apply(cm(n, {}, { set: 'one' }), 'client-test');
    const listed = await client.list<V1ConfigMap>(cms(), { labelSelector: 'set=one', pageSize: 2 });
    expect(listed.map((o) => o.metadata?.name).sort()).toEqual(['a', 'b', 'c', 'd']);
    const patched = await client.mergePatch<V1ConfigMap>(client.objectPath(cm('a')), { data: { k: 'w' } });
    expect(patched.data).toEqual({ k: 'w' });
    expect(await client.delete(client.objectPath(cm('a')))).toBe(true);
    expect(await client.delete(client.objectPath(cm('a')))).toBe(false);
    expect(await client.get(client.objectPath(cm('a')))).toBeUndefined();
  });

  it('names custom kinds only once they are registered', () => {
    expect(() => client.collectionPath('example.com/v1', 'Widget', NS)).toThrow(/unknown kind Widget/);
    const custom = new KubeClient(cp.kubeConfig(), { kinds: { Widget: 'widgets' } });
    expect(custom.objectPath({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: NS } })).toBe(
      `/apis/example.com/v1/namespaces/${NS}/widgets/w`,
    );
    expect(collectionPath('apps/v1', 'StatefulSet')).toBe('/apis/apps/v1/statefulsets');
    expect(collectionPath('v1', 'Secret', 'x')).toBe('/api/v1/namespaces/x/secrets');
  });

  it('a 404 is NotFound', async () => {
    const err = await rejection(client.request('GET', client.objectPath(cm('missing'))));
    expect(err).toBeInstanceOf(ApiServerError);
    expect(err).toMatchObject({ code: 'rejected', status: 404, reason: 'NotFound', method: 'GET' });
    expect(isNotFound(err)).toBe(true);
    expect(isRetryable(err)).toBe(false);
    expect(isUnreachable(err)).toBe(false);
  });

  it('a create of an existing object is AlreadyExists (409), a stale resourceVersion is Conflict (409)', async () => {
    await client.request('POST', cms(), { body: cm('dup') });
    const exists = await rejection(client.request('POST', cms(), { body: cm('dup') }));
    expect(exists).toMatchObject({ status: 409, reason: 'AlreadyExists' });
    expect(isAlreadyExists(exists)).toBe(true);
    expect(isConflict(exists)).toBe(false);

    const cur = (await client.get<V1ConfigMap>(client.objectPath(cm('dup'))))!;
    await client.request('PUT', client.objectPath(cm('dup')), { body: { ...cur, data: { n: '1' } } });
    const stale = await rejection(client.request('PUT', client.objectPath(cm('dup')), { body: { ...cur, data: { n: '2' } } }));
    expect(stale).toMatchObject({ status: 409, reason: 'Conflict' });
    expect(isConflict(stale)).toBe(true);
    expect(isRetryable(stale)).toBe(false);
  });

  it('create (POST) then apply: a field no longer applied stays unless the Update ownership is moved first', async () => {
    const managers = (o: KubernetesObject) => o.metadata!.managedFields!.map((f) => `${f.manager}/${f.operation}`).sort();
    // Without the move: the POST's Update entry still owns `b`, so the apply that stops sending it leaves it there.
    await client.create(cm('created-kept', { a: '1', b: '2' }), 'mover');
    const kept = await client.apply<V1ConfigMap>(cm('created-kept', { a: '1' }), 'mover');
    expect(kept.data).toEqual({ a: '1', b: '2' });
    expect(managers(kept)).toEqual(['mover/Apply', 'mover/Update']);

    // With it: one Apply entry owning what the POST set, so the apply removes `b`; another manager's field stays.
    await client.create(cm('created-moved', { a: '1', b: '2' }), 'mover');
    await client.mergePatch(`${cms()}/created-moved`, { data: { other: 'x' } }, 'someone-else');
    const live = (await client.get<V1ConfigMap>(`${cms()}/created-moved`))!;
    const moved = (await client.upgradeManagedFields(live, 'mover'))!;
    expect(managers(moved)).toEqual(['mover/Apply', 'someone-else/Update']);
    expect(moved.data).toEqual(live.data); // the patch changes no field
    const applied = await client.apply<V1ConfigMap>(cm('created-moved', { a: '1' }), 'mover');
    expect(applied.data).toEqual({ a: '1', other: 'x' });
    expect(managers(applied)).toEqual(['mover/Apply', 'someone-else/Update']);

    // Nothing to move: no request. A stale read: Conflict.
    expect(await client.upgradeManagedFields(applied, 'mover')).toBeUndefined();
    await client.create(cm('created-stale', { a: '1' }), 'mover');
    const stale = (await client.get<V1ConfigMap>(`${cms()}/created-stale`))!;
    await client.mergePatch(`${cms()}/created-stale`, { data: { a: '2' } }, 'someone-else');
    expect(isConflict(await rejection(client.upgradeManagedFields(stale, 'mover')))).toBe(true);
  });

  it('an object that fails validation is Invalid (422), with the Status details', async () => {
    const err = await rejection(client.apply(cm('bad', { 'not a valid key!': 'x' }), 'client-test'));
    expect(err).toMatchObject({ code: 'rejected', status: 422, reason: 'Invalid' });
    expect(isInvalid(err)).toBe(true);
    expect(isRetryable(err)).toBe(false);
    expect(JSON.stringify(asApiServerError(err)?.details)).toContain('not a valid key!');
  });

  it('a ServiceAccount without RBAC is Forbidden (403) — a token kubeconfig read without client-node', async () => {
    const kc = parseKubeConfigFile(await cp.serviceAccountKubeconfig(NS, 'nobody'));
    expect(kc).toBeDefined();
    const err = await rejection(new KubeClient(kc!).request('GET', cms()));
    expect(err).toMatchObject({ status: 403, reason: 'Forbidden' });
    expect(isForbidden(err)).toBe(true);
  });

  it('records Events about an object', async () => {
    const obj = await client.apply<KubernetesObject>(cm('evented'), 'client-test');
    await new EventRecorder(client, silentLogger, { component: 'client-test', instance: 'test-1' }).record(
      obj,
      'Normal',
      'Tested',
      'an event',
    );
    const events = await eventually(async () => {
      const l = await client.list<KubernetesObject & { reason?: string; involvedObject?: { kind?: string } }>(
        client.collectionPath('v1', 'Event', NS),
        { fieldSelector: 'involvedObject.name=evented' },
      );
      return l.length > 0 ? l : undefined;
    });
    expect(events[0]).toMatchObject({ reason: 'Tested', involvedObject: { kind: 'ConfigMap' } });
  });
});

describe('no answer is `unreachable`', () => {
  it('a closed port', async () => {
    const port = await freePort();
    const err = await rejection(new KubeClient(plainConfig(`http://127.0.0.1:${port}`)).request('GET', '/api/v1/namespaces'));
    expect(err).toBeInstanceOf(ApiServerError);
    expect(err).toMatchObject({ code: 'unreachable', status: 0, reason: '' });
    expect(String((err as Error).message)).toMatch(/apiserver unreachable: .*ECONNREFUSED/);
    expect(isUnreachable(err)).toBe(true);
    expect(isRetryable(err)).toBe(true);
    expect(isNotFound(err)).toBe(false);
  });

  it('a server that accepts but never answers (timeout), and one that hangs up', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    const rude = net.createServer((s) => s.destroy());
    await Promise.all([silent, rude].map((srv) => new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))));
    try {
      const url = (srv: net.Server) => `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
      const timedOut = await rejection(new KubeClient(plainConfig(url(silent)), { timeoutMs: 300 }).request('GET', '/version'));
      expect(timedOut).toMatchObject({ code: 'unreachable' });
      expect((timedOut as Error).message).toMatch(/no response within 300 ms/);
      const hungUp = await rejection(new KubeClient(plainConfig(url(rude))).request('GET', '/version'));
      expect(isUnreachable(hungUp)).toBe(true);
    } finally {
      for (const s of sockets) s.destroy();
      await Promise.all([silent, rude].map((srv) => new Promise((r) => srv.close(r))));
    }
  });

  it("the caller's own abort is the AbortError, not an apiserver failure", async () => {
    const ctl = new AbortController();
    ctl.abort();
    const err = await rejection(client.request('GET', '/version', { signal: ctl.signal }));
    expect((err as Error).name).toBe('AbortError');
    expect(asApiServerError(err)).toBeUndefined();
  });
});

describe('ApiServerError (pure)', () => {
  it('takes the reason from the HTTP status when the body has no Status', () => {
    const e = ApiServerError.rejected('GET', '/x', 404, { message: 'page not found' });
    expect(e).toMatchObject({ reason: 'NotFound', message: 'GET /x: 404 NotFound page not found' });
    expect(ApiServerError.rejected('GET', '/x', 502, undefined).reason).toBe('InternalError');
    expect(isRetryable(ApiServerError.rejected('GET', '/x', 429, undefined))).toBe(true);
    expect(isRetryable(ApiServerError.rejected('GET', '/x', 503, undefined))).toBe(true);
  });

  it('the helpers recognise an ApiServerError from another realm by its shape, and nothing else', () => {
    const foreign = Object.assign(new Error('x'), { name: 'ApiServerError', code: 'rejected', status: 404, reason: 'NotFound' });
    expect(isNotFound(foreign)).toBe(true);
    expect(isNotFound(Object.assign(new Error('x'), { statusCode: 404 }))).toBe(false);
    expect(isRetryable(new Error('ECONNREFUSED'))).toBe(false);
    expect(isNotFound(undefined)).toBe(false);
  });
});
