/**
 * Inbound instance events for the inbox's tests: a `message.any` event shaped like the instance's message view, as the
 * ingest hands it to `InboxEvents.handler` (docs/team.md §1).
 */
import { randomBytes } from 'node:crypto';
import type { InstanceEvent } from '../src/events/instance-events.js';

/** A message of chat `chatId` on instance `instanceId` (organisation `orgId`): its data and the event carrying it. */
export function messageAnyEvent(
  instanceId: string,
  orgId: string,
  chatId: string,
  o: { fromMe: boolean; body: string; at?: Date; member?: { id: string; name: string } },
) {
  const data = {
    id: `${o.fromMe}_${chatId}_${randomBytes(8).toString('hex').toUpperCase()}`,
    chatId,
    author: o.fromMe ? '15550009999@c.us' : chatId,
    fromMe: o.fromMe,
    isGroup: chatId.endsWith('@g.us'),
    type: 'chat',
    body: o.body,
    timestamp: (o.at ?? new Date()).toISOString(),
    ack: o.fromMe ? 1 : 0,
    ...(o.member ? { sentBy: { tokenId: 'abcdef0123456789', tokenName: 'wacloud-gateway', member: o.member } } : {}),
  };
  const event = { id: `evt_${randomBytes(16).toString('hex')}`, instanceId, orgId, type: 'message.any', data, timestamp: Date.now() };
  return { data, event: event satisfies InstanceEvent };
}
