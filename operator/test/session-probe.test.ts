/**
 * The default session probe (src/session-probe.ts) against a real HTTP server: the session of a 2xx /health, nothing
 * from errors, bad bodies, refused connections and timeouts — and the same under the image's node flags
 * (operator/Dockerfile's CMD and NODE_OPTIONS; with `--lite-mode` there is no WebAssembly, which Node's fetch needs).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { WhatsAppInstance } from '@wacloud/crds';
import { getJson, httpSessionProbe, sessionHealthUrl } from '../src/session-probe.js';

const operatorDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wai = { metadata: { name: 'w1', namespace: 'ns' }, spec: { owner: 'o' } } as unknown as WhatsAppInstance;

describe('sessionHealthUrl', () => {
  it("is the pod's own DNS name under its StatefulSet's governing Service (shared, or an older instance's own)", () => {
    expect(sessionHealthUrl(wai, 'wacloud-instances')).toBe('http://w1-0.wacloud-instances.ns.svc:8080/health');
    expect(sessionHealthUrl(wai, 'w1-headless')).toBe('http://w1-0.w1-headless.ns.svc:8080/health');
  });
});

describe('httpSessionProbe', () => {
  let server: http.Server;
  let base = '';
  /** What the server answers per path: status and body text (no answer at all for /hang). */
  const answers: Record<string, [number, string]> = {
    '/ok': [200, JSON.stringify({ status: 'ok', session: { state: 'CONNECTED' } })],
    '/reason': [200, JSON.stringify({ session: { state: 'DISCONNECTED', reason: 'logged out' } })],
    '/no-session': [200, JSON.stringify({ status: 'ok' })],
    '/error': [503, JSON.stringify({ session: { state: 'CONNECTED' } })],
    '/garbage': [200, '{not json'],
  };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const a = answers[req.url ?? ''];
      if (!a) return; // /hang: never answers
      res.writeHead(a[0], { 'content-type': 'application/json' }).end(a[1]);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const probe = (p: string, timeoutMs = 5000) => httpSessionProbe(timeoutMs, () => base + p)(wai, 'wacloud-instances');

  it('reads the session state (and reason) of a 2xx /health', async () => {
    await expect(probe('/ok')).resolves.toEqual({ state: 'CONNECTED' });
    await expect(probe('/reason')).resolves.toEqual({ state: 'DISCONNECTED', reason: 'logged out' });
  });

  it('gives undefined for no session, an error status, a bad body, a refused connection and a timeout', async () => {
    await expect(probe('/no-session')).resolves.toBeUndefined();
    await expect(probe('/error')).resolves.toBeUndefined();
    await expect(probe('/garbage')).resolves.toBeUndefined();
    await expect(probe('/hang', 300)).resolves.toBeUndefined();
    await expect(httpSessionProbe(2000, () => 'http://127.0.0.1:1/health')(wai, 'wacloud-instances')).resolves.toBeUndefined();
  });

  it("works in a node process with the image's flags (CMD and NODE_OPTIONS of operator/Dockerfile)", async () => {
    const dockerfile = readFileSync(path.join(operatorDir, 'Dockerfile'), 'utf8');
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    const nodeOptions = /NODE_OPTIONS="([^"]*)"/.exec(dockerfile)![1]!;
    const script = `
      const { getJson } = await import(${JSON.stringify(path.join(operatorDir, 'dist', 'session-probe.js'))});
      console.log(JSON.stringify(await getJson(${JSON.stringify(base + '/ok')}, 5000)));`;
    const { stdout } = await promisify(execFile)(process.execPath, [...cmd.slice(0, -1), '--input-type=module', '-e', script], {
      env: { ...process.env, NODE_OPTIONS: nodeOptions },
    });
    expect(JSON.parse(stdout)).toEqual(JSON.parse(answers['/ok']![1]));
    // In this process, too.
    await expect(getJson(base + '/ok', 5000)).resolves.toEqual(JSON.parse(answers['/ok']![1]));
  });
});
