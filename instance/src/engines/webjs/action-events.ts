/**
 * whatsapp-web.js events of message actions and groups → engine events: `message_reaction` → `message_reaction`,
 * `message_edit` → `message_edit`, `message_revoke_everyone` → `message_revoke`, and `group_join`, `group_leave`,
 * `group_admin_changed`, `group_update` → `group_update`. whatsapp-web.js has no event for others' typing / recording
 * indicators: `presence.ts` listens for them in WhatsApp Web's page.
 */
import type { GroupNotification, Message as WMessage, Reaction } from 'whatsapp-web.js';
import type { WebjsClient as WClient } from './client.js';
import type { EngineGroupUpdate, GroupAction } from '../engine-groups.js';
import type { EngineEvents } from '../engine.js';
import { chatIdOf, widString } from './mapping.js';

/** The fields of a `GroupNotification` the engine reads. */
export type GroupNotificationFields = Pick<GroupNotification, 'author' | 'body' | 'chatId' | 'recipientIds' | 'timestamp' | 'type'>;

type Guard = <A extends unknown[]>(name: string, fn: (...args: A) => void | Promise<void>) => (...args: A) => void;
type Emit = <K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]) => void;

/** Group notification types → actions (others, e.g. picture or settings changes, are not reported). */
const GROUP_ACTIONS: Record<string, GroupAction> = {
  add: 'add',
  invite: 'add',
  remove: 'remove',
  leave: 'leave',
  promote: 'promote',
  demote: 'demote',
  subject: 'subject',
  description: 'description',
  create: 'create',
};

/** Subscribes to the action and group events of `client`; `me` is the account's own id. */
export function wireActionEvents(client: WClient, guard: Guard, emit: Emit, me: () => string): void {
  client.on(
    'message_reaction',
    guard('message_reaction', (r: Reaction) => {
      const messageId = widString(r.msgId?._serialized);
      emit('message_reaction', {
        messageId,
        chatId: widString(r.msgId?.remote),
        sender: widString(r.senderId),
        reaction: r.reaction ?? '',
        timestamp: (r.timestamp ?? 0) * 1000 || Date.now(),
        fromMe: Boolean(r.id?.fromMe),
      });
    }),
  );
  client.on(
    'message_edit',
    guard('message_edit', (msg: WMessage, newBody: unknown) => {
      emit('message_edit', {
        messageId: msg.id._serialized,
        chatId: chatIdOf(msg),
        author: msg.fromMe ? me() : widString(msg.author) || widString(msg.from),
        body: String(newBody ?? msg.body ?? ''),
        editedAt: msg.latestEditSenderTimestampMs ?? Date.now(),
      });
    }),
  );
  client.on(
    'message_revoke_everyone',
    guard('message_revoke_everyone', (msg: WMessage, before?: WMessage | null) => {
      emit('message_revoke', {
        // whatsapp-web.js gives the revoked message's original id on `before` when it caught it.
        messageId: widString(before?.id?._serialized) || msg.id._serialized,
        chatId: chatIdOf(msg),
        author: msg.fromMe ? me() : widString(msg.author) || widString(msg.from),
        revokedAt: (msg.timestamp ?? 0) * 1000 || Date.now(),
      });
    }),
  );
  const onGroup = (n: GroupNotificationFields) => {
    const update = toGroupUpdate(n);
    if (update) emit('group_update', update);
  };
  for (const event of ['group_join', 'group_leave', 'group_admin_changed', 'group_update'] as const) {
    client.on(event as 'group_join', guard(event, onGroup));
  }
}

/** A group notification as a {@link EngineGroupUpdate}, or undefined for kinds not reported. */
export function toGroupUpdate(n: GroupNotificationFields): EngineGroupUpdate | undefined {
  const action = GROUP_ACTIONS[String(n.type)];
  if (!action) return undefined;
  const participants = (n.recipientIds ?? []).map(widString);
  return {
    groupId: widString(n.chatId),
    action,
    actor: widString(n.author) || undefined,
    ...(participants.length ? { participants } : {}),
    ...(action === 'subject' || action === 'create' ? { subject: n.body } : {}),
    ...(action === 'description' ? { description: n.body } : {}),
    timestamp: (n.timestamp ?? 0) * 1000 || Date.now(),
  };
}
