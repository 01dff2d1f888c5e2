/**
 * Which gateway requests count against the cap of connections per instance (`GatewayOptions.upstreamConnections`).
 * The cap meters the work an instance does at once; a request that holds its connection while the instance does no
 * work for it — waiting on WhatsApp, or on its client — would only make the instance's other requests wait behind it
 * (a dashboard's reads behind an integrator's sends that wait to be sent). Those go through a pool of their own,
 * uncapped:
 * - `POST /v1/messages…?wait=true` (any send that waits until sent or failed: up to the instance's `SEND_WAIT_MAX_MS`,
 *   30 s by default, paced by its send queue),
 * - `POST /v1/session/login` (waits for WhatsApp Web to load and show a QR, up to 3 min),
 * - `GET /v1/messages/:id/media` (a file, streamed at its client's pace when larger than the gateway's body limit).
 */

const MEDIA = /^\/v1\/messages\/[^/]+\/media$/;

/**
 * True when the request `method path?query` waits on others than the instance's CPU (see the file's docstring).
 * @param path the instance path (normalised, `/v1/…`); @param query `''` or `?…` as the client sent it.
 */
export function waitsOnOthers(method: string, path: string, query: string): boolean {
  if (method === 'POST') {
    if (path === '/v1/session/login') return true;
    return query.length > 1 && new URLSearchParams(query).get('wait') === 'true';
  }
  return method === 'GET' && MEDIA.test(path);
}
