/**
 * `docker compose up` for real: the repository's docker-compose.yml, unchanged, brought up by Docker Compose v2 (built
 * by `make tools`) on the test run's dockerd, with local stand-ins for the registry images it names (testenv's
 * ensureComposeStandIns: `mongo` = FerretDB on PostgreSQL with authentication, `docker:*-dind` / `docker:*-cli` =
 * Debian's docker.io with the official entrypoint's TLS certificates).
 *
 * What the test adds in an override file of its own (never the user's compose file), and why:
 * - the api's MongoDB URIs use PLAIN authentication (`authSource=$external`) and per-instance users are PostgreSQL
 *   roles (`INSTANCE_DATABASE_USERS=ferretdb-postgresql`): the stand-in server is FerretDB v1, whose `createUser`
 *   authorises nothing and which speaks no SCRAM (docs/database-users.md); the real `mongo` image needs neither;
 * - ENGINE=simulated with a simulated WhatsApp network as one more service at a fixed address (instances inside dind
 *   reach it as they reach MongoDB);
 * - published ports on loopback and free port numbers; the image loader reads the test daemon's socket;
 * - where this machine's daemon cannot grant every capability (`--privileged` fails), dind gets the ones it can and a
 *   private cgroup namespace instead (the stand-in then mounts its cgroups read-write).
 * Where no daemon or no Compose can run, the tests say so and skip.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import {
  composeBinary,
  composeProject,
  dindPrivilegeOverride,
  dockerTestName,
  ensureComposeStandIns,
  eventually,
  freePort,
  repoRoot,
  startDockerd,
  type ComposeProject,
  type Dockerd,
} from '@wacloud/testenv';

const composeFile = path.join(repoRoot, 'docker-compose.yml');
const spec = parse(readFileSync(composeFile, 'utf8')) as { services: Record<string, { image?: string }> };

const docker = await startDockerd();
const skipReason = !docker.ok ? docker.reason : !composeBinary() ? 'no docker-compose (run `make tools`)' : undefined;
if (skipReason) console.warn(`compose-up: skipping: ${skipReason}`);
const withCompose = skipReason ? describe.skip : describe;

const PASSWORD = 'c0ffee'.repeat(8);
const SIMNET_ADDRESS = '172.28.0.20';

/** Runs a node script, resolving with its exit code and output. */
function runScript(script: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

withCompose('docker compose up with the Docker-in-Docker provider', () => {
  const d = (docker as { ok: true; dockerd: Dockerd }).dockerd;
  const name = dockerTestName('compose-up');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-compose-'));
  let project: ComposeProject;
  let apiUrl: string;
  let dashboardUrl: string;
  let simnetUrl: string;
  let upMs = 0;
  /** `docker …` run inside the dind service against its own daemon (its local socket). */
  const inDind = (args: string[]) => project.compose(['exec', '-T', 'dind', 'docker', ...args]);

  beforeAll(async () => {
    await ensureComposeStandIns(d, {
      mongo: spec.services.mongodb!.image!,
      dind: spec.services.dind!.image!,
      cli: spec.services['instance-image-load']!.image!,
    });
    const [apiPort, dashboardPort, simnetPort] = [await freePort(), await freePort(), await freePort()];
    simnetUrl = `http://127.0.0.1:${simnetPort}`;
    apiUrl = `http://127.0.0.1:${apiPort}`;
    dashboardUrl = `http://127.0.0.1:${dashboardPort}`;
    const plain = (host: string, db: string) =>
      `mongodb://wacloud:\${WACLOUD_MONGODB_PASSWORD}@${host}:27017/${db}?authMechanism=PLAIN&authSource=%24external`;
    const override = {
      services: {
        dind: dindPrivilegeOverride(),
        'instance-image-load': {
          volumes: [`${d.socketPath}:/var/run/docker.sock:ro`, 'dind-certs-client:/certs/client:ro'],
        },
        api: {
          environment: {
            MONGODB_URI: plain('mongodb', 'wacloud'),
            INSTANCE_MONGODB_URI: plain('172.28.0.10', ''),
            INSTANCE_DATABASE_USERS: 'ferretdb-postgresql',
            INSTANCE_DATABASE_USERS_POSTGRES_URL: 'postgres://wacloud:${WACLOUD_MONGODB_PASSWORD}@mongodb:5432/ferretdb',
            SIMNET_URL: `http://${SIMNET_ADDRESS}:7300`,
            CORS_ORIGINS: dashboardUrl,
          },
          ports: [`127.0.0.1:${apiPort}:3000`],
        },
        dashboard: { ports: [`127.0.0.1:${dashboardPort}:8080`] },
        simnet: {
          // The instance image that `instance-image` builds (it has simnet's server).
          image: 'wacloud/instance:${WACLOUD_TAG}',
          pull_policy: 'never',
          depends_on: { 'instance-image': { condition: 'service_completed_successfully' } },
          command: ['node', '/app/simnet/dist/main.js'],
          environment: { SIMNET_HOST: '0.0.0.0', SIMNET_PORT: '7300', LOG_LEVEL: 'warn' },
          networks: { wacloud: { ipv4_address: SIMNET_ADDRESS } },
          // Where the test plays the phones (its /hooks).
          ports: [`127.0.0.1:${simnetPort}:7300`],
          // `--wait` needs a health check on every service (the image's is the instance's, on another port).
          healthcheck: {
            test: [
              'CMD',
              'node',
              '-e',
              "fetch('http://127.0.0.1:7300/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))",
            ],
            interval: '2s',
            retries: 30,
          },
        },
      },
    };
    // `!override` replaces the lists the user's file has (ports, volumes) instead of appending to them.
    const yaml = JSON.stringify(override, null, 1).replace(/"(ports|volumes)": \[/g, '"$1": !override [');
    const overrideFile = path.join(dir, 'compose.test-override.yml');
    writeFileSync(overrideFile, yaml);
    project = composeProject(d, name, [composeFile, overrideFile], {
      WACLOUD_JWT_SECRET: 's'.repeat(64),
      WACLOUD_MONGODB_PASSWORD: PASSWORD,
      WACLOUD_TAG: 'compose-test',
      WACLOUD_ENGINE: 'simulated',
    });
    const t = Date.now();
    try {
      await project.compose(['up', '--build', '-d', '--wait', '--wait-timeout', '600'], { timeoutMs: 1_500_000 });
    } catch (err) {
      const logs = await project.compose(['logs', '--no-color', '--tail', '30']).catch((e: Error) => e.message);
      throw new Error(`${(err as Error).message}\n--- logs ---\n${logs}`);
    }
    upMs = Date.now() - t;
    console.log(`compose-up: stack up in ${upMs} ms`);
  }, 1_800_000);

  afterAll(async () => {
    // Clean up even when a test failed; test 5 checks that this leaves nothing.
    await project?.compose(['down', '-v', '--remove-orphans', '--timeout', '5']).catch((e: Error) => console.warn(e.message));
    rmSync(dir, { recursive: true, force: true });
    await d.release();
  }, 300_000);

  it('brings every service up healthy, the api and the dashboard answering on their published ports', async () => {
    const ps = (await project.compose(['ps', '-a', '--format', 'json']))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { Service: string; State: string; Health: string; ExitCode: number });
    const byService = Object.fromEntries(ps.map((p) => [p.Service, p]));
    for (const s of ['mongodb', 'dind']) expect([s, byService[s]?.State, byService[s]?.Health]).toEqual([s, 'running', 'healthy']);
    for (const s of ['api', 'dashboard']) expect([s, byService[s]?.State]).toEqual([s, 'running']);
    for (const s of ['instance-image', 'instance-image-load'])
      expect([s, byService[s]?.State, byService[s]?.ExitCode]).toEqual([s, 'exited', 0]);
    // Published ports through the test daemon's proxy: a refused or closed first connection is retried (and logged).
    const get = (url: string) =>
      eventually(
        async () => {
          try {
            return await fetch(url);
          } catch (err) {
            console.warn(`compose-up: GET ${url}: ${(err as Error).message} (${String((err as { cause?: Error }).cause?.message)})`);
            throw err;
          }
        },
        30_000,
        500,
      );
    const health = await get(`${apiUrl}/health`);
    expect(health.status).toBe(200);
    const openapi = (await (await get(`${apiUrl}/openapi.json`)).json()) as { openapi: string };
    expect(openapi.openapi).toMatch(/^3\./);
    const page = await get(dashboardUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<app-root|<html/i);
    const config = (await (await get(`${dashboardUrl}/config.json`)).json()) as { apiBaseUrl: string };
    expect(config.apiBaseUrl).toBe('http://localhost:3000');
    // The instance image was loaded into dind, not pulled by it.
    expect(await inDind(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])).toContain('wacloud/instance:compose-test');
  });

  it('passes scripts/smoke.mjs, the instance running as a container inside dind and gone with its volume after delete', async () => {
    const seen = new Set<string>();
    let done = false;
    const watch = (async () => {
      while (!done) {
        const names = await inDind(['ps', '--filter', 'label=wacloud.io/instance', '--format', '{{.Names}}']).catch(() => '');
        for (const n of names.split('\n').filter(Boolean)) seen.add(n);
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    const smoke = await runScript(path.join(repoRoot, 'scripts/smoke.mjs'), [apiUrl], { SMOKE_TIMEOUT_MS: '300000' });
    done = true;
    await watch;
    expect({ code: smoke.code, output: smoke.output }).toEqual({ code: 0, output: expect.stringContaining('smoke: all steps passed') });
    expect(seen.size).toBe(1);
    await eventually(async () => {
      expect(await inDind(['ps', '-a', '--filter', 'label=wacloud.io/instance', '--format', '{{.Names}}'])).toBe('');
      expect(await inDind(['volume', 'ls', '-q', '--filter', 'label=wacloud.io/instance'])).toBe('');
      return true;
    }, 60_000);
  }, 600_000);

  /** The instance the QR test logs in (kept for the restart test). */
  let working: { id: string; w: string; call: <T>(method: string, p: string, body?: unknown, auth?: string) => Promise<T> } | undefined;

  it('logs an instance in by QR on the simulated network, then sends and receives, the instance inside dind', async () => {
    let token = '';
    const call = async <T>(method: string, p: string, body?: unknown, auth = token): Promise<T> => {
      const res = await fetch(apiUrl + p, {
        method,
        headers: {
          'content-type': 'application/json',
          'idempotency-key': `k-${Date.now()}-${Math.random()}`,
          ...(auth ? { authorization: `Bearer ${auth}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${p} → ${res.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    };
    const hook = async <T>(p: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${simnetUrl}/hooks${p}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`simnet ${p} → ${res.status} ${text}`);
      return JSON.parse(text) as T;
    };
    const email = `compose-${Date.now()}@example.com`;
    const password = 'compose-test-password-1';
    await call('POST', '/v1/auth/register', { email, password }, '');
    token = (await call<{ accessToken: string }>('POST', '/v1/auth/login', { email, password }, '')).accessToken;
    const pricing = await call<{ monthlyPriceMinor: number }>('GET', '/v1/pricing');
    await call('POST', '/v1/wallet/deposits', { amount: pricing.monthlyPriceMinor });
    const inst = await call<{ id: string }>('POST', '/v1/instances', { name: 'compose-qr' });
    await eventually(
      async () => {
        const i = await call<{ phase: string; sessionState: string }>('GET', `/v1/instances/${inst.id}`);
        return i.phase === 'Running' && i.sessionState === 'STOPPED';
      },
      300_000,
      2000,
    );
    expect(await inDind(['ps', '--filter', `label=wacloud.io/instance=${inst.id}`, '--format', '{{.State}}'])).toBe('running\n');
    const w = (await call<{ token: string }>('POST', `/v1/instances/${inst.id}/tokens`, { name: 'compose', permissions: 'rw' })).token;
    const gw = `/v1/instances/${inst.id}/api`;
    const login = await call<{ qr: string }>('POST', `${gw}/v1/session/login`, {}, w);
    const phone = '15550009001';
    const peer = '15550009002';
    await hook('/scan', { qr: login.qr, phone, pushname: 'Compose Phone' });
    await eventually(
      async () => (await call<{ sessionState: string }>('GET', `/v1/instances/${inst.id}`)).sessionState === 'WORKING',
      60_000,
      1000,
    );
    await hook('/accounts', { phone: peer, pushname: 'Compose Peer' });
    await call('POST', `${gw}/v1/messages`, { to: peer, text: 'hello from dind' }, w);
    await eventually(
      async () => {
        const got = await hook<{ messages: Array<{ body: string }> }>(`/accounts/${peer}/messages`);
        return got.messages.some((m) => m.body === 'hello from dind');
      },
      30_000,
      500,
    );
    await hook('/send', { from: peer, to: phone, text: 'hello back' });
    await eventually(
      async () => {
        const page = await call<{ items: Array<{ body?: string; text?: string }> }>('GET', `${gw}/v1/messages`, undefined, w);
        return page.items.some((m) => (m.body ?? m.text) === 'hello back');
      },
      30_000,
      500,
    );
    const stats = await inDind([
      'stats',
      '--no-stream',
      '--format',
      '{{.MemUsage}}',
      (await inDind(['ps', '-q', '--filter', `label=wacloud.io/instance=${inst.id}`])).trim(),
    ]);
    console.log(`compose-up: instance container memory ${stats.trim()}`);
    working = { id: inst.id, w, call };
  }, 600_000);

  it('keeps the session WORKING without a new scan after `restart api` and after dind is killed and started', async () => {
    expect(working).toBeDefined();
    const { id, call } = working!;
    const container = async () => {
      const cid = (await inDind(['ps', '-q', '--filter', `label=wacloud.io/instance=${id}`])).trim();
      const mounts = JSON.parse(await inDind(['inspect', '--format', '{{json .Mounts}}', cid])) as Array<{ Type: string; Name: string }>;
      return mounts.filter((m) => m.Type === 'volume').map((m) => m.Name);
    };
    const volumes = await container();
    expect(volumes).toHaveLength(1);
    const workingAgain = () =>
      eventually(
        async () => {
          const i = await call<{ phase: string; sessionState: string }>('GET', `/v1/instances/${id}`);
          return i.phase === 'Running' && i.sessionState === 'WORKING';
        },
        180_000,
        2000,
      );
    await project.compose(['restart', 'api']);
    await workingAgain();
    expect(await container()).toEqual(volumes);
    await project.compose(['kill', 'dind']);
    await project.compose(['start', 'dind']);
    await eventually(
      async () =>
        (JSON.parse((await project.compose(['ps', '--format', 'json', 'dind'])).trim()) as { Health: string }).Health === 'healthy',
      120_000,
      1000,
    );
    await workingAgain();
    expect(await container()).toEqual(volumes);
    await call('DELETE', `/v1/instances/${id}`);
  }, 600_000);

  it("suspends an unpaid instance by the api's billing run (container stopped inside dind, volume kept); a deposit resumes it", async () => {
    const call = async <T>(method: string, p: string, body?: unknown, auth = ''): Promise<{ status: number; body: T }> => {
      const res = await fetch(apiUrl + p, {
        method,
        headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
    };
    const email = `compose-billing-${Date.now()}@example.com`;
    const password = 'compose-test-password-2';
    expect((await call('POST', '/v1/auth/register', { email, password })).status).toBe(201);
    const jwt = (await call<{ accessToken: string }>('POST', '/v1/auth/login', { email, password })).body.accessToken;
    const price = (await call<{ monthlyPriceMinor: number }>('GET', '/v1/pricing')).body.monthlyPriceMinor;
    // Exactly the first period: the next one cannot be paid.
    expect((await call('POST', '/v1/wallet/deposits', { amount: price }, jwt)).status).toBe(201);
    const created = await call<{ id: string; paidUntil: string }>('POST', '/v1/instances', { name: 'compose-billing' }, jwt);
    expect(created.status).toBe(201);
    const { id, paidUntil } = created.body;
    // Right after creation, while the container starts: the api waits for it instead of answering 503.
    const token = await call<{ token: string }>('POST', `/v1/instances/${id}/tokens`, { name: 'first-minute', permissions: 'r' }, jwt);
    expect(token.status).toBe(201);
    const state = async () => (await inDind(['ps', '-a', '--filter', `label=wacloud.io/instance=${id}`, '--format', '{{.State}}'])).trim();
    const volumes = async () => (await inDind(['volume', 'ls', '-q', '--filter', `label=wacloud.io/instance=${id}`])).trim();
    expect(await state()).toBe('running');
    const volume = await volumes();
    expect(volume).not.toBe('');

    // The api's billing job with its clock one day past the paid period (`billing run --now`, the job the in-process
    // cron runs at 00:00 UTC), inside the api's container: same configuration, same Docker-in-Docker daemon.
    const now = new Date(Date.parse(paidUntil) + 86_400_000).toISOString();
    const run = await project.compose(['exec', '-T', 'api', 'node', 'dist/billing-cli.js', 'run', '--now', now]);
    // Its summary is the JSON line starting with "now" (the others are log lines).
    const summary = JSON.parse(
      run
        .split('\n')
        .filter((l) => l.startsWith('{"now"'))
        .at(-1) ?? 'null',
    ) as Record<string, number> | null;
    // Other tests' instances may be due as well (the QR test's when the restart test did not run to its delete).
    expect(summary).toMatchObject({ charged: 0, failed: 0 });
    expect(summary!.suspended).toBeGreaterThanOrEqual(1);
    const suspended = await call<{ phase: string; suspended: boolean }>('GET', `/v1/instances/${id}`, undefined, jwt);
    expect(suspended.body).toMatchObject({ phase: 'Suspended', suspended: true });
    expect(await state()).toBe('exited');
    expect(await volumes()).toBe(volume);
    // Suspended: the gateway refuses it (409), the instance's API is not reached.
    expect((await call('GET', `/v1/instances/${id}/api/v1/stats`, undefined, jwt)).status).toBe(409);

    const deposit = await call<{ resumedInstances: string[] }>('POST', '/v1/wallet/deposits', { amount: price }, jwt);
    expect(deposit.status).toBe(201);
    expect(deposit.body.resumedInstances).toEqual([id]);
    expect(await state()).toBe('running');
    expect(await volumes()).toBe(volume);
    await eventually(
      async () => (await call<{ phase: string }>('GET', `/v1/instances/${id}`, undefined, jwt)).body.phase === 'Running',
      120_000,
      1000,
    );
    // The resumed instance answers at once through the gateway (the api waits while it starts).
    expect((await call('GET', `/v1/instances/${id}/api/v1/stats`, undefined, jwt)).status).toBe(200);
    expect((await call('DELETE', `/v1/instances/${id}`, undefined, jwt)).status).toBe(204);
  }, 600_000);

  it('leaves nothing on the daemon after `docker compose down -v`', async () => {
    await project.compose(['down', '-v', '--remove-orphans', '--timeout', '5']);
    const label = `label=com.docker.compose.project=${name}`;
    expect(await d.docker(['ps', '-aq', '--filter', label])).toBe('');
    expect(await d.docker(['volume', 'ls', '-q', '--filter', label])).toBe('');
    expect(await d.docker(['network', 'ls', '-q', '--filter', label])).toBe('');
  }, 300_000);
});
