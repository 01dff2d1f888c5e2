/**
 * The transport floor of the gateway benchmark at one request at a time: a second process on the path that does no
 * HTTP at all — each client connection gets its own connection to `UPSTREAM` (`http://host:port`) and the bytes are
 * copied both ways (node:net, no delay) — so a run through it costs the two extra loopback hops and the wake-ups of a
 * process between client and instance, and nothing of parsing, authenticating or re-sending a request. Next to the
 * bare HTTP proxy (bare-proxy.ts) it splits a hop's cost into its transport and its HTTP (BENCHMARKS.md, "Gateway: the
 * hop's floor at one request at a time"). No gateway can be this: the api must read a request to authenticate and
 * route it.
 * Run as its own process (`node bench/dist/tcp-pipe.js` with `UPSTREAM`); it prints `tcp pipe listening on <port>` and
 * serves on 127.0.0.1 until killed.
 */
import net from 'node:net';

const upstream = process.env.UPSTREAM;
if (!upstream) throw new Error('UPSTREAM is not set');
const { hostname, port } = new URL(upstream);

const server = net.createServer((client) => {
  client.setNoDelay(true);
  const instance = net.connect(Number(port), hostname);
  instance.setNoDelay(true);
  client.pipe(instance);
  instance.pipe(client);
  client.on('error', () => instance.destroy());
  instance.on('error', () => client.destroy());
});
server.listen(0, '127.0.0.1', () => console.log(`tcp pipe listening on ${(server.address() as net.AddressInfo).port}`));
