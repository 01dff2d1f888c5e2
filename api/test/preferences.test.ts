/**
 * A member's display preferences (PATCH /v1/me): the dashboard language and time zone are stored on the user, shown
 * by GET /v1/me and the login answer, kept when left out, forgotten with null, and refused when unknown.
 */
import { startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import type { InstanceEndpoints, InstanceProvider, ProviderStatus } from '../src/providers/index.js';
import { startApi, type Api } from '../src/service.js';

/** No instance is created here: a provider that is never asked for anything. */
class IdleProvider implements InstanceProvider {
  readonly kind = 'kubernetes' as const;
  async create(): Promise<void> {}
  async suspend(): Promise<void> {}
  async resume(): Promise<void> {}
  async restart(): Promise<void> {}
  async delete(): Promise<void> {}
  async status(): Promise<ProviderStatus> {
    return { phase: 'Running', sessionState: 'STOPPED' };
  }
  async endpoints(): Promise<InstanceEndpoints> {
    throw new Error('not used');
  }
  async reconcile(): Promise<void> {}
  async close(): Promise<void> {}
}

let mongo: MongoServer;
let api: Api;
let token: string;
const EMAIL = 'prefs@example.com';
const PASSWORD = 'correct horse battery';

async function call(method: string, p: string, body?: unknown, auth = token): Promise<{ status: number; body: any }> {
  const res = await fetch(api.url + p, {
    method,
    headers: {
      ...(auth ? { authorization: `Bearer ${auth}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  mongo = await startMongo();
  const config = loadConfig({
    MONGODB_URI: mongo.dbUri(uniqueDbName('preferences')),
    JWT_SECRET: 'test-jwt-secret-0123456789abcdef-0123456789',
    PORT: '0',
    HOST: '127.0.0.1',
    PROVIDER: 'kubernetes',
    RECONCILE_ON_START: 'false',
    BILLING_CRON: 'false',
  });
  api = await startApi(config, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), new IdleProvider());
  expect((await call('POST', '/v1/auth/register', { email: EMAIL, password: PASSWORD }, '')).status).toBe(201);
  token = (await call('POST', '/v1/auth/login', { email: EMAIL, password: PASSWORD }, '')).body.accessToken;
}, 60_000);

afterAll(async () => {
  await api?.close();
  await mongo?.stop();
});

test('a new member has no preferences; PATCH /v1/me stores language and time zone, GET /v1/me and login show them', async () => {
  const before = await call('GET', '/v1/me');
  expect(before.status).toBe(200);
  expect(before.body.locale).toBeUndefined();
  expect(before.body.timeZone).toBeUndefined();

  const set = await call('PATCH', '/v1/me', { locale: 'pt-BR', timeZone: 'America/Sao_Paulo' });
  expect(set.status).toBe(200);
  expect(set.body).toMatchObject({ email: EMAIL, locale: 'pt-BR', timeZone: 'America/Sao_Paulo', balanceMinor: 0 });
  expect((await call('GET', '/v1/me')).body).toMatchObject({ locale: 'pt-BR', timeZone: 'America/Sao_Paulo' });
  const login = await call('POST', '/v1/auth/login', { email: EMAIL, password: PASSWORD }, '');
  expect(login.body.user).toMatchObject({ locale: 'pt-BR', timeZone: 'America/Sao_Paulo' });
});

test('a field left out is kept; null forgets it', async () => {
  await call('PATCH', '/v1/me', { locale: 'pt-BR', timeZone: 'America/Sao_Paulo' });
  const ru = await call('PATCH', '/v1/me', { locale: 'ru' });
  expect(ru.body).toMatchObject({ locale: 'ru', timeZone: 'America/Sao_Paulo' });
  const cleared = await call('PATCH', '/v1/me', { timeZone: null });
  expect(cleared.status).toBe(200);
  expect(cleared.body.locale).toBe('ru');
  expect(cleared.body.timeZone).toBeUndefined();
});

test('an unknown language, a made-up time zone or another field is a 400 invalid_request; no token is a 401', async () => {
  for (const body of [{ locale: 'xx' }, { timeZone: 'Mars/Olympus_Mons' }, { email: 'other@example.com' }]) {
    const r = await call('PATCH', '/v1/me', body);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
  }
  expect((await call('GET', '/v1/me')).body.email).toBe(EMAIL);
  expect((await call('PATCH', '/v1/me', { locale: 'en' }, '')).status).toBe(401);
});
