/**
 * The floor of the gateway benchmark: the least a Node proxy does between a client and an instance — Node's HTTP
 * server, undici's `request` to `UPSTREAM` (the same client as the api's gateway, through an `Agent` holding at most
 * `UPSTREAM_CONNECTIONS` connections to it, the gateway's default cap, requests beyond waiting in its queue), the body
 * and the answer held and sent whole (as the gateway does for bodies up to 256 KiB), hop-by-hop headers dropped — and
 * nothing else: no authentication, token check, rate limit, logging, metrics or error rendering.
 * Run as its own process (`node bench/dist/bare-proxy.js` with `UPSTREAM=http://127.0.0.1:<port>` and
 * `UPSTREAM_CONNECTIONS=<n>`, unset: no cap); it prints `bare proxy listening on <port>` and serves on 127.0.0.1 until
 * killed.
 */
import http from 'node:http';
import { Agent, request } from 'undici';

const upstream = process.env.UPSTREAM;
if (!upstream) throw new Error('UPSTREAM is not set');
const dispatcher = new Agent({ connections: Number(process.env.UPSTREAM_CONNECTIONS) || null });
const DROP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'content-length', 'expect']);

const server = http.createServer((req, res) => {
  void (async () => {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (!DROP.has(k) && typeof v === 'string') headers[k] = v;
    const up = await request(upstream + (req.url ?? '/'), {
      method: req.method as 'GET',
      dispatcher,
      headers,
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    const body = Buffer.from(await up.body.arrayBuffer());
    res.statusCode = up.statusCode;
    for (const [k, v] of Object.entries(up.headers)) if (!DROP.has(k) && v !== undefined) res.setHeader(k, v);
    res.setHeader('content-length', body.length);
    res.end(body);
  })().catch(() => {
    if (!res.headersSent) res.statusCode = 502;
    res.end();
  });
});
server.listen(0, '127.0.0.1', () => console.log(`bare proxy listening on ${(server.address() as { port: number }).port}`));
