/**
 * Helpers of the real-node chart suite (cluster.e2e.ts): the api and simnet clients, an instance scanned to WORKING,
 * billing Jobs made from the chart's CronJob, the pod's claim and memory.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { eventually, type Cluster } from '@wacloud/testenv';

type Kubectl = Cluster['controlPlane']['kubectl'];

export interface Reply {
  status: number;
  body: any;
}

/** Calls the api at `base()` (the port-forward); resolves with status and parsed body. */
export function apiClient(base: () => string) {
  return async (method: string, p: string, body?: unknown, token = '', headers: Record<string, string> = {}): Promise<Reply> => {
    const res = await fetch(base() + p, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
}
export type Api = ReturnType<typeof apiClient>;

/** POSTs to simnet's test hooks (the phones) at `base()`. */
export function hookClient(base: () => string) {
  return async (p: string, body: unknown): Promise<Reply> => {
    const res = await fetch(base() + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json().catch(() => undefined) };
  };
}
export type Hook = ReturnType<typeof hookClient>;

/** Registers a tenant and deposits `months` monthly prices; resolves with its access token. */
export async function paidTenant(api: Api, name: string, months: number): Promise<string> {
  const email = `${name}-${Date.now()}@example.com`;
  const password = `${name}-${Date.now()}-pw`;
  expect((await api('POST', '/v1/auth/register', { email, password })).status).toBe(201);
  const token = (await api('POST', '/v1/auth/login', { email, password })).body.accessToken as string;
  await deposit(api, token, months);
  return token;
}

/** Deposits `months` monthly prices into the tenant's wallet (a deposit resumes its suspended instances). */
export async function deposit(api: Api, token: string, months: number): Promise<void> {
  const pricing = (await api('GET', '/v1/pricing', undefined, token)).body;
  const d = await api('POST', '/v1/wallet/deposits', { amount: months * pricing.monthlyPriceMinor }, token, {
    'idempotency-key': `d-${Date.now()}-${Math.random()}`,
  });
  expect(d.status).toBeLessThan(300);
}

/** Polls the instance until its session state is `state`. */
export function sessionState(api: Api, token: string, id: string, state: string, timeoutMs = 180_000) {
  return eventually(
    async () => (await api('GET', `/v1/instances/${id}`, undefined, token)).body.sessionState === state || undefined,
    timeoutMs,
    1_000,
  );
}

/**
 * Creates an instance, waits for its pod (phase Running, the gateway answering), asks for a login and scans the QR
 * with `phone` on simnet; resolves with its id once the session is WORKING.
 */
export async function workingInstance(api: Api, hook: Hook, token: string, name: string, phone: string, onTimeout: () => Promise<string>) {
  const created = await api('POST', '/v1/instances', { name }, token);
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  await eventually(
    async () => (await api('GET', `/v1/instances/${id}`, undefined, token)).body.phase === 'Running' || undefined,
    300_000,
    2_000,
  ).catch(async (err) => {
    throw new Error(`${String(err)}\n${await onTimeout()}`);
  });
  // The pod may still be starting behind a Running phase: the gateway answers once it listens.
  const login = await eventually(
    async () => {
      const r = await api('POST', `/v1/instances/${id}/api/v1/session/login`, undefined, token);
      return r.status === 200 ? r : undefined;
    },
    60_000,
    1_000,
  );
  expect((await hook('/hooks/scan', { qr: login.body.qr, phone })).status).toBe(200);
  await sessionState(api, token, id, 'WORKING', 60_000);
  return id;
}

export interface PodInfo {
  uid: string;
  phase: string;
  image: string;
  claim: string;
}

/** The pod's uid, phase, (first container's) image and claim (`''` each when the pod does not exist). */
export async function podInfo(kubectl: Kubectl, namespace: string, pod: string): Promise<PodInfo> {
  const r = await kubectl([
    '-n',
    namespace,
    'get',
    'pod',
    pod,
    '--ignore-not-found',
    '-o',
    'jsonpath={.metadata.uid} {.status.phase} {.spec.containers[0].image} {.spec.volumes[*].persistentVolumeClaim.claimName}',
  ]);
  const [uid = '', phase = '', image = '', claim = ''] = r.stdout.trim().split(' ');
  return { uid, phase, image, claim };
}

/** Polls {@link podInfo} until `ok` holds for it; resolves with it. */
export function podWhen(
  kubectl: Kubectl,
  namespace: string,
  pod: string,
  ok: (p: PodInfo) => boolean,
  timeoutMs = 180_000,
): Promise<PodInfo> {
  return eventually(
    async () => {
      const p = await podInfo(kubectl, namespace, pod);
      return ok(p) ? p : undefined;
    },
    timeoutMs,
    1_000,
  );
}

/** Whether `kind/name` exists in `namespace` ('': a cluster-scoped kind). */
export async function exists(kubectl: Kubectl, namespace: string, kind: string, name: string): Promise<boolean> {
  const r = await kubectl([...(namespace ? ['-n', namespace] : []), 'get', kind, name, '--ignore-not-found', '-o', 'name']);
  if (r.code !== 0) throw new Error(`kubectl get ${kind} ${name}: ${r.stderr}`);
  return r.stdout.trim() !== '';
}

let jobs = 0;

/**
 * Runs the billing once with the clock at `now`: a Job made from the chart's CronJob (`kubectl create job --from`)
 * with `--now <ISO time>` appended to its command. Resolves with the run's summary (the CLI's final JSON line).
 * @throws Error with the Job's logs when it does not succeed within 5 minutes.
 */
export async function billingJob(kubectl: Kubectl, namespace: string, cronJob: string, now: Date): Promise<Record<string, any>> {
  const name = `${cronJob}-test-${++jobs}`;
  const made = await kubectl(['-n', namespace, 'create', 'job', name, `--from=cronjob/${cronJob}`, '--dry-run=client', '-o', 'json']);
  if (made.code !== 0) throw new Error(`kubectl create job --from: ${made.stderr}`);
  const job = JSON.parse(made.stdout);
  const c = job.spec.template.spec.containers[0];
  c.command = [...c.command, '--now', now.toISOString()];
  const created = await kubectl(['-n', namespace, 'create', '-f', '-'], { stdin: JSON.stringify(job) });
  if (created.code !== 0) throw new Error(`creating the billing Job: ${created.stderr}`);
  const logs = async () => (await kubectl(['-n', namespace, 'logs', `job/${name}`, '--tail=50'])).stdout;
  await eventually(
    async () => {
      const s = await kubectl(['-n', namespace, 'get', 'job', name, '-o', 'jsonpath={.status.succeeded}/{.status.failed}']);
      const [ok, failed] = s.stdout.split('/');
      if (Number(failed) > 0) throw new Error(`billing Job ${name} failed:\n${await logs()}`);
      return ok === '1' || undefined;
    },
    300_000,
    1_000,
  ).catch(async (err) => {
    throw new Error(`${String(err)}\n${await logs()}`);
  });
  // The summary is the CLI's last JSON line with the counts (pino's log lines are JSON too).
  const summary = (await logs())
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{') && l.includes('"due":') && l.includes('"durationMs":'));
  if (!summary) throw new Error(`no billing summary in the logs of ${name}:\n${await logs()}`);
  return JSON.parse(summary);
}

/** Sum of the PSS (bytes) of every process of pod `namespace/pod` (its memory cgroup on the node). */
export async function podPssBytes(kubectl: Kubectl, namespace: string, pod: string): Promise<number> {
  const uid = (await kubectl(['-n', namespace, 'get', 'pod', pod, '-o', 'jsonpath={.metadata.uid}'])).stdout.trim();
  const root = '/sys/fs/cgroup/memory';
  const find = (d: string): string | undefined => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const p = path.join(d, e.name);
      if (e.name === `pod${uid}`) return p;
      const f = find(p);
      if (f) return f;
    }
    return undefined;
  };
  const podDir = find(path.join(root, `wacloud-node-${process.pid}`));
  if (!podDir) throw new Error(`no memory cgroup for pod ${uid}`);
  let pss = 0;
  const walk = (d: string) => {
    for (const pid of readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      pss += Number(m?.[1] ?? 0) * 1024;
    }
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
  };
  walk(podDir);
  return pss;
}
