/**
 * WhatsApp-shaped objects as whatsapp-web.js hands them to the engine, modelled on the library's structures
 * (`src/structures/Message.js`, `Chat.js`, `Contact.js`, `ClientInfo.js` of whatsapp-web.js 1.34): ids are
 * `{ server, user, _serialized }` wids, message ids `{ fromMe, remote, id, _serialized }` with a 20-character
 * upper-case key (`3EB0…` for WhatsApp Web), timestamps in whole seconds, `author` only in groups, acks as
 * `MessageAck`. Typed with the engine's subsets of the library's own types, so a shape change breaks the build.
 */
import { randomBytes } from 'node:crypto';
import wwebjs from 'whatsapp-web.js';
import type { ContactId, MessageAck, MessageId } from 'whatsapp-web.js';
import type { WebjsContact, WebjsMessage } from '../../../src/engines/webjs/client.js';

const { MessageTypes } = wwebjs;

/** `15551234567@c.us` → `{ server: 'c.us', user: '15551234567', _serialized }` (a `ContactId` / `ChatId`). */
export function wid(serialized: string): ContactId {
  const [user = '', server = ''] = serialized.split('@');
  return { server, user, _serialized: serialized };
}

/** A message key as WhatsApp Web assigns to its own messages: `3EB0` + 16 upper-case hex characters. */
export function webKey(): string {
  return `3EB0${randomBytes(8).toString('hex').toUpperCase()}`;
}

/** A message key as a phone assigns (20 upper-case hex characters). */
export function phoneKey(): string {
  return randomBytes(10).toString('hex').toUpperCase();
}

/** `Message.id`: `<fromMe>_<remote>_<key>` (and `_<participant>` for others' messages in groups). */
export function messageId(fromMe: boolean, remote: string, key: string, participant?: string): MessageId {
  const serialized = `${fromMe}_${remote}_${key}${participant && !fromMe ? `_${participant}` : ''}`;
  return { fromMe, remote, id: key, _serialized: serialized };
}

/** What a stand-in message carries beyond the engine's view: the quoted message, for `getQuotedMessage()`. */
export interface MessageFixture extends WebjsMessage {
  /** The quoted message's id (whatsapp-web.js keeps the quote in `_data.quotedStanzaID`; the stand-in keeps the id). */
  quoted?: MessageId | undefined;
}

/**
 * A text message (`type: 'chat'`) in chat `chatId` as the account `me` sees it: `fromMe` for own messages
 * (`from` = me, `to` = chat), else received from `sender` (`from` = chat, `author` = sender in groups).
 */
export function textMessage(input: {
  me: string;
  chatId: string;
  sender: string;
  body: string;
  key?: string | undefined;
  timestampSec?: number | undefined;
  ack?: MessageAck | undefined;
  quoted?: MessageId | undefined;
}): MessageFixture {
  const fromMe = input.sender === input.me;
  const isGroup = input.chatId.endsWith('@g.us');
  const key = input.key ?? (fromMe ? webKey() : phoneKey());
  const msg: MessageFixture = {
    id: messageId(fromMe, input.chatId, key, isGroup ? input.sender : undefined),
    fromMe,
    from: fromMe ? input.me : input.chatId,
    to: fromMe ? input.chatId : input.me,
    author: isGroup ? input.sender : undefined,
    type: MessageTypes.TEXT,
    body: input.body,
    timestamp: input.timestampSec ?? Math.floor(Date.now() / 1000),
    ack: input.ack ?? (fromMe ? wwebjs.MessageAck.ACK_PENDING : wwebjs.MessageAck.ACK_DEVICE),
    hasQuotedMsg: input.quoted !== undefined,
    isStatus: false,
    quoted: input.quoted,
    getQuotedMessage: async () => {
      if (!msg.quoted) throw new Error('no quoted message');
      return { id: msg.quoted };
    },
  };
  return msg;
}

/** A user contact (`PrivateContact`) of the address book. */
export function userContact(id: string, pushname: string | undefined, isMyContact = true): WebjsContact {
  const w = wid(id);
  return { id: w, number: w.user, name: isMyContact ? pushname : undefined, pushname: pushname ?? '', isGroup: false, isMyContact };
}

/** A group's contact entry (whatsapp-web.js lists groups among `getContacts()` with `isGroup: true`). */
export function groupContact(id: string, subject: string): WebjsContact {
  return { id: wid(id), number: '', name: subject, pushname: '', isGroup: true, isMyContact: false };
}
