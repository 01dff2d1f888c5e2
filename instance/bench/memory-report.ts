/** The memory bench's report and its rows of `make bench`'s table (testenv benchRow). */
import { benchRow } from '@wacloud/testenv';
import type { MemoryResult } from './memory.js';

const MiB = 1024 * 1024;
const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

/** Prints the figures of {@link MemoryResult} and records its two goals as rows. */
export function printMemory(r: MemoryResult, out: (text?: string) => void): void {
  const load = `load average ${r.loadavg.map((l) => l.toFixed(1)).join(' ')}`;
  out(`Memory per instance — idle, median of ${r.samples} readings 1 s apart after ${r.settleMs / 1000} s; Chromium ${r.chromium}`);
  out(`  NODE_OPTIONS of the instance process: ${r.nodeOptions || '(none)'} (instance/Dockerfile, or BENCH_INSTANCE_NODE_OPTIONS)`);
  out(
    `  V8 flags on its command line: ${r.nodeFlags.join(' ') || '(none)'} (src/node-flags.ts, the image's CMD; or BENCH_INSTANCE_NODE_FLAGS)`,
  );
  out(
    `  bare Chromium, puppeteer-core defaults, about:blank${r.bare.noSandbox ? ' (--no-sandbox: no sandbox here)' : ''}: PSS ${mib(r.bare.pssBytes)}, ${r.bare.processes} processes`,
  );
  out(
    `  instance + webjs engine (${r.tree.sessionState}, offline WhatsApp Web stand-in): PSS ${mib(r.tree.pssBytes)}, ${r.tree.processes} processes` +
      ` = Node ${mib(r.tree.nodePssBytes)} + Chromium ${mib(r.tree.browserPssBytes)}`,
  );
  out(`  instance alone, simulated engine (${r.node.sessionState}): RSS ${mib(r.node.rssBytes)}, PSS ${mib(r.node.pssBytes)}`);
  out(
    `  floors, same flags and NODE_OPTIONS: node doing nothing ${mib(r.node.bareNodeRssBytes)}; importing the instance's modules only ${mib(r.node.importsRssBytes)};` +
      ` and its database opened (openStore + init) ${mib(r.node.databaseRssBytes)}`,
  );
  out(
    `  private part (Pss_Anon + Pss_Shmem, not shared with processes outside the tree): tree ${mib(r.tree.privateBytes)}, bare ${mib(r.bare.privateBytes)}, ratio ${r.privateRatio.toFixed(2)}`,
  );
  out(`  ratio tree / bare = ${r.ratio.toFixed(2)}  (target ≤ 1.25); Node RSS target ≤ 80 MiB`);
  out();
  const reproduce = 'npm run bench -w instance -- memory';
  benchRow({
    component: 'instance',
    figure: 'memory: idle PSS of instance + webjs Chromium tree / bare headless Chromium on about:blank',
    value: r.ratio,
    unit: '×',
    goal: '≤ 1.25',
    reproduce,
    note:
      `tree ${mib(r.tree.pssBytes)} (Node ${mib(r.tree.nodePssBytes)} + Chromium ${mib(r.tree.browserPssBytes)}, ${r.tree.processes} processes, ` +
      `QR shown, WhatsApp Web stand-in page offline) vs bare ${mib(r.bare.pssBytes)} (${r.bare.processes} processes)${r.bare.noSandbox ? ', both --no-sandbox' : ''}, ` +
      `read side by side; anon+shmem only ${mib(r.tree.privateBytes)} vs ${mib(r.bare.privateBytes)} (${r.privateRatio.toFixed(2)}×); ${load}`,
  });
  benchRow({
    component: 'instance',
    figure: 'memory: instance process alone (simulated engine, WORKING, idle) RSS',
    value: r.node.rssBytes / MiB,
    unit: 'MiB',
    goal: '≤ 80',
    reproduce,
    note:
      `PSS ${mib(r.node.pssBytes)}; NODE_OPTIONS ${r.nodeOptions || '(none)'}; flags ${r.nodeFlags.join(' ') || '(none)'}; floors: node that only imported the instance's modules ` +
      `${mib(r.node.importsRssBytes)}, and its database opened ${mib(r.node.databaseRssBytes)}, node doing nothing ${mib(r.node.bareNodeRssBytes)}; ${load}`,
  });
}
