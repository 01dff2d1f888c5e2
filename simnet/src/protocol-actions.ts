/**
 * Protocol additions for message actions, presence and group administration (see `protocol.ts` for the frame flow):
 * the request frames a device may send, their results, and the push events the network sends for them.
 */
import { z } from 'zod';

// protocol.ts imports this file, so its constants are repeated here (an import back would be a cycle).
const MAX_BODY_CHARS = 65_536;
const messageKey = z.string().regex(/^[0-9A-F]{20}$/, 'must be 20 uppercase hex characters');

const reqId = z.number().int().nonnegative();
const messageId = z.string().min(1).max(300);
const chatId = z.string().min(1).max(100);
const groupId = z.string().regex(/^[0-9-]{1,64}@g\.us$/, 'must be a group id (…@g.us)');
const participants = z.array(z.string().min(1).max(100)).min(1).max(1024);
/** One emoji (a grapheme cluster of at most 32 UTF-16 units), or empty to take a reaction off. */
export const reactionText = z.string().max(32);
/** A group subject: 1 to 100 characters (WhatsApp's limit). */
export const groupSubject = z.string().trim().min(1).max(100);
/** A group description: at most 2048 characters (WhatsApp's limit). */
export const groupDescription = z.string().max(2048);

/** Request frames of the features in this file (members of `clientFrameSchema`). */
export const actionFrameSchemas = [
  /** React to a message (empty `reaction`: take the reaction off). */
  z.object({ type: z.literal('react'), reqId, messageId, reaction: reactionText }),
  /** Replace the text of an own message. */
  z.object({ type: z.literal('edit'), reqId, messageId, body: z.string().min(1).max(MAX_BODY_CHARS) }),
  /** Delete an own message for everyone. */
  z.object({ type: z.literal('revoke'), reqId, messageId }),
  /** Forward a message to chat `to` as a new message with key `key`. */
  z.object({ type: z.literal('forward'), reqId, messageId, to: chatId, key: messageKey }),
  z.object({ type: z.literal('group_create'), reqId, subject: groupSubject, participants: participants }),
  z.object({ type: z.literal('group_info'), reqId, groupId }),
  z.object({ type: z.literal('group_subject'), reqId, groupId, subject: groupSubject }),
  z.object({ type: z.literal('group_description'), reqId, groupId, description: groupDescription }),
  z.object({ type: z.literal('group_participants'), reqId, groupId, action: z.enum(['add', 'remove', 'promote', 'demote']), participants }),
  /** The invite code; `revoke: true` replaces it first. */
  z.object({ type: z.literal('group_invite'), reqId, groupId, revoke: z.boolean() }),
  z.object({ type: z.literal('group_leave'), reqId, groupId }),
] as const;

/** A reaction as one account sees it. */
export interface WireReaction {
  messageId: string;
  chatId: string;
  sender: string;
  /** Empty: taken off. */
  reaction: string;
  timestamp: number;
  fromMe: boolean;
}

export interface WireEdit {
  messageId: string;
  chatId: string;
  author: string;
  body: string;
  editedAt: number;
}

export interface WireRevoke {
  messageId: string;
  chatId: string;
  author: string;
  revokedAt: number;
}

export interface WireGroupParticipant {
  id: string;
  isAdmin: boolean;
  isSuperAdmin: boolean;
}

export interface WireGroupInfo {
  id: string;
  subject: string;
  description?: string | undefined;
  owner?: string | undefined;
  participants: WireGroupParticipant[];
}

export interface WireGroupUpdate {
  groupId: string;
  action: 'create' | 'subject' | 'description' | 'add' | 'remove' | 'promote' | 'demote' | 'leave' | 'invite_revoked';
  actor?: string | undefined;
  participants?: string[] | undefined;
  subject?: string | undefined;
  description?: string | undefined;
  timestamp: number;
}

/** A typing / recording indicator shown (or cleared) by `participant` in chat `chatId` (as the receiver sees it). */
export interface WirePresence {
  chatId: string;
  participant: string;
  state: 'typing' | 'recording' | 'paused';
  timestamp: number;
}

/** Push events of the features in this file (members of `PushEvent`). */
export type ActionPushEvent =
  | { kind: 'reaction'; reaction: WireReaction }
  | { kind: 'edit'; edit: WireEdit }
  | { kind: 'revoke'; revoke: WireRevoke }
  | { kind: 'presence'; presence: WirePresence }
  | { kind: 'group_update'; update: WireGroupUpdate };
