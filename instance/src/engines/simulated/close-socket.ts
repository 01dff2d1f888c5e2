/** Closing the simulated engine's WebSocket. */
import WebSocket from 'ws';

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
