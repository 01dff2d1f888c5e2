/**
 * The webjs engine's message actions, group administration and media (`media.ts`) through whatsapp-web.js: `Message.react`,
 * `Message.edit`, `Message.delete(true)`, `Message.forward`, `Client.createGroup` and `GroupChat.setSubject`,
 * `setDescription`, `addParticipants`, `removeParticipants`, `promoteParticipants`, `demoteParticipants`,
 * `getInviteCode`, `revokeInvite`, `leave`. Everything the network would refuse is checked first with the engine's
 * codes (`message_not_found`, `not_own_message`, `message_revoked`, `edit_window_passed`, `group_not_found`,
 * `not_group_admin`, `not_a_participant`, `cannot_change_owner`, `number_not_on_whatsapp`), so nothing is half done.
 */
import type { WebjsActionMessage as WMessage, WebjsGroupChat as WGroupChat } from './client-actions.js';
import type { WebjsChat as WChat, WebjsClient as WClient, WebjsMessage } from './client.js';
import { EDIT_WINDOW_MS, type EngineEdit, type EngineRevoke } from '../engine-actions.js';
import type { EngineGroupInfo, ParticipantAction } from '../engine-groups.js';
import type { EngineLocation, OutgoingMedia } from '../engine-media.js';
import { EngineError, toChatId, type EngineEvents, type EngineMessage, type SendTextOptions } from '../engine.js';
import type { FeatureMethods } from '../features.js';
import { chatIdOf, errorMessage, toEngineMessage, widString } from './mapping.js';
import { downloadMessageMedia, sendContactCardMessage, sendLocationMessage, sendMediaMessage } from './media.js';

/** How many of the target chat's newest own messages are searched for a forwarded copy. */
const FORWARD_LOOKUP = 10;

export interface WebjsFeatureDeps {
  /** The WORKING client. @throws EngineNotReadyError otherwise. */
  client(): WClient;
  /** The account's own id. */
  me(): string;
  /** Emits an engine event (never throws). */
  emit<K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]): void;
}

export class WebjsFeatures implements FeatureMethods {
  constructor(private readonly d: WebjsFeatureDeps) {}

  // See {@link EngineMedia}: `MessageMedia`, `Location`, vCards, `Message.downloadMedia()` (`media.ts`).
  sendMedia = (to: string, media: OutgoingMedia, o?: SendTextOptions) => this.#sent((c) => sendMediaMessage(c, to, media, o));
  sendLocation = (to: string, l: EngineLocation, o?: SendTextOptions) => this.#sent((c) => sendLocationMessage(c, to, l, o));
  sendContactCard = (to: string, vcard: string, o?: SendTextOptions) => this.#sent((c) => sendContactCardMessage(c, to, vcard, o));
  downloadMedia = async (m: Pick<EngineMessage, 'id' | 'chatId' | 'media'>) => downloadMessageMedia(this.d.client(), m);

