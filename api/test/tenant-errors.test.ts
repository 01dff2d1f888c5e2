/**
 * What tenants read when the runtime fails: catalogue codes and actionable text, never infrastructure detail. The api
 * runs in this process on a real MongoDB-wire server with a provider that fails on cue with messages full of detail
 * (apiserver URLs, pod addresses, container names, the Docker socket, instance log lines); no body may repeat them.
 * A refusal for good (`rejected`, e.g. an apiserver 422) is a 500 `provider_rejected`, not a 503 "retry shortly".
 */
import { freePort, startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { ProviderError, type InstanceEndpoints, type InstanceProvider, type ProviderStatus } from '../src/providers/index.js';
import { startApi, type Api } from '../src/service.js';

/** Strings that must never reach a tenant. */
const SECRETS = [
  '10.96.0.1',
  '10.244.1.7',
  'kube-apiserver',
  'https://',
  'unix:///var/run/docker.sock',
  'wacloud-i-',
  'ECONNREFUSED',
  'at Object.<anonymous>',
  'main.js:',
  '127.0.0.1',
  '422',
];

/** A provider that succeeds, or fails the way `plan` says. */
class FailingProvider implements InstanceProvider {
  readonly kind = 'kubernetes' as const;
  plan: {
    create?: ProviderError;
    delete?: ProviderError;
    /** Failure of suspend, resume and restart (a tenant's stop, start, restart). */
    control?: ProviderError;
    status?: ProviderError | ProviderStatus;
    endpoints?: ProviderError | InstanceEndpoints;
  } = {};
  async create(): Promise<void> {
    if (this.plan.create) throw this.plan.create;
  }
  async suspend(): Promise<void> {
    if (this.plan.control) throw this.plan.control;
  }
  async resume(): Promise<void> {
    if (this.plan.control) throw this.plan.control;
  }
  async restart(): Promise<void> {
    if (this.plan.control) throw this.plan.control;
  }
  async delete(): Promise<void> {
    if (this.plan.delete) throw this.plan.delete;
  }
  async status(): Promise<ProviderStatus> {
    const s = this.plan.status ?? { phase: 'Running', sessionState: 'WORKING' };
    if (s instanceof ProviderError) throw s;
    return s;
  }
  async endpoints(): Promise<InstanceEndpoints> {
    const e = this.plan.endpoints;
    if (!e) throw new ProviderError('not_ready', 'instance pod 10.244.1.7 is not ready (kube-apiserver https://10.96.0.1:443)');
    if (e instanceof ProviderError) throw e;
    return e;
  }
  async reconcile(): Promise<void> {}
  async close(): Promise<void> {}
}

const rejected422 = () =>
  new ProviderError(
    'rejected',
    'Kubernetes API refused PATCH /apis/wacloud.io/v1alpha1/namespaces/t/whatsappinstances/i-x: 422 Invalid spec.owner: owner is immutable (kube-apiserver https://10.96.0.1:443)',
  );
const dockerDown = () =>
  new ProviderError(
    'unavailable',
    'cannot reach the Docker daemon at unix:///var/run/docker.sock (inspect container wacloud-i-abc: connect ECONNREFUSED); is dockerd running there?',
  );

let mongo: MongoServer;
let api: Api;
const provider = new FailingProvider();
let token: string;

async function call(method: string, p: string, body?: unknown): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(api.url + p, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
}

/** Asserts the body names none of {@link SECRETS}. */
function clean(text: string): void {
  for (const s of SECRETS) expect(text).not.toContain(s);
}

beforeAll(async () => {
  mongo = await startMongo();
  const config = loadConfig({
    MONGODB_URI: mongo.dbUri(uniqueDbName('tenant-errors')),
    JWT_SECRET: 'test-jwt-secret-0123456789abcdef-0123456789',
    PORT: '0',
    HOST: '127.0.0.1',
    PROVIDER: 'kubernetes',
    RECONCILE_ON_START: 'false',
    BILLING_CRON: 'false',
    PRICE_MONTHLY_MINOR: '100',
    // The provider's answers change from test to test: no cached "not ready" carried over.
    ENDPOINTS_NEGATIVE_TTL_MS: '0',
    // The answer after the wait for a starting instance (INSTANCE_READY_WAIT_MS, 60 s by default) is what is checked.
    INSTANCE_READY_WAIT_MS: '0',
  });
  api = await startApi(config, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), provider);
  await fetch(`${api.url}/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'errors@example.com', password: 'correct horse battery' }),
  });
  const login = await fetch(`${api.url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'errors@example.com', password: 'correct horse battery' }),
  });
  token = ((await login.json()) as { accessToken: string }).accessToken;
  expect((await call('POST', '/v1/wallet/deposits', { amount: 1000 })).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await api?.close();
  await mongo?.stop();
});

beforeEach(() => {
  provider.plan = {};
});

test('a refusal for good (apiserver 422) on create: 500 provider_rejected, refunded, no detail', async () => {
  provider.plan.create = rejected422();
  const r = await call('POST', '/v1/instances', { name: 'refused' });
  expect(r.status).toBe(500);
  expect(r.body.error.code).toBe('provider_rejected');
  expect(r.body.error.message).toMatch(/retrying will not help/);
  expect(r.body.error.message).toMatch(/refunded/);
  clean(r.text);
  expect((await call('GET', '/v1/me')).body.balanceMinor).toBe(1000);
});

test('an unreachable runtime on create: 503 provider_unavailable, refunded, no socket path or container name', async () => {
  provider.plan.create = dockerDown();
  const r = await call('POST', '/v1/instances', { name: 'down' });
  expect(r.status).toBe(503);
  expect(r.body.error.code).toBe('provider_unavailable');
  expect(r.body.error.message).toMatch(/retry/);
  clean(r.text);
  expect((await call('GET', '/v1/me')).body.balanceMinor).toBe(1000);
});

