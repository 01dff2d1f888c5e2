/**
 * The provider contract: the same behaviours, run against every provider whose backend can start here — process
 * always; docker with the test run's dockerd (skipped, saying why, where none can start); kubernetes with the test
 * control plane and the operator. One backend per provider for the whole file.
 *
 * Where providers legitimately differ (the phase a running instance shows without a kubelet, what reconcile does to
 * strays, when a delete completes, whether an owner can change) the difference is declared in {@link DIFFERENCES}
 * (backends.ts) and checked here like the rest.
 */
import { eventually } from '@wacloud/testenv';
import { pino } from 'pino';
import {
  ProviderError,
  type InstanceProvider,
  type ProviderErrorCode,
  type ProviderPhase,
  type ProvisionRequest,
} from '../../src/providers/provider.js';
import {
  DIFFERENCES,
  startDockerBackend,
  startKubernetesBackend,
  startProcessBackend,
  type Backend,
  type BackendResult,
  type ProviderKind,
} from './backends.js';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const suffix = Math.random().toString(36).slice(2, 7);

/** The ProviderError code `p` rejects with (fails the test when it resolves or rejects with something else). */
async function codeOf(p: Promise<unknown>): Promise<ProviderErrorCode> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return (err as ProviderError).code;
}

const STARTERS: Record<ProviderKind, () => Promise<BackendResult>> = {
  process: () => startProcessBackend(logger),
  docker: () => startDockerBackend(logger),
  kubernetes: () => startKubernetesBackend(logger, 'contract'),
};

/** Ids that are not instance ids: upper case and underscore, empty, too long, a leading dash. */
const INVALID_IDS = ['Not_A_Label', '', 'a'.repeat(41), '-lead'];

