/**
 * The other side of WhatsApp in the engine contract suite: {@link Peer} (another user, acting from their phone) and
 * {@link Network} (making peers and groups, observing what the account did). Two implementations, one per engine:
 * the simulated network's test hooks (`/hooks/...` of a real simnet server) here, and the webjs stand-in's world in
 * `webjs-stand-in/peers.ts`. Features extend both interfaces with what their tests need the other side to do.
 */
import type { ChatState } from '../../src/engines/engine.js';

/** A message as the peer's phone received it from the account. */
export interface PeerMessage {
  /** The message key (the last part of a serialized id), shared by both sides. */
  key: string;
  body: string;
  /** Key of the message it quotes, when it is a reply. */
  quotedKey?: string | undefined;
}

/** Another WhatsApp user, acting from their phone. */
export interface Peer {
  /** `<digits>@c.us` */
  readonly id: string;
  readonly phone: string;
  readonly pushname: string;
  /** Sends a text to the account (or to group `to`), optionally quoting the message with key `quotedKey`; resolves with its key. */
  sendText(text: string, options?: { to?: string | undefined; quotedKey?: string | undefined }): Promise<{ key: string }>;
  /** Opens the chat with the account on the phone: the account's messages there become read (ack 3). */
  read(): Promise<void>;
  /** The account's messages this peer received in their 1:1 chat, oldest first. */
  received(): Promise<PeerMessage[]>;
}

/** What else the test needs of WhatsApp. */
export interface Network {
  /** A new user on WhatsApp (with a phone, no linked device), known to the account's address book. */
  newPeer(pushname?: string): Promise<Peer>;
  /** Creates a group owned by the account (super admin) with `members`; resolves with its id (`…@g.us`). */
  createGroup(subject: string, members: Peer[]): Promise<string>;
  /** The typing / recording indicators the account showed, oldest first. */
  chatStatesShown(): Promise<Array<{ chatId: string; state: ChatState }>>;
}

/** The key of a serialized message id `<fromMe>_<chatId>_<KEY>[_<participant>]`. */
export function keyOf(serializedId: string): string {
  return serializedId.split('_')[2] ?? '';
}

let nextPhone = 0;
/** A phone number unique within this test process (15550 + pid bits + counter: no clash between parallel files). */
export function uniquePhone(): string {
  nextPhone++;
  return `1555${String(process.pid % 10_000).padStart(4, '0')}${String(nextPhone).padStart(4, '0')}`;
}

interface SimnetWireMessage {
  id: string;
  chatId: string;
  body: string;
  quotedMessageId?: string;
}

/** {@link Network} over a simnet server's test hooks; `me` is the account's phone. */
export class SimnetNetwork implements Network {
  constructor(
    private readonly url: string,
    private readonly me: string,
  ) {}

  /** POSTs (or GETs, without `body`) a hook; throws on a non-2xx answer. */
  async hook<T>(route: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}/hooks${route}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as T;
    if (!res.ok) throw new Error(`simnet hook ${route} answered ${res.status}: ${JSON.stringify(json)}`);
    return json;
  }

  async newPeer(pushname = 'Peer'): Promise<Peer> {
    const phone = uniquePhone();
    await this.hook('/accounts', { phone, pushname });
    const meId = `${this.me}@c.us`;
    return {
      id: `${phone}@c.us`,
      phone,
      pushname,
      sendText: async (text, options = {}) => {
        const quotedMessageId = options.quotedKey === undefined ? undefined : `false_${meId}_${options.quotedKey}`;
        const { message } = await this.hook<{ message: SimnetWireMessage }>('/send', {
          from: phone,
          to: options.to ?? this.me,
          text,
          quotedMessageId,
        });
        return { key: keyOf(message.id) };
      },
      read: async () => void (await this.hook('/read', { phone, chatId: meId })),
      received: async () => {
        const { messages } = await this.hook<{ messages: SimnetWireMessage[] }>(`/accounts/${phone}/messages`);
        return messages
          .filter((m) => m.chatId === meId)
          .map((m) => ({
            key: keyOf(m.id),
            body: m.body,
            quotedKey: m.quotedMessageId === undefined ? undefined : keyOf(m.quotedMessageId),
          }));
      },
    };
  }

  async createGroup(subject: string, members: Peer[]): Promise<string> {
    const { id } = await this.hook<{ id: string }>('/groups', { name: subject, owner: this.me, participants: members.map((p) => p.phone) });
    return id;
  }

  async chatStatesShown(): Promise<Array<{ chatId: string; state: ChatState }>> {
    const { chatStates } = await this.hook<{ chatStates: Array<{ chatId: string; state: ChatState }> }>(`/accounts/${this.me}/chatstates`);
    return chatStates.map(({ chatId, state }) => ({ chatId, state }));
  }
}