  /** Runs a send with the WORKING client; resolves with the sent message mapped (its author is the account). */
  async #sent(send: (client: WClient) => Promise<WebjsMessage>): Promise<EngineMessage> {
    const client = this.d.client();
    return toEngineMessage(await send(client), this.d.me());
  }

  async react(messageId: string, reaction: string): Promise<void> {
    const msg = await this.#live(messageId);
    await msg.react(reaction);
  }

  async editMessage(messageId: string, text: string): Promise<EngineEdit> {
    const msg = await this.#own(messageId);
    if (Date.now() - msg.timestamp * 1000 > EDIT_WINDOW_MS) {
      throw new EngineError('edit_window_passed', `messages can be edited for ${EDIT_WINDOW_MS / 60_000} minutes after sending`);
    }
    const edited = await msg.edit(text);
    if (!edited) throw new EngineError('edit_failed', 'WhatsApp did not take the edit');
    return { messageId, chatId: chatIdOf(msg), author: this.d.me(), body: text, editedAt: Date.now() };
  }

  async revokeMessage(messageId: string): Promise<EngineRevoke> {
    const msg = await this.#own(messageId);
    await msg.delete(true);
    return { messageId, chatId: chatIdOf(msg), author: this.d.me(), revokedAt: Date.now() };
  }

  /**
   * `Message.forward` resolves with nothing, so the new message is looked up among the target chat's newest own
   * messages (forwarded, same body, not older than the call).
   * @throws EngineError `forward_unconfirmed` when it cannot be found there.
   */
  async forwardMessage(messageId: string, to: string): Promise<EngineMessage> {
    const msg = await this.#live(messageId);
    const target = await this.target(toChatId(to));
    const startedS = Math.floor(Date.now() / 1000) - 1;
    await msg.forward(target);
    const chat = await this.d.client().getChatById(target);
    const recent = await chat.fetchMessages({ limit: FORWARD_LOOKUP, fromMe: true });
    const copy = [...recent].reverse().find((m) => m.isForwarded && m.body === msg.body && m.timestamp >= startedS);
    if (!copy) throw new EngineError('forward_unconfirmed', 'the forwarded message was not found in the target chat');
    return toEngineMessage(copy, this.d.me());
  }

  async createGroup(subject: string, participants: string[]): Promise<EngineGroupInfo> {
    if (!subject.trim()) throw new EngineError('invalid_request', 'a group needs a subject');
    const ids = await this.#onWhatsApp(participants);
    const result = await this.d.client().createGroup(subject, ids);
    if (typeof result === 'string') throw new EngineError('group_create_failed', result);
    return this.groupInfo(widString(result.gid));
  }

  async groupInfo(groupId: string): Promise<EngineGroupInfo> {
    return toGroupInfo(await this.#group(groupId));
  }

  async setGroupSubject(groupId: string, subject: string): Promise<EngineGroupInfo> {
    const group = await this.#adminOf(groupId);
    if (!(await group.setSubject(subject))) throw new EngineError('not_group_admin', 'WhatsApp refused the new subject');
    return this.groupInfo(groupId);
  }

  async setGroupDescription(groupId: string, description: string): Promise<EngineGroupInfo> {
    const group = await this.#adminOf(groupId);
    if (!(await group.setDescription(description))) throw new EngineError('not_group_admin', 'WhatsApp refused the new description');
    return this.groupInfo(groupId);
  }

  async changeParticipants(groupId: string, action: ParticipantAction, participants: string[]): Promise<EngineGroupInfo> {
    const group = await this.#adminOf(groupId);
    if (action === 'add') {
      const ids = await this.#onWhatsApp(participants);
      const fresh = ids.filter((id) => !group.participants.some((p) => p.id._serialized === id));
      if (fresh.length) {
        const r = await group.addParticipants(fresh, { autoSendInviteV4: false });
        if (typeof r === 'string') throw new EngineError('engine_error', r);
      }
      return this.groupInfo(groupId);
    }
    const ids = [...new Set(participants.map(toChatId))];
    const outside = ids.filter((id) => !group.participants.some((p) => p.id._serialized === id));
    if (outside.length) throw new EngineError('not_a_participant', `not in the group: ${outside.join(', ')}`);
    const owner = group.participants.find((p) => p.isSuperAdmin)?.id._serialized;
    if (action !== 'promote' && owner !== undefined && ids.includes(owner)) {
      throw new EngineError('cannot_change_owner', "the group's creator cannot be removed or demoted");
    }
    const r =
      action === 'remove'
        ? await group.removeParticipants(ids)
        : action === 'promote'
          ? await group.promoteParticipants(ids)
          : await group.demoteParticipants(ids);
    if (r && typeof r.status === 'number' && r.status >= 400) throw new EngineError('engine_error', `WhatsApp answered ${r.status}`);
    return this.groupInfo(groupId);
  }

  async groupInviteCode(groupId: string): Promise<string> {
    return (await this.#adminOf(groupId)).getInviteCode();
  }

  /**
   * `GroupChat.revokeInvite()`, then `group_update` `invite_revoked` (whatsapp-web.js reports no revocation, the
   * account's own included; others' revocations are not reported on this engine).
   */
  async revokeGroupInvite(groupId: string): Promise<string> {
    const group = await this.#adminOf(groupId);
    await group.revokeInvite();
    this.d.emit('group_update', { groupId, action: 'invite_revoked', actor: this.d.me(), timestamp: Date.now() });
    return group.getInviteCode();
  }

  async leaveGroup(groupId: string): Promise<void> {
    await (await this.#group(groupId)).leave();
  }

  /** @throws EngineError `message_not_found`. */
  async #message(messageId: string): Promise<WMessage> {
    const msg = await this.d
      .client()
      .getMessageById(messageId)
      .catch((err: unknown) => {
        throw new EngineError('message_not_found', `no message ${messageId}: ${errorMessage(err)}`);
      });
    if (!msg) throw new EngineError('message_not_found', `no message ${messageId}`);
    return msg;
  }

  /** @throws EngineError `message_not_found`, `message_revoked`. */
  async #live(messageId: string): Promise<WMessage> {
    const msg = await this.#message(messageId);
    if (msg.type === 'revoked') throw new EngineError('message_revoked', 'this message was deleted for everyone');
    return msg;
  }

  /** @throws EngineError `message_not_found`, `message_revoked`, `not_own_message`. */
  async #own(messageId: string): Promise<WMessage> {
    const msg = await this.#live(messageId);
    if (!msg.fromMe) throw new EngineError('not_own_message', 'only the author of a message may edit or delete it for everyone');
    return msg;
  }

  /** The id to send to for chat `chatId`. @throws EngineError `number_not_on_whatsapp`, `chat_not_found`. */
  async target(chatId: string): Promise<string> {
    if (chatId.endsWith('@c.us')) return (await this.#onWhatsApp([chatId]))[0]!;
    const chat = await this.d
      .client()
      .getChatById(chatId)
      .catch(() => undefined);
    if (!chat) throw new EngineError('chat_not_found', `chat ${chatId} does not exist`);
    return chatId;
  }

  /** The WhatsApp ids of users `ids` (phones or user ids). @throws EngineError `number_not_on_whatsapp` for any not on it. */
  async #onWhatsApp(ids: string[]): Promise<string[]> {
    const out: string[] = [];
    const missing: string[] = [];
    for (const id of [...new Set(ids.map(toChatId))]) {
      const numberId = await this.d.client().getNumberId(id);
      if (numberId) out.push(numberId._serialized);
      else missing.push(id);
    }
    if (missing.length) throw new EngineError('number_not_on_whatsapp', `not on WhatsApp: ${missing.join(', ')}`);
    return out;
  }

  /** Group `groupId` with the account as a member. @throws EngineError `group_not_found`. */
  async #group(groupId: string): Promise<WGroupChat> {
    const chat: WChat | undefined = await this.d
      .client()
      .getChatById(groupId)
      .catch(() => undefined);
    const group = chat?.isGroup ? (chat as WGroupChat) : undefined;
    if (!group || !group.participants?.some((p) => p.id._serialized === this.d.me())) {
      throw new EngineError('group_not_found', `no group ${groupId} with the account as a member`);
    }
    return group;
  }

  /** {@link #group}, with the account an admin. @throws EngineError `group_not_found`, `not_group_admin`. */
  async #adminOf(groupId: string): Promise<WGroupChat> {
    const group = await this.#group(groupId);
    const me = group.participants.find((p) => p.id._serialized === this.d.me());
    if (!me?.isAdmin && !me?.isSuperAdmin) throw new EngineError('not_group_admin', `the account is not an admin of ${groupId}`);
    return group;
  }
}

function toGroupInfo(g: WGroupChat): EngineGroupInfo {
  return {
    id: g.id._serialized,
    subject: g.name,
    ...(g.description ? { description: g.description } : {}),
    ...(g.owner ? { owner: widString(g.owner) } : {}),
    participants: (g.participants ?? []).map((p) => ({
      id: p.id._serialized,
      isAdmin: p.isAdmin || p.isSuperAdmin,
      isSuperAdmin: p.isSuperAdmin,
    })),
  };
}