describe.each(['process', 'docker', 'kubernetes'] as const)('the %s provider keeps the provider contract', (kind) => {
  const differs = DIFFERENCES[kind];
  let backend: Backend | undefined;
  let skip: string | undefined;
  let provider: InstanceProvider;
  const req = (name: string, over: Partial<ProvisionRequest> = {}): ProvisionRequest => ({
    id: `c-${name}-${suffix}`,
    owner: 'tenant-a',
    name: `Contract ${name}`,
    engine: 'simulated',
    suspended: false,
    ...over,
  });
  /** Waits until `id` shows one of `phases` (through `p`), and returns that phase. */
  const settles = (p: InstanceProvider, id: string, phases: readonly ProviderPhase[], timeoutMs = 60_000) =>
    eventually(async () => {
      const s = await p.status(id);
      return phases.includes(s.phase) ? s.phase : undefined;
    }, timeoutMs);
  /** Runs `fn` unless the backend could not start here (then the test passes and the reason was printed once). */
  const live = (fn: () => Promise<void>) => async () => {
    if (skip !== undefined) return;
    await fn();
  };

  beforeAll(async () => {
    const r = await STARTERS[kind]();
    if (!r.ok) {
      skip = r.reason;
      console.warn(`provider contract: skipping ${kind}: ${r.reason}`);
      return;
    }
    backend = r.backend;
    provider = backend.provider();
  }, 600_000);

  afterAll(async () => {
    await provider?.close();
    await backend?.stop();
  }, 120_000);

  test(
    'create is idempotent: a second create keeps the same run of the instance',
    live(async () => {
      const a = req('idem');
      await provider.create(a);
      await settles(provider, a.id, differs.runningPhases);
      const run = await eventually(() => backend!.runOf(a.id), 30_000);
      await provider.create(a);
      await provider.create({ ...a, name: 'Renamed' });
      expect(await backend!.runOf(a.id)).toBe(run);
      expect(differs.runningPhases).toContain((await provider.status(a.id)).phase);
      await provider.delete(a.id);
    }),
    120_000,
  );

  test(
    `create with another owner for an existing id is ${differs.ownerChange}`,
    live(async () => {
      const a = req('owner');
      await provider.create({ ...a, suspended: true });
      const other = provider.create({ ...a, owner: 'tenant-b', suspended: true });
      if (differs.ownerChange === 'rejected') expect(await codeOf(other)).toBe('rejected');
      else await other;
      await provider.delete(a.id);
    }),
    120_000,
  );

  test(
    'suspend and resume are idempotent; a suspended instance has no endpoints',
    live(async () => {
      const a = req('susp');
      await provider.create(a);
      await provider.suspend(a.id);
      await provider.suspend(a.id);
      await settles(provider, a.id, ['Suspended']);
      expect(await codeOf(provider.endpoints(a.id))).toBe('not_ready');
      await provider.resume(a.id);
      await provider.resume(a.id);
      await settles(provider, a.id, differs.runningPhases);
      await provider.delete(a.id);
    }),
    120_000,
  );

  test(
    `restart makes a new run of a running instance (${differs.restartCompletes}) and leaves a suspended one suspended`,
    live(async () => {
      const a = req('restart');
      await provider.create(a);
      await settles(provider, a.id, differs.runningPhases);
      const before = await eventually(() => backend!.runOf(a.id), 30_000);
      await provider.restart(a.id);
      if (differs.restartCompletes === 'immediately') expect(await backend!.runOf(a.id)).not.toBe(before);
      const after = await eventually(async () => {
        const run = await backend!.runOf(a.id);
        return run !== undefined && run !== before ? run : undefined;
      }, 30_000);
      await settles(provider, a.id, differs.runningPhases);
      expect(await backend!.runOf(a.id)).toBe(after); // one restart, not a restart loop
      await provider.suspend(a.id);
      await settles(provider, a.id, ['Suspended']);
      await provider.restart(a.id);
      expect((await provider.status(a.id)).phase).toBe('Suspended');
      expect(await codeOf(provider.endpoints(a.id))).toBe('not_ready');
      await provider.delete(a.id);
    }),
    120_000,
  );

  test(
    'an unknown instance: delete is a no-op, status NotFound, suspend/resume/restart/endpoints not_found',
    live(async () => {
      const id = `c-never-${suffix}`;
      await provider.delete(id);
      await provider.delete(id);
      expect(await provider.status(id)).toEqual({ phase: 'NotFound' });
      expect(await codeOf(provider.suspend(id))).toBe('not_found');
      expect(await codeOf(provider.resume(id))).toBe('not_found');
      expect(await codeOf(provider.restart(id))).toBe('not_found');
      expect(await codeOf(provider.endpoints(id))).toBe('not_found');
    }),
  );

  test(
    `delete removes the instance (${differs.deleteCompletes}) and a second delete is a no-op`,
    live(async () => {
      const a = req('del');
      await provider.create({ ...a, suspended: true });
      await provider.delete(a.id);
      if (differs.deleteCompletes === 'immediately') expect((await provider.status(a.id)).phase).toBe('NotFound');
      else expect(['Terminating', 'NotFound']).toContain((await provider.status(a.id)).phase);
      await settles(provider, a.id, ['NotFound']);
      await provider.delete(a.id);
      expect(await codeOf(provider.endpoints(a.id))).toBe('not_found');
    }),
    120_000,
  );

  test(
    'an invalid id raises ProviderError invalid_id from every method, before the backend is asked',
    live(async () => {
      for (const id of INVALID_IDS) {
        expect(await codeOf(provider.create(req('x', { id })))).toBe('invalid_id');
        expect(await codeOf(provider.suspend(id))).toBe('invalid_id');
        expect(await codeOf(provider.resume(id))).toBe('invalid_id');
        expect(await codeOf(provider.restart(id))).toBe('invalid_id');
        expect(await codeOf(provider.delete(id))).toBe('invalid_id');
        expect(await codeOf(provider.status(id))).toBe('invalid_id');
        expect(await codeOf(provider.endpoints(id))).toBe('invalid_id');
        expect(await codeOf(provider.reconcile([req('x', { id })]))).toBe('invalid_id');
      }
      // Even an unreachable backend answers invalid_id first.
      const gone = await backend!.unreachable();
      try {
        expect(await codeOf(gone.create(req('x', { id: 'Not_A_Label' })))).toBe('invalid_id');
      } finally {
        await gone.close();
      }
    }),
  );

  test(
    'an unreachable backend raises ProviderError unavailable',
    live(async () => {
      const gone = await backend!.unreachable();
      try {
        expect(await codeOf(gone.create(req('gone')))).toBe('unavailable');
        expect(await codeOf(gone.status(req('gone').id))).toBe('unavailable');
        expect(await codeOf(gone.reconcile([req('gone')]))).toBe('unavailable');
      } finally {
        await gone.close();
      }
      expect(await codeOf(gone.create(req('gone')))).toBe('unavailable'); // closed
    }),
    60_000,
  );

  test(
    `reconcile adopts what runs, starts what is missing, stops what is suspended and ${differs.strays === 'removed' ? 'removes' : 'stops'} strays`,
    live(async () => {
      const [keep, pause, stray, fresh] = [req('keep'), req('pause'), req('stray'), req('fresh')];
      const first = backend!.provider();
      try {
        for (const r of [keep, pause, stray]) await first.create(r);
        for (const r of [keep, pause, stray]) await settles(first, r.id, differs.runningPhases);
      } finally {
        await first.close(); // like an api that stops; the instances keep running
      }
      const kept = await eventually(() => backend!.runOf(keep.id), 30_000);

      const next = backend!.provider();
      try {
        await next.reconcile([keep, { ...pause, suspended: true }, fresh]);
        expect(await backend!.runOf(keep.id)).toBe(kept); // adopted, not restarted or recreated
        await settles(next, keep.id, differs.runningPhases);
        await settles(next, pause.id, ['Suspended']);
        await settles(next, fresh.id, differs.runningPhases);
        if (differs.strays === 'removed') await settles(next, stray.id, ['NotFound']);
        else {
          await settles(next, stray.id, [differs.strayPhase!]);
          expect(await backend!.runOf(stray.id)).toBeUndefined();
        }
        // A second reconcile with the same desired state changes nothing.
        await next.reconcile([keep, { ...pause, suspended: true }, fresh]);
        expect(await backend!.runOf(keep.id)).toBe(kept);
      } finally {
        for (const r of [keep, pause, stray, fresh]) await next.delete(r.id);
        await next.close();
      }
    }),
    240_000,
  );
});
