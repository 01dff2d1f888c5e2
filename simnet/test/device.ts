/**
 * A bare device of the simulated network for tests: one WebSocket speaking the wire protocol directly, recording every
 * frame it receives. No engine involved.
 */
import WebSocket from 'ws';
import { eventually } from '@wacloud/testenv';
import { SIMNET_WS_PATH, type ClientFrame, type ServerFrame } from '../src/protocol.js';

type FrameOf<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>;
/** A request frame without its `reqId` (distributed over the union, so each request type keeps its fields). */
type RequestWithoutId<T = Extract<ClientFrame, { reqId: number }>> = T extends unknown ? Omit<T, 'reqId'> : never;

export class TestDevice {
  readonly frames: ServerFrame[] = [];
  #nextReqId = 1;

  private constructor(
    private readonly ws: WebSocket,
    /** Confirm every push with `received` (a device that processed it). */
    public autoConfirm: boolean,
  ) {
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ServerFrame;
      this.frames.push(frame);
      if (frame.type === 'push' && this.autoConfirm) this.send({ type: 'received', seq: frame.seq });
    });
  }

  /** Opens a connection to the simnet server at `baseUrl` (http://…). */
  static async connect(baseUrl: string, autoConfirm = true): Promise<TestDevice> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${SIMNET_WS_PATH}`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new TestDevice(ws, autoConfirm);
  }

  send(frame: ClientFrame): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** The first received frame of `type` matching `where` (waits up to 5 s). */
  next<T extends ServerFrame['type']>(type: T, where: (f: FrameOf<T>) => boolean = () => true): Promise<FrameOf<T>> {
    return eventually(() => this.frames.find((f): f is FrameOf<T> => f.type === type && where(f as FrameOf<T>)), 5_000, 10);
  }

  /** Sends a request frame (its `reqId` filled in) and resolves with its `response`. */
  async request(frame: RequestWithoutId): Promise<FrameOf<'response'>> {
    const reqId = this.#nextReqId++;
    this.send({ ...frame, reqId } as ClientFrame);
    return this.next('response', (f) => f.reqId === reqId);
  }

  /** Message pushes received so far. */
  pushedMessages(): Array<Extract<FrameOf<'push'>['event'], { kind: 'message' }>['message']> {
    return this.frames.flatMap((f) => (f.type === 'push' && f.event.kind === 'message' ? [f.event.message] : []));
  }

  /** Highest ack pushed for message `id` (0 when none). */
  ackOf(id: string): number {
    return Math.max(
      0,
      ...this.frames.flatMap((f) => (f.type === 'push' && f.event.kind === 'ack' && f.event.id === id ? [f.event.ack] : [])),
    );
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** A hook call on the simnet server: `{ status, body }`. */
export async function hook(baseUrl: string, method: 'GET' | 'POST', route: string, body?: unknown) {
  const res = await fetch(`${baseUrl}/hooks${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> & { error?: { code: string; message: string } } };
}

/** Connects a device and links it to `phone` by scanning its first QR; resolves with the device and its credentials. */
export async function linkedDevice(baseUrl: string, phone: string, pushname?: string) {
  const device = await TestDevice.connect(baseUrl);
  device.send({ type: 'login' });
  const { qr } = await device.next('qr');
  const scan = await hook(baseUrl, 'POST', '/scan', { qr, phone, pushname });
  if (scan.status !== 200) throw new Error(`scan failed: ${scan.status} ${JSON.stringify(scan.body)}`);
  const { session, account } = await device.next('authenticated');
  return { device, session, account };
}
