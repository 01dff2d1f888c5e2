/**
 * whatsapp-web.js client events → engine events. {@link wireClient} subscribes to one client of one browser run and
 * forwards what matters through {@link ClientEventHandlers}; handlers run only while the run is current, and a
 * failing handler is logged, never thrown into whatsapp-web.js.
 */
import type { Logger } from 'pino';
import type { Chat as WChat, Message as WMessage } from 'whatsapp-web.js';
import type { WebjsClient as WClient } from './client.js';
import type { EngineAccount, EngineEvents, SessionState } from '../engine.js';
import { IGNORED_MESSAGE_TYPES, chatIdOf, errorMessage, toAck, toEngineChat, toEngineMessage, widString } from './mapping.js';

/**
 * whatsapp-web.js `disconnected` reasons (WAState values) a new browser on the same profile cannot cure: another
 * WhatsApp Web took the session over, the device was unpaired, the account is banned, the version is refused, or
 * the QR was never scanned. Every other reason is retried with backoff; `LOGOUT` stops and forgets the session.
 */
export const FINAL_DISCONNECTS: ReadonlySet<string> = new Set([
  'CONFLICT',
  'UNPAIRED',
  'UNPAIRED_IDLE',
  'TOS_BLOCK',
  'SMB_TOS_BLOCK',
  'DEPRECATED_VERSION',
  'Max qrcode retries reached',
]);

/** What the engine does with the client's events. */
export interface ClientEventHandlers {
  /** Whether the run is still current and not ending (events of other runs are ignored). */
  live(): boolean;
  /** whatsapp-web.js authenticated (after a scan, or the stored session accepted); ready follows. */
  authenticating(): void;
  /** A QR to scan. */
  qr(qr: string): void;
  /** A pairing code to type on the phone. */
  pairingCode(code: string): void;
  /** WhatsApp Web is ready, logged in as `account`. */
  ready(account: EngineAccount): void;
  /**
   * The run must end in `state`; `wipe`: remove the stored session once the browser closed; `retry`: start again
   * after the backoff (`state` once the budget is spent).
   */
  end(state: SessionState, reason: string, how?: { wipe?: boolean; retry?: boolean }): void;
  /** Emits an engine event (never throws). */
  emit<K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]): void;
  /** The account's own id, the author of own messages. */
  ownId(): string;
  log: Logger;
}

/** Subscribes `h` to `client`'s events. */
export function wireClient(client: WClient, h: ClientEventHandlers): void {
  /** Serializes `message` emission (quoted-message lookups are async) so events keep WhatsApp's order. */
  let emitChain = Promise.resolve();
  const guard =
    <A extends unknown[]>(name: string, fn: (...args: A) => void | Promise<void>) =>
    (...args: A): void => {
      if (!h.live()) return;
      try {
        const r = fn(...args);
        if (r instanceof Promise) r.catch((err: unknown) => h.log.warn({ err: errorMessage(err), event: name }, 'event handler failed'));
      } catch (err) {
        h.log.warn({ err: errorMessage(err), event: name }, 'event handler failed');
      }
    };

  client.on(
    'qr',
    guard('qr', (qr: string) => h.qr(qr)),
  );
  client.on(
    'code',
    guard('code', (code: string) => h.pairingCode(code)),
  );
  client.on(
    'authenticated',
    guard('authenticated', () => {
      h.log.info('whatsapp-web.js authenticated; waiting for ready');
      h.authenticating();
    }),
  );
  client.on(
    'ready',
    guard('ready', () => {
      const wid = client.info?.wid;
      h.ready({ id: wid?._serialized ?? '', phone: wid?.user ?? '', pushname: client.info?.pushname || undefined });
    }),
  );
  client.on(
    'auth_failure',
    guard('auth_failure', (message: string) => h.end('FAILED', `authentication failed: ${message}`)),
  );
  client.on(
    'disconnected',
    guard('disconnected', (reason: string) => {
      if (reason === 'LOGOUT') h.end('STOPPED', 'logged out from the phone', { wipe: true });
      else h.end('FAILED', `disconnected: ${reason}`, { retry: !FINAL_DISCONNECTS.has(reason) });
    }),
  );
  client.on(
    'change_state',
    guard('change_state', (state: string) => h.log.info({ waState: state }, 'WhatsApp connection state')),
  );
  client.on(
    'message_create',
    guard('message_create', (msg: WMessage) => {
      if (msg.isStatus || IGNORED_MESSAGE_TYPES.has(msg.type)) return;
      emitChain = emitChain
        .then(async () => {
          const m = await toEngineMessage(msg, h.ownId());
          if (h.live()) h.emit('message', m);
        })
        .catch((err: unknown) => h.log.warn({ err: errorMessage(err) }, 'could not map a message'));
    }),
  );
  client.on(
    'message_ack',
    guard('message_ack', (msg: WMessage, ack: number) =>
      h.emit('message_ack', { id: msg.id._serialized, chatId: chatIdOf(msg), ack: toAck(ack) }),
    ),
  );
  client.on(
    'contact_changed',
    guard('contact_changed', (_msg: WMessage, _oldId: string, newId: string, isContact: boolean) => {
      const id = widString(newId);
      h.emit('contact', {
        id,
        number: id.endsWith('@c.us') ? id.split('@')[0] : undefined,
        isGroup: false,
        isMyContact: isContact || undefined,
      });
    }),
  );
  client.on(
    'unread_count',
    guard('unread_count', (chat: WChat) => h.emit('chat', toEngineChat(chat))),
  );
}
