/**
 * The V8 flags the instance process runs with, on `node`'s command line (Node refuses them in `NODE_OPTIONS`): the
 * image's `CMD` (instance/Dockerfile; `test/node-flags.test.ts` checks they agree), the process provider's spawn
 * (api/src/providers/process/supervisor.ts) and the memory bench. Together about −20 MiB RSS of an idle instance
 * (instance/README.md, "Memory"):
 *
 * - `--optimize-for-size`: V8 favours memory over speed (smaller heap growth steps, more eager GC, memory reducer);
 * - `--no-opt --no-maglev`: no optimizing compilers (TurboFan, Maglev). Their code in the `node` binary is never paged
 *   in and their code and deopt data are never allocated; JavaScript runs in the interpreter and the Sparkplug baseline
 *   compiler. The ingestion bench's path is ~4–7% slower (the database's time dominates); a burst's webhook fan-out,
 *   CPU-bound on two CPUs, delivers ~1.3–1.5× more per second with both compilers on, but the idle instance then holds
 *   ~+10 MiB (88.8 against 77.0 MiB: Node's own module loading makes them compile at start, paging their code in),
 *   past the 80 MiB goal — BENCHMARKS.md, "Webhooks: the instance's V8 tiers".
 *
 * Not adopted: `--lite-mode` and `--jitless` (no WebAssembly, so Node's `fetch` — undici's llhttp — throws),
 * `--single-threaded-gc` (more RSS, not less), `--no-sparkplug` (1–3 MiB for a slower interpreter-only tier).
 */
export const INSTANCE_NODE_FLAGS: readonly string[] = ['--optimize-for-size', '--no-opt', '--no-maglev'];
