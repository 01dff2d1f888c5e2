/** Child processes for tests: started with captured output, waited for, stopped (or killed) and reaped. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves when `pattern` appears in the output; rejects if the process exits first or after `timeoutMs`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code once the process is gone. */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL at once (a crash); resolves once the process is gone. */
  kill9(): Promise<void>;
  readonly exited: Promise<number | null>;
}

export interface StartProcessOptions {
  command: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Echo the output to this process' stderr (debugging). Default: env TESTENV_VERBOSE. */
  verbose?: boolean;
}

const live = new Set<ManagedProcess>();
process.once('exit', () => {
  for (const p of live) p.child.kill('SIGKILL');
});

/** Spawns a process in its own process group (so stop() also reaps its children). */
export function startProcess(opts: StartProcessOptions): ManagedProcess {
  const child = spawn(opts.command, opts.args ?? [], {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  const verbose = opts.verbose ?? Boolean(process.env.TESTENV_VERBOSE);
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
    if (verbose) process.stderr.write(d);
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      exitCode = code ?? (signal ? null : code);
      live.delete(mp);
      for (const w of waiters) w();
      resolve(code);
    });
  });
  const killGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      /* already gone */
    }
  };
  const mp: ManagedProcess = {
    child,
    pid: child.pid!,
    exited,
    output: () => out,
    waitForOutput(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern);
          if (m) return done(() => resolve(m));
          if (exitCode !== undefined)
            return done(() => reject(new Error(`process exited (${exitCode}) before ${pattern}:\n${out.slice(-4000)}`)));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}:\n${out.slice(-4000)}`))),
          timeoutMs,
        );
        const done = (f: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          f();
        };
        waiters.add(check);
        check();
      });
    },
    async stop(graceMs = 10_000) {
      if (exitCode !== undefined) return exitCode;
      killGroup('SIGTERM');
      const t = setTimeout(() => killGroup('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(t);
      killGroup('SIGKILL');
      return code;
    },
    async kill9() {
      if (exitCode !== undefined) return;
      killGroup('SIGKILL');
      await exited;
    },
  };
  live.add(mp);
  return mp;
}
