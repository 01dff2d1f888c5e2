/**
 * Test hooks of the sync after login, under `/hooks` (errors as in `server.ts`: 400 `invalid_request`, 404, 403):
 * - `POST /hooks/groups/update {phone, groupId, subject?, description?, add?, remove?, promote?, demote?}`: member
 *   `phone` changes a group from their phone (membership and admin changes need an admin: 403 `not_admin`);
 * - `POST /hooks/chats/flags {phone, chatId, archived?, pinned?, muted?}`: the account archives / pins / mutes a chat
 *   on its phone;
 * - `GET /hooks/accounts/:phone/groups`: the groups an account is in, with their metadata.
 */
import express from 'express';
import { z } from 'zod';
import type { SimNetwork } from './network.js';
import { phoneDigits } from './protocol.js';

const phone = z
  .string()
  .trim()
  .transform((v) => v.replace(/@c\.us$/, '').replace(/^\+/, ''))
  .pipe(phoneDigits);
const phones = z.array(phone).max(1024).optional();

const schemas = {
  update: z.object({
    phone,
    groupId: z.string().regex(/^\d+@g\.us$/),
    subject: z.string().trim().min(1).max(100).optional(),
    description: z.string().max(2048).optional(),
    add: phones,
    remove: phones,
    promote: phones,
    demote: phones,
  }),
  flags: z.object({
    phone,
    chatId: z.string().trim().min(1).max(100),
    archived: z.boolean().optional(),
    pinned: z.boolean().optional(),
    muted: z.boolean().optional(),
  }),
};

/** The router; `parse` validates a body (throwing the server's 400 error). */
export function syncHooks(network: SimNetwork, parse: <T extends z.ZodType>(schema: T, input: unknown) => z.output<T>): express.Router {
  const router = express.Router();
  router.post('/groups/update', (req, res) => {
    const { phone: actor, groupId, ...change } = parse(schemas.update, req.body);
    res.json({ group: network.sync.updateGroup(actor, groupId, change) });
  });
  router.post('/chats/flags', (req, res) => {
    const { phone: p, chatId, ...flags } = parse(schemas.flags, req.body);
    res.json({ chat: network.sync.setChatFlags(p, chatId, flags) });
  });
  router.get('/accounts/:phone/groups', (req, res) => {
    res.json({ groups: network.sync.groupsOf(parse(phone, req.params.phone)) });
  });
  return router;
}
