/**
 * Test hooks of message actions, presence and group administration: what a phone does (react, edit, revoke, forward,
 * show typing, administer a group) and what it sees (a message with its reactions, a group). Mounted under `/hooks`.
 * Errors: 400 `invalid_request`; 404 `account_not_found`, `message_not_found`, `group_not_found`, `chat_not_found`;
 * 403 `not_own_message`, `not_group_admin`, `cannot_change_owner`; 409 `message_revoked`; 422 `edit_window_passed`,
 * `number_not_on_whatsapp`, `not_a_participant`.
 */
import express from 'express';
import { z } from 'zod';
import type { SimNetwork } from './network.js';
import { groupDescription, groupSubject, reactionText } from './protocol-actions.js';
import { MAX_BODY_CHARS, phoneDigits } from './protocol.js';
import { parse } from './server.js';

const phone = z
  .string()
  .trim()
  .transform((v) => v.replace(/@c\.us$/, '').replace(/^\+/, ''))
  .pipe(phoneDigits);
const messageId = z.string().min(1).max(300);
const groupId = z.string().min(1).max(100);

const schemas = {
  react: z.object({ phone, messageId, reaction: reactionText }),
  edit: z.object({ phone, messageId, text: z.string().min(1).max(MAX_BODY_CHARS) }),
  revoke: z.object({ phone, messageId }),
  forward: z.object({ phone, messageId, to: z.string().trim().min(1).max(100) }),
  presence: z.object({ phone, chatId: z.string().trim().min(1).max(100), state: z.enum(['typing', 'recording', 'paused']) }),
  groupAction: z.discriminatedUnion('action', [
    z.object({ action: z.literal('subject'), phone, subject: groupSubject }),
    z.object({ action: z.literal('description'), phone, description: groupDescription }),
    z.object({ action: z.enum(['add', 'remove', 'promote', 'demote']), phone, participants: z.array(phone).min(1).max(1024) }),
    z.object({ action: z.literal('revoke_invite'), phone }),
    z.object({ action: z.literal('leave'), phone }),
  ]),
};

/** The hooks of this file, as a router to mount under `/hooks`. */
export function actionHooks(network: SimNetwork): express.Router {
  const router = express.Router();
  router.post('/react', (req, res) => {
    const b = parse(schemas.react, req.body);
    network.actions.react(b.phone, b.messageId, b.reaction);
    res.json({ ok: true });
  });
  router.post('/edit', (req, res) => {
    const b = parse(schemas.edit, req.body);
    res.json({ edit: network.actions.edit(b.phone, b.messageId, b.text) });
  });
  router.post('/revoke', (req, res) => {
    const b = parse(schemas.revoke, req.body);
    res.json({ revoke: network.actions.revoke(b.phone, b.messageId) });
  });
  router.post('/forward', (req, res) => {
    const b = parse(schemas.forward, req.body);
    res.status(201).json({ message: network.actions.forward(b.phone, b.messageId, b.to) });
  });
  /** A message as the phone sees it, with `reactions` (user id → emoji), `editedAt` and `revokedAt` (epoch ms). */
  router.get('/accounts/:phone/messages/:id', (req, res) => {
    res.json({ message: network.actions.inspect(parse(phone, req.params.phone), parse(messageId, req.params.id)) });
  });
  /** The phone shows typing / recording (or clears it) in a chat: pushed live to the other members' devices. */
  router.post('/presence', (req, res) => {
    const b = parse(schemas.presence, req.body);
    network.presence.broadcast(b.phone, b.chatId, b.state);
    res.json({ ok: true });
  });
  /** A group as member `phone` sees it. */
  router.get('/accounts/:phone/groups/:id', (req, res) => {
    res.json({ group: network.groupAdmin.info(parse(phone, req.params.phone), parse(groupId, req.params.id)) });
  });
  /** Member `phone` administers group `:id` (or leaves it). */
  router.post('/groups/:id/actions', (req, res) => {
    const id = parse(groupId, req.params.id);
    const b = parse(schemas.groupAction, req.body);
    const g = network.groupAdmin;
    switch (b.action) {
      case 'subject':
        return res.json({ group: g.setSubject(b.phone, id, b.subject) });
      case 'description':
        return res.json({ group: g.setDescription(b.phone, id, b.description) });
      case 'revoke_invite':
        return res.json({ code: g.inviteCode(b.phone, id, true) });
      case 'leave':
        g.leave(b.phone, id);
        return res.json({ ok: true });
      default:
        return res.json({ group: g.changeParticipants(b.phone, id, b.action, b.participants) });
    }
  });
  return router;
}