describe('an existing instance', () => {
  let id: string;
  beforeAll(async () => {
    provider.plan = {};
    const r = await call('POST', '/v1/instances', { name: 'existing' });
    expect(r.status).toBe(201);
    id = r.body.id;
  });

  test('a failed instance shows a fixed text, not the provider detail or instance log lines', async () => {
    provider.plan.status = {
      phase: 'Failed',
      message:
        'exited (exit code 1); last log lines:\nError: boom\n    at Object.<anonymous> (/srv/instance/dist/main.js:12:3) on pod 10.244.1.7',
    };
    for (const r of [await call('GET', `/v1/instances/${id}`), await call('GET', '/v1/instances')]) {
      expect(r.status).toBe(200);
      expect(r.text).toMatch(/failed to start; it is retried automatically/);
      clean(r.text);
    }
  });

  test('a provider that cannot answer the status: Provisioning with a fixed text, no apiserver URL', async () => {
    provider.plan.status = new ProviderError(
      'unavailable',
      'Kubernetes API at https://10.96.0.1:443 unreachable (GET /apis/…: ECONNREFUSED)',
    );
    const r = await call('GET', `/v1/instances/${id}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ phase: 'Provisioning', message: expect.stringMatching(/status is unavailable right now/) });
    clean(r.text);
  });

  test('tokens of an instance that is not ready: 503 instance_unavailable without the pod address', async () => {
    const r = await call('POST', `/v1/instances/${id}/tokens`, { name: 'ci', permissions: 'r' });
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('instance_unavailable');
    clean(r.text);
  });

  test('tokens when the runtime refuses for good: 500 provider_rejected', async () => {
    provider.plan.endpoints = rejected422();
    const r = await call('GET', `/v1/instances/${id}/tokens`);
    expect(r.status).toBe(500);
    expect(r.body.error.code).toBe('provider_rejected');
    clean(r.text);
  });

  test('an instance that does not answer: the gateway and the token API say so without its address', async () => {
    const port = await freePort(); // nothing listens there
    provider.plan.endpoints = {
      publicUrl: `http://127.0.0.1:${port}`,
      internalUrl: `http://127.0.0.1:${port}`,
      internalKey: 'k'.repeat(43),
    };
    for (const r of [await call('GET', `/v1/instances/${id}/api/v1/stats`), await call('GET', `/v1/instances/${id}/tokens`)]) {
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('instance_unavailable');
      clean(r.text);
      expect(r.text).not.toContain(String(port));
    }
    // With an instance token the request goes straight to the instance's public API.
    const res = await fetch(`${api.url}/v1/instances/${id}/api/v1/stats`, { headers: { authorization: 'Bearer wai_0123456789abcdef' } });
    const text = await res.text();
    expect(res.status).toBe(503);
    clean(text);
    expect(text).not.toContain(String(port));
  });

  test('stop, start and restart when the runtime fails: 503 provider_unavailable or 500 provider_rejected, nothing changed', async () => {
    for (const [failure, status, code] of [
      [dockerDown(), 503, 'provider_unavailable'],
      [rejected422(), 500, 'provider_rejected'],
    ] as const) {
      provider.plan.control = failure;
      for (const action of ['stop', 'start', 'restart']) {
        const r = await call('POST', `/v1/instances/${id}/${action}`);
        expect(r.status).toBe(status);
        expect(r.body.error.code).toBe(code);
        clean(r.text);
      }
      expect((await call('GET', `/v1/instances/${id}`)).body).toMatchObject({ stopped: false, stoppedAt: null });
    }
    provider.plan.control = undefined;
    expect((await call('POST', `/v1/instances/${id}/stop`)).body).toMatchObject({ phase: 'Stopped', stopped: true });
    provider.plan.control = dockerDown();
    expect((await call('POST', `/v1/instances/${id}/start`)).status).toBe(503);
    expect((await call('GET', `/v1/instances/${id}`)).body).toMatchObject({ phase: 'Stopped', stopped: true });
    provider.plan.control = undefined;
    expect((await call('POST', `/v1/instances/${id}/start`)).body).toMatchObject({ stopped: false });
  });

  test('delete refused for good: 500 provider_rejected, and the instance is kept', async () => {
    provider.plan.delete = rejected422();
    const r = await call('DELETE', `/v1/instances/${id}`);
    expect(r.status).toBe(500);
    expect(r.body.error.code).toBe('provider_rejected');
    clean(r.text);
    provider.plan.delete = dockerDown();
    const again = await call('DELETE', `/v1/instances/${id}`);
    expect(again.status).toBe(503);
    expect(again.body.error.code).toBe('provider_unavailable');
    clean(again.text);
    expect((await call('GET', `/v1/instances/${id}`)).status).toBe(200);
  });
});

test('the OpenAPI document declares the provider errors of the instance routes', async () => {
  const doc = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  };
  expect(Object.keys(doc.paths['/v1/instances']!.post!.responses)).toEqual(expect.arrayContaining(['500', '503']));
  expect(Object.keys(doc.paths['/v1/instances/{id}']!.delete!.responses)).toEqual(expect.arrayContaining(['500', '503']));
  expect(Object.keys(doc.paths['/v1/instances/{id}/tokens']!.post!.responses)).toEqual(
    expect.arrayContaining(['409', '500', '502', '503']),
  );
  for (const action of ['stop', 'start', 'restart'])
    expect(Object.keys(doc.paths[`/v1/instances/{id}/${action}`]!.post!.responses)).toEqual(
      expect.arrayContaining(['200', '401', '404', '409', '500', '503']),
    );
});
