/** Revocation reaches open streams: deleting a token or changing its permissions closes its WebSocket event streams at once. */
import WebSocket from 'ws';
import { withInstanceOnSimnet } from './harness.js';

const env = withInstanceOnSimnet();

/** Opens the event stream with `token`; `closed` resolves with the close code and reason. */
function open(token: string): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string; at: number }> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(env.inst.publicUrl.replace('http', 'ws') + '/v1/events', { headers: { authorization: `Bearer ${token}` } });
    const closed = new Promise<{ code: number; reason: string; at: number }>((r) =>
      ws.once('close', (code, reason) => r({ code, reason: reason.toString(), at: Date.now() })),
    );
    ws.once('open', () => resolve({ ws, closed }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

async function tokenId(token: string): Promise<string> {
  return /^wai_([0-9a-f]{16})_/.exec(token)![1]!;
}

test('deleting a token closes its open streams within a second; other tokens keep theirs', async () => {
  const doomed = await env.inst.token('r');
  const other = await env.inst.token('r');
  const a = await open(doomed);
  const b = await open(doomed);
  const keep = await open(other);
  const t0 = Date.now();
  expect((await env.inst.internal('DELETE', `/internal/v1/tokens/${await tokenId(doomed)}`)).status).toBe(204);
  for (const s of [a, b]) {
    const c = await Promise.race([s.closed, new Promise<null>((r) => setTimeout(() => r(null), 1000))]);
    expect(c).not.toBeNull();
    expect(c!.code).toBe(4401);
    expect(c!.reason).toMatch(/revoked|deleted/i);
    expect(c!.at - t0).toBeLessThan(1000);
  }
  expect(keep.ws.readyState).toBe(WebSocket.OPEN);
  await expect(open(doomed)).rejects.toThrow('HTTP 401');
  keep.ws.close();
});

test("changing a token's permissions closes its open streams; a reconnect gets the new rights", async () => {
  const token = await env.inst.token('rw');
  const s = await open(token);
  const t0 = Date.now();
  expect((await env.inst.internal('PATCH', `/internal/v1/tokens/${await tokenId(token)}`, { permissions: 'w' })).status).toBe(200);
  const c = await Promise.race([s.closed, new Promise<null>((r) => setTimeout(() => r(null), 1000))]);
  expect(c).not.toBeNull();
  expect(c!.code).toBe(4403);
  expect(c!.at - t0).toBeLessThan(1000);
  await expect(open(token)).rejects.toThrow('HTTP 403');
});
