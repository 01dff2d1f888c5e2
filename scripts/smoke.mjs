#!/usr/bin/env node
// Usage: node scripts/smoke.mjs <api base URL>   (make e2e on kind; works against `docker compose up` as well)
//
// A tenant's first minutes against a deployed wacloud: register → log in → deposit → create an instance → wait until
// it runs → start its WhatsApp login (a QR to scan) with a w token → issue an r token and read the session through the
// gateway → delete the instance → wait until it is gone. Prints each step with its duration; exits 1 on the first
// failure, naming the step (after deleting the instance it created, when it got that far). Needs a deployment whose
// instances can reach WhatsApp (engine webjs) or a simnet.
const base = (process.argv[2] ?? '').replace(/\/$/, '');
if (!/^https?:\/\//.test(base)) {
  console.error('usage: node scripts/smoke.mjs <api base URL, e.g. http://127.0.0.1:3000>');
  process.exit(2);
}
const timeoutMs = Number(process.env.SMOKE_TIMEOUT_MS ?? 600_000);
let token = '';

async function call(method, path, body, auth = token, headers = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${typeof json === 'string' ? json : JSON.stringify(json)}`);
  return json;
}

async function until(what, fn) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

async function step(name, fn) {
  const t = Date.now();
  try {
    const r = await fn();
    console.log(`ok   ${name} (${Date.now() - t} ms)`);
    return r;
  } catch (err) {
    console.log(`FAIL ${name}: ${err.message}`);
    await cleanUp();
    process.exit(1);
  }
}

// The instance this run created, deleted again when a later step fails (a smoke run leaves nothing billed behind).
let created;
async function cleanUp() {
  if (!created) return;
  try {
    await call('DELETE', `/v1/instances/${created}`);
    console.log(`     deleted instance ${created} (cleanup)`);
  } catch (err) {
    console.log(`     could not delete instance ${created}: ${err.message}`);
  }
}

const email = `smoke-${Date.now()}@example.com`;
const password = `smoke-${Math.random().toString(36).slice(2)}-pw`;
await step('api health', () => until('GET /health', async () => (await fetch(`${base}/health`)).ok));
await step('register', () => call('POST', '/v1/auth/register', { email, password }, ''));
token = (await step('log in', () => call('POST', '/v1/auth/login', { email, password }, ''))).accessToken;
const pricing = await step('pricing', () => call('GET', '/v1/pricing'));
await step('deposit one month', () =>
  call('POST', '/v1/wallet/deposits', { amount: pricing.monthlyPriceMinor }, token, { 'idempotency-key': `smoke-${Date.now()}` }),
);
const inst = await step('create instance', () => call('POST', '/v1/instances', { name: 'smoke' }));
created = inst.id;
// A new instance has no session yet (STOPPED) until someone logs it in; a restarted one resumes its own.
const ready = await step('instance running, its session answering', () =>
  until('the instance to run', async () => {
    const i = await call('GET', `/v1/instances/${inst.id}`);
    return i.phase === 'Running' && ['STOPPED', 'SCAN_QR_CODE', 'WORKING'].includes(i.sessionState) ? i : undefined;
  }),
);
console.log(`     ${ready.id}: phase ${ready.phase}, session ${ready.sessionState}`);
const wToken = await step('issue a w token', () => call('POST', `/v1/instances/${inst.id}/tokens`, { name: 'smoke-w', permissions: 'w' }));
await step('start the login through the gateway: a QR to scan', async () => {
  const login = await call('POST', `/v1/instances/${inst.id}/api/v1/session/login`, {}, wToken.token);
  if (!login.qr) throw new Error(`no QR in ${JSON.stringify(login)}`);
});
const rToken = await step('issue an r token', () => call('POST', `/v1/instances/${inst.id}/tokens`, { name: 'smoke', permissions: 'r' }));
await step('the r token reaches the instance through the gateway', () =>
  call('GET', `/v1/instances/${inst.id}/api/v1/token`, undefined, rToken.token),
);
await step('delete instance', () => call('DELETE', `/v1/instances/${inst.id}`));
created = undefined;
await step('instance gone', () =>
  until('the instance to disappear', async () => {
    const list = await call('GET', '/v1/instances');
    return !(list.items ?? list).some((i) => i.id === inst.id);
  }),
);
console.log('smoke: all steps passed');
