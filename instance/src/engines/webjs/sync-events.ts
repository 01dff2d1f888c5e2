/**
 * whatsapp-web.js events of the sync after login → engine events: a group notification (`group_join`,
 * `group_leave`, `group_update`, `group_admin_changed`) re-reads the group (`Client.getChatById`) and emits `group`
 * and `chat`; `chat_archived` emits `chat`. Wired by `client-events.ts`.
 */
import type { Chat as WChat } from 'whatsapp-web.js';
import type { WebjsClient, WebjsGroupNotification } from './client.js';
import type { ClientEventHandlers } from './client-events.js';
import { errorMessage, toEngineChat } from './mapping.js';
import { toEngineGroup } from './sync.js';

/** whatsapp-web.js events that change a group's metadata or membership. */
export const GROUP_EVENTS = ['group_join', 'group_leave', 'group_update', 'group_admin_changed'] as const;

/** Subscribes the sync handlers to `client`'s events (only while the run is current, like the others). */
export function wireSyncEvents(client: WebjsClient, h: Pick<ClientEventHandlers, 'live' | 'emit' | 'log'>): void {
  for (const event of GROUP_EVENTS) {
    client.on(event, (notification: WebjsGroupNotification) => {
      if (!h.live()) return;
      const chatId = notification.chatId;
      client.getChatById(chatId).then(
        (chat) => {
          if (!h.live() || !chat?.isGroup) return;
          h.emit('group', toEngineGroup(chat));
          h.emit('chat', toEngineChat(chat));
        },
        (err: unknown) => h.log.warn({ err: errorMessage(err), event, chatId }, 'could not read a changed group'),
      );
    });
  }
  client.on('chat_archived', (chat: WChat) => {
    if (h.live()) h.emit('chat', toEngineChat(chat));
  });
}
