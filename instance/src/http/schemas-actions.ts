/**
 * zod schemas of the message action, presence and group routes (`routes-actions.ts`, `routes-presence.ts`,
 * `routes-groups.ts`): request bodies and parameters, and the group response.
 */
import { z } from 'zod';
import { chatId, phone } from './schemas.js';

const text = z.string().min(1, 'must not be empty').max(65_536, 'must be at most 65536 characters');

export const replyBody = z.object({ text }).strict();
export const forwardBody = z
  .object({ to: z.union([chatId, phone]).meta({ description: 'Chat id (…@c.us, …@g.us) or a phone number to forward to' }) })
  .strict();
export const reactionBody = z
  .object({
    reaction: z
      .string()
      .max(32, 'must be one emoji')
      .refine(
        (v) => v === '' || (/\p{Extended_Pictographic}|\p{Regional_Indicator}/u.test(v) && !/[\p{L}\p{N}\s]/u.test(v)),
        'must be one emoji, or empty',
      )
      .meta({ description: 'One emoji, e.g. 👍; empty takes the reaction off', format: 'emoji' }),
  })
  .strict();
export const editBody = z.object({ text }).strict();

export const presenceParams = z.object({ id: chatId });
export const presenceBody = z
  .object({
    state: z
      .enum(['typing', 'recording', 'paused'])
      .meta({ description: 'typing, recording (a voice note), or paused (clears it; WhatsApp also clears it after about 25 s)' }),
  })
  .strict();

/** A group id: `<digits>@g.us` or `<digits>-<digits>@g.us`. */
export const groupId = z.string().regex(/^[0-9-]{1,64}@g\.us$/, 'must be a group id like 120363…@g.us');
export const groupParams = z.object({ id: groupId });
const participant = z.union([chatId, phone]).meta({ description: 'User id (…@c.us) or phone number' });
const participants = z.array(participant).min(1, 'must name at least one participant').max(256);
const subject = z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters');
const description = z.string().max(2048, 'must be at most 2048 characters');

export const createGroupBody = z.object({ subject, participants }).strict();
export const updateGroupBody = z
  .object({ subject: subject.optional(), description: description.optional() })
  .strict()
  .refine((b) => b.subject !== undefined || b.description !== undefined, { message: 'give a subject, a description or both' })
  .meta({ minProperties: 1 });
export const participantsParams = z.object({
  id: groupId,
  action: z.enum(['add', 'remove', 'promote', 'demote']).meta({ description: 'add, remove, promote (to admin) or demote' }),
});
export const participantsBody = z.object({ participants }).strict();

export const groupView = z.object({
  id: z.string(),
  subject: z.string(),
  description: z.string().optional(),
  owner: z.string().optional().meta({ description: "The group's creator" }),
  participants: z.array(z.object({ id: z.string(), isAdmin: z.boolean(), isSuperAdmin: z.boolean() })),
});
export const inviteView = z.object({
  code: z.string(),
  link: z.string().meta({ description: 'https://chat.whatsapp.com/<code>' }),
});
