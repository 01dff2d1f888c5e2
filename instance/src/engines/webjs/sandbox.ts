/**
 * Chromium's own sandbox (`WACLOUD_CHROMIUM_SANDBOX`): whether a launch drops `--no-sandbox`, how a launch failure
 * caused by the sandbox is told apart from any other, and the warning that says the browser runs without it.
 *
 * On Linux Chromium sandboxes its renderers with user namespaces (clone/unshare with `CLONE_NEWUSER`, then chroot);
 * where the kernel or a container's seccomp profile forbids that, or when it runs as root, it refuses to start
 * unless given `--no-sandbox`. docs/security.md ("Chromium's sandbox") says how to allow it.
 */

/** `on`: sandbox or fail; `auto`: sandbox, else fall back to `--no-sandbox` with a warning; `off`: never sandbox. */
export type ChromiumSandboxMode = 'auto' | 'on' | 'off';

/** Where the fallback is documented (named in the warning and in errors). */
export const SANDBOX_DOC = 'docs/security.md#chromiums-sandbox';

/** The flag that turns Chromium's sandbox off. */
export const NO_SANDBOX_FLAG = '--no-sandbox';

/**
 * Lines Chromium writes when it cannot set up its sandbox (running as root, user namespaces denied by the kernel or
 * by seccomp, a broken setuid helper).
 */
const SANDBOX_FAILURE =
  /Running as root without --no-sandbox|No usable sandbox|Failed to move to new namespace|zygote_host_impl_linux|credentials\.cc|SUID sandbox helper|setuid_sandbox|namespace_sandbox/i;

/**
 * The line of a Chromium launch error (puppeteer's message carries Chromium's stderr) that says the sandbox could
 * not be set up, trimmed of Chromium's `[pid:tid:time:LEVEL:file]` prefix; undefined for any other failure.
 */
export function sandboxFailureReason(err: unknown): string | undefined {
  const message = err instanceof Error ? err.message : String(err);
  const line = message.split('\n').find((l) => SANDBOX_FAILURE.test(l));
  return line
    ?.replace(/^\[[^\]]*\]\s*/, '')
    .trim()
    .slice(0, 300);
}

/** Thrown with `WACLOUD_CHROMIUM_SANDBOX=on` when Chromium cannot start with its sandbox. */
export class ChromiumSandboxError extends Error {
  constructor(public readonly reason: string) {
    super(
      `Chromium cannot start with its sandbox (WACLOUD_CHROMIUM_SANDBOX=on): ${reason}. Allow unprivileged user ` +
        `namespaces and use the Chromium seccomp profile, run as a non-root user, or set WACLOUD_CHROMIUM_SANDBOX=auto ` +
        `(see ${SANDBOX_DOC})`,
    );
    this.name = 'ChromiumSandboxError';
  }
}

/** Minimal logger the launch warns through (pino's signature). */
export interface SandboxLogger {
  warn(obj: object, msg: string): void;
}

/**
 * What this process learned about the sandbox: `auto` remembers a sandbox failure so later launches (browser
 * restarts) go straight to `--no-sandbox`, and the warning is logged once per process.
 */
const state: { fallbackReason: string | undefined; warned: boolean } = { fallbackReason: undefined, warned: false };

/** The reason `auto` fell back to `--no-sandbox` in this process, or undefined (sandboxed, or not launched yet). */
export function sandboxFallbackReason(): string | undefined {
  return state.fallbackReason;
}

/** Forgets what the process learned (tests: each scenario starts afresh). */
export function resetSandboxState(): void {
  state.fallbackReason = undefined;
  state.warned = false;
}

/** Logs, once per process, that Chromium runs without its sandbox, with the reason and the doc. */
export function warnNoSandbox(log: SandboxLogger | undefined, mode: ChromiumSandboxMode, reason: string): void {
  if (state.warned) return;
  state.warned = true;
  log?.warn(
    { chromiumSandbox: mode, reason, doc: SANDBOX_DOC },
    `Chromium runs WITHOUT its sandbox (--no-sandbox): ${reason}; a compromised page can reach the whole instance. See ${SANDBOX_DOC}`,
  );
}

/**
 * Launches with the sandbox policy of `mode`: `launch(false)` starts Chromium sandboxed, `launch(true)` with
 * `--no-sandbox`. `auto` tries sandboxed first and, on a sandbox failure ({@link sandboxFailureReason}), relaunches
 * with `--no-sandbox` (and does so directly for later launches of this process); `off` never sandboxes. Both warn once.
 * @throws ChromiumSandboxError with `on` when the failure is the sandbox's; any other launch error as is.
 */
export async function launchWithSandboxPolicy<T>(
  mode: ChromiumSandboxMode,
  log: SandboxLogger | undefined,
  launch: (noSandbox: boolean) => Promise<T>,
): Promise<T> {
  if (mode === 'off') {
    warnNoSandbox(log, mode, 'WACLOUD_CHROMIUM_SANDBOX=off');
    return launch(true);
  }
  if (mode === 'auto' && state.fallbackReason !== undefined) return launch(true);
  try {
    return await launch(false);
  } catch (err) {
    const reason = sandboxFailureReason(err);
    if (reason === undefined) throw err;
    if (mode === 'on') throw new ChromiumSandboxError(reason);
    state.fallbackReason = reason;
    warnNoSandbox(log, mode, reason);
    return launch(true);
  }
}
