/**
 * The docker provider's seccomp option, without a daemon: the container spec carries the shipped Chromium profile
 * (`instance/seccomp/chromium.json`) as `seccomp=<json>` beside `no-new-privileges`, the profile denies what Docker's
 * default profile denies but lets Chromium's namespace sandbox through, and a change of profile recreates containers.
 * (docker-isolation.test.ts runs Chromium under it in a real container.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_SECCOMP_PROFILE_PATH, loadSeccompProfile } from '../../src/providers/docker/seccomp.js';
import { buildContainerSpec, type ContainerSpecOptions } from '../../src/providers/docker/spec.js';
import { ProviderError, type ProvisionRequest } from '../../src/providers/provider.js';

const req: ProvisionRequest = { id: 'i-seccompaaaaa', owner: 'u', name: 'x', engine: 'webjs', suspended: false };
const base: ContainerSpecOptions = {
  image: 'wacloud/instance:1',
  network: 'wacloud-instances',
  reach: 'published',
  mongoUri: 'mongodb://m:27017/',
};

interface Profile {
  defaultAction: string;
  archMap: Array<{ architecture: string; subArchitectures: string[] }>;
  syscalls: Array<{ names: string[]; action: string }>;
}

describe('docker provider: the seccomp profile of instance containers', () => {
  const profile = loadSeccompProfile();

  test('the spec carries the profile as a security option, and a different profile changes the spec hash', () => {
    const spec = buildContainerSpec(req, { ...base, seccompProfile: profile }, 'k'.repeat(43));
    expect(spec.HostConfig!.SecurityOpt).toEqual(['no-new-privileges:true', `seccomp=${profile}`]);
    expect(spec.HostConfig!.CapDrop).toEqual(['ALL']);
    const other = buildContainerSpec(req, { ...base, seccompProfile: '{"defaultAction":"SCMP_ACT_ALLOW"}' }, 'k'.repeat(43));
    expect(other.Labels!['wacloud.io/spec-hash']).not.toBe(spec.Labels!['wacloud.io/spec-hash']);
    // '' leaves the engine's default profile in place (Chromium then falls back to --no-sandbox, warned).
    expect(buildContainerSpec(req, { ...base, seccompProfile: '' }, 'k'.repeat(43)).HostConfig!.SecurityOpt).toEqual([
      'no-new-privileges:true',
    ]);
  });

  test("the shipped profile denies Docker's dangerous calls and allows Chromium's namespace sandbox, on x86-64 and arm64", () => {
    const p = JSON.parse(profile) as Profile;
    expect(DEFAULT_SECCOMP_PROFILE_PATH).toMatch(/instance\/seccomp\/chromium\.json$/);
    const denied = new Set(p.syscalls.filter((s) => s.action === 'SCMP_ACT_ERRNO').flatMap((s) => s.names));
    for (const call of [
      'mount',
      'umount2',
      'pivot_root',
      'setns',
      'keyctl',
      'bpf',
      'perf_event_open',
      'ptrace',
      'kexec_load',
      'init_module',
      'open_by_handle_at',
      'fsopen',
      'userfaultfd',
      'io_uring_setup',
    ])
      expect(denied).toContain(call);
    for (const call of ['clone', 'clone3', 'unshare', 'chroot']) expect(denied).not.toContain(call);
    expect(p.defaultAction).toBe('SCMP_ACT_ALLOW');
    // The deny list must hold for every ABI the kernel accepts on the host (a 32-bit call would otherwise bypass it).
    expect(p.archMap).toEqual(
      expect.arrayContaining([
        { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
        { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
      ]),
    );
  });

  test('a missing or malformed profile file is an `unavailable` error naming the file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-seccomp-'));
    try {
      const bad = path.join(dir, 'bad.json');
      writeFileSync(bad, '{"syscalls": []}');
      for (const file of [path.join(dir, 'missing.json'), bad]) {
        let err: unknown;
        try {
          loadSeccompProfile(file);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(ProviderError);
        expect((err as ProviderError).code).toBe('unavailable');
        expect((err as Error).message).toContain(file);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
