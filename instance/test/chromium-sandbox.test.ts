/**
 * Chromium's sandbox (WACLOUD_CHROMIUM_SANDBOX) against the real system Chromium, under real conditions only:
 * - as root (how this test runs in CI) Chromium itself refuses its sandbox ("Running as root without --no-sandbox
 *   is not supported"): `auto` falls back to --no-sandbox with one warning, `on` fails naming the reason, `off` warns;
 * - as an unprivileged user (Chromium exec'd through `setpriv` to uid 65534, as the instance image runs it as user
 *   10001) on a kernel with unprivileged user namespaces, `auto` runs sandboxed: no --no-sandbox on the command line
 *   and the renderers live in a user namespace of their own.
 */
import { chmodSync, chownSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromiumPath } from '@wacloud/testenv';
import { loadInstanceConfig } from '../src/config.js';
import { closeBrowser, launchChromium, processTree } from '../src/engines/webjs/browser.js';
import { ChromiumSandboxError, resetSandboxState, sandboxFailureReason, type SandboxLogger } from '../src/engines/webjs/sandbox.js';

const tmpRoot = mkdtempSync(path.join(tmpdir(), 'wacloud-sandbox-'));
chmodSync(tmpRoot, 0o755);
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/** A logger recording warnings. */
function recorder(): SandboxLogger & { warnings: Array<{ obj: Record<string, unknown>; msg: string }> } {
  const warnings: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  return { warnings, warn: (obj, msg) => warnings.push({ obj: obj as Record<string, unknown>, msg }) };
}

/** A fresh profile directory, owned by `uid`. */
function profile(uid = process.getuid?.() ?? 0): string {
  const dir = mkdtempSync(path.join(tmpRoot, 'profile-'));
  chownSync(dir, uid, uid);
  return dir;
}

/** The user namespace of process `pid` (`user:[4026531837]`), or undefined once it is gone. */
function userNs(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/user`);
  } catch {
    return undefined;
  }
}

beforeEach(() => resetSandboxState());

describe('WACLOUD_CHROMIUM_SANDBOX configuration', () => {
  const base = { MONGODB_URI: 'mongodb://127.0.0.1:27017/x', INTERNAL_API_KEY: 'k'.repeat(16) };
  test('auto by default; on and off accepted; anything else refused naming the variable', () => {
    expect(loadInstanceConfig(base).wacloudChromiumSandbox).toBe('auto');
    expect(loadInstanceConfig({ ...base, WACLOUD_CHROMIUM_SANDBOX: 'on' }).wacloudChromiumSandbox).toBe('on');
    expect(loadInstanceConfig({ ...base, WACLOUD_CHROMIUM_SANDBOX: 'off' }).wacloudChromiumSandbox).toBe('off');
    expect(() => loadInstanceConfig({ ...base, WACLOUD_CHROMIUM_SANDBOX: 'yes' })).toThrow(/WACLOUD_CHROMIUM_SANDBOX/);
  });
  test("a sandbox failure is told apart from other launch failures by Chromium's own message", () => {
    const rootMsg =
      'Failed to launch the browser process!\n[123:123:1201/050030.1:ERROR:content/browser/zygote_host/zygote_host_impl_linux.cc:127] Running as root without --no-sandbox is not supported. See https://crbug.com/638180.\n\nTROUBLESHOOTING: https://pptr.dev/troubleshooting';
    expect(sandboxFailureReason(new Error(rootMsg))).toBe(
      'Running as root without --no-sandbox is not supported. See https://crbug.com/638180.',
    );
    expect(sandboxFailureReason(new Error('Failed to launch the browser process! spawn /nope ENOENT'))).toBeUndefined();
  });
});

(isRoot ? describe : describe.skip)('as root, where Chromium refuses its sandbox', () => {
  test('auto falls back to --no-sandbox and warns once, naming the reason and the doc', async () => {
    const log = recorder();
    const first = await launchChromium({ executablePath: chromiumPath(), userDataDir: profile(), sandbox: 'auto', logger: log });
    try {
      expect(first.process()!.spawnargs).toContain('--no-sandbox');
      expect(await first.version()).toMatch(/Chrome/);
    } finally {
      await closeBrowser(first);
    }
    // A later launch (a browser restart) goes straight to --no-sandbox and does not warn again.
    const second = await launchChromium({ executablePath: chromiumPath(), userDataDir: profile(), sandbox: 'auto', logger: log });
    await closeBrowser(second);
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]!.obj).toMatchObject({ chromiumSandbox: 'auto', doc: 'docs/security.md#chromiums-sandbox' });
    expect(log.warnings[0]!.obj.reason).toMatch(/Running as root without --no-sandbox/);
    expect(log.warnings[0]!.msg).toMatch(/WITHOUT its sandbox.*docs\/security\.md/);
  });

  test('on fails clearly instead of running unsandboxed', async () => {
    const log = recorder();
    const err = await launchChromium({ executablePath: chromiumPath(), userDataDir: profile(), sandbox: 'on', logger: log }).then(
      async (b) => {
        await closeBrowser(b);
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ChromiumSandboxError);
    expect((err as Error).message).toMatch(/cannot start with its sandbox \(WACLOUD_CHROMIUM_SANDBOX=on\): .*Running as root/);
    expect(log.warnings).toHaveLength(0);
  });

  test('off runs with --no-sandbox and warns', async () => {
    const log = recorder();
    const b = await launchChromium({ executablePath: chromiumPath(), userDataDir: profile(), sandbox: 'off', logger: log });
    try {
      expect(b.process()!.spawnargs).toContain('--no-sandbox');
    } finally {
      await closeBrowser(b);
    }
    expect(log.warnings).toEqual([expect.objectContaining({ obj: expect.objectContaining({ chromiumSandbox: 'off' }) })]);
  });
});

(isRoot ? describe : describe.skip)('as an unprivileged user', () => {
  test('auto runs Chromium sandboxed: no --no-sandbox, renderers in a user namespace of their own, no warning', async () => {
    const home = profile(NOBODY);
    const wrapper = path.join(tmpRoot, 'chromium-as-nobody.sh');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nexport HOME=${home}\nexec setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups ${chromiumPath()} "$@"\n`,
      { mode: 0o755 },
    );
    const log = recorder();
    const b = await launchChromium({ executablePath: wrapper, userDataDir: profile(NOBODY), sandbox: 'auto', logger: log });
    try {
      const pid = b.process()!.pid!;
      expect(b.process()!.spawnargs).not.toContain('--no-sandbox');
      const page = await b.newPage();
      await page.goto('data:text/html,<p>hello</p>');
      const browserNs = userNs(pid);
      const namespaces = processTree(pid)
        .map(userNs)
        .filter((ns) => ns !== undefined);
      expect(browserNs).toBeDefined();
      expect(namespaces.some((ns) => ns !== browserNs)).toBe(true);
    } finally {
      await closeBrowser(b);
    }
    expect(log.warnings).toHaveLength(0);
  });
});
