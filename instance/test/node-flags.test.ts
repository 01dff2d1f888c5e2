/**
 * What keeps the idle instance process small (instance/README.md, "Memory"): the V8 flags it runs with agree between
 * src/node-flags.ts and the image's CMD, Node accepts them on its command line and they leave `fetch` working, and
 * importing the service loads neither undici nor http2 (an ES-module import of `node:http` loads both).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { INSTANCE_NODE_FLAGS } from '../src/node-flags.js';

const run = promisify(execFile);
const instanceDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Runs `code` as an ES module in a fresh `node` with `flags` (no NODE_OPTIONS); its stdout. */
async function node(flags: readonly string[], code: string): Promise<string> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const { stdout } = await run(process.execPath, [...flags, '--input-type=module', '-e', code], { cwd: instanceDir, env });
  return stdout.trim();
}

test("the image's CMD runs node with INSTANCE_NODE_FLAGS", () => {
  const dockerfile = readFileSync(path.join(instanceDir, 'Dockerfile'), 'utf8');
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
  expect(cmd && JSON.parse(cmd)).toEqual(['node', ...INSTANCE_NODE_FLAGS, 'dist/main.js']);
});

test('node accepts the flags on its command line, and fetch (WebAssembly llhttp) works under them', async () => {
  const out = await node(
    INSTANCE_NODE_FLAGS,
    `import http from 'node:http';
     const server = http.createServer((_req, res) => res.end('pong')).listen(0, '127.0.0.1');
     await new Promise((r) => server.once('listening', r));
     const res = await fetch('http://127.0.0.1:' + server.address().port);
     console.log(typeof WebAssembly, await res.text());
     server.close();`,
  );
  expect(out).toBe('object pong');
});

test('importing the instance service loads neither undici nor http2', async () => {
  const app = pathToFileURL(path.join(instanceDir, 'dist', 'instance-app.js')).href;
  const out = await node(
    INSTANCE_NODE_FLAGS,
    `await import(${JSON.stringify(app)});
     console.log(JSON.stringify(process.moduleLoadList.filter((m) => /undici|http2/.test(m))));`,
  );
  expect(JSON.parse(out)).toEqual([]);
});
