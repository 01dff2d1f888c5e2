/** Request and response schemas of the chats API (sync after login): `GET /v1/chats`, `GET /v1/chats/{id}`, `POST /v1/chats/{id}/read`. */
import { z } from 'zod';
import { boolString, chatId, cursor, limit } from './schemas.js';

export const chatIdParams = z.object({ id: chatId });

export const listChatsQuery = z
  .object({
    q: z.string().min(1).max(128).optional().meta({ description: 'Case-insensitive text in the chat name or id' }),
    isGroup: boolString.optional().meta({ description: 'Only groups (true) or 1:1 chats (false)' }),
    unread: boolString.optional().meta({ description: 'Only chats with unread messages (true) or without (false)' }),
    archived: boolString.optional().meta({ description: 'Only archived chats (true) or the others (false)' }),
    limit,
    cursor,
  })
  .strict();

const participant = z.object({
  id: z.string().meta({ description: 'User id (`<digits>@c.us`)' }),
  isAdmin: z.boolean(),
  isSuperAdmin: z.boolean().meta({ description: "The group's creator" }),
});

export const groupView = z
  .object({
    subject: z.string(),
    description: z.string().optional(),
    owner: z.string().optional().meta({ description: "The creator's user id" }),
    createdAt: z.string().optional().meta({ description: 'ISO 8601' }),
    participants: z.array(participant),
  })
  .meta({ description: "A group's metadata as last synced" });

export const lastMessageView = z
  .object({
    id: z.string(),
    author: z.string(),
    fromMe: z.boolean(),
    type: z.string(),
    body: z.string(),
    timestamp: z.string().meta({ description: 'ISO 8601' }),
  })
  .meta({ description: "The chat's newest message, in short" });

export const chatView = z
  .object({
    id: z.string(),
    name: z.string().optional(),
    isGroup: z.boolean(),
    unreadCount: z.number().int(),
    archived: z.boolean(),
    pinned: z.boolean(),
    muted: z.boolean(),
    lastMessageAt: z.string().optional().meta({ description: 'ISO 8601' }),
    lastMessage: lastMessageView.optional(),
    group: groupView.optional().meta({ description: 'GET /v1/chats/{id} of a group only' }),
    updatedAt: z.string().meta({ description: 'ISO 8601: when the record was last written' }),
  })
  .meta({ description: 'A chat, as synced after login and kept current from events' });
