/** WebSocket helpers of the simulated engine. */
import WebSocket from 'ws';
import { SIMNET_WS_PATH } from '@wacloud/simnet/protocol';

/** The WebSocket URL of the simnet server at `simnetUrl` (http → ws, https → wss). */
export function wsUrlOf(simnetUrl: string): string {
  const base = new URL(simnetUrl);
  base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  base.pathname = SIMNET_WS_PATH;
  return base.toString();
}

/** Closes a socket gracefully, terminating it when the close handshake takes over 1 s. */
export function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, 1_000);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.on('error', () => undefined);
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(1000, 'stopped');
  });
}
