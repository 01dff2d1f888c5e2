import type { MessageView } from '../api/instance-models';
import { formatDate } from '../shared/format';

/**
 * The line above a message bubble: direction, chat, time (the member's time zone) and delivery ack, in the
 * dashboard's language ("to 15551234567@c.us · 1 Dec 2026, 14:05 · ack 2").
 */
export function messageMeta(m: Pick<MessageView, 'fromMe' | 'chatId' | 'timestamp' | 'ack'>): string {
  const time = formatDate(m.timestamp);
  return m.fromMe
    ? $localize`:Sent message; ack is WhatsApp's delivery state number@@message.to:to ${m.chatId}:chat: · ${time}:time: · ack ${m.ack}:ack:`
    : $localize`:Received message; ack is WhatsApp's delivery state number@@message.from:from ${m.chatId}:chat: · ${time}:time: · ack ${m.ack}:ack:`;
}
