/**
 * The simulated engine's message actions, group administration and media (`media.ts`): requests to the simulated network (see
 * `@wacloud/simnet/protocol`), and the network's pushes for them turned into engine events. Errors of the network
 * keep their codes (`message_not_found`, `not_own_message`, `group_not_found`, `not_group_admin`, …) as EngineErrors.
 */
import { randomBytes } from 'node:crypto';
import type { PushEvent, RequestFrame, ResultMap } from '@wacloud/simnet/protocol';
import type { EngineEdit, EngineRevoke } from '../engine-actions.js';
import type { EngineGroupInfo, ParticipantAction } from '../engine-groups.js';
import type { DownloadedMedia, EngineLocation, OutgoingMedia } from '../engine-media.js';
import { EngineError, toChatId, type EngineEvents, type EngineMessage, type SendTextOptions } from '../engine.js';
import type { FeatureMethods } from '../features.js';
import { SimulatedMedia, withMediaRef, type SendFrame } from './media.js';

/** The fields of request frame `K` but its type and id. */
type Fields<K extends RequestFrame['type']> = Omit<Extract<RequestFrame, { type: K }>, 'reqId' | 'type'>;

export interface SimulatedFeatureDeps {
  /** The network's base URL (its media server). */
  simnetUrl: string;
  /** @throws EngineNotReadyError unless WORKING. */
  requireWorking(): void;
  /** Sends a request (a fresh `reqId` is added) once the session is WORKING. @throws EngineNotReadyError, EngineError. */
  request<K extends RequestFrame['type']>(type: K, fields: Fields<K>, onResult?: (result: ResultMap[K]) => void): Promise<ResultMap[K]>;
  /** Emits an engine event. */
  emit<K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]): void;
  /** Marks a message id as seen (its push is dropped). */
  remember(id: string): void;
}

export class SimulatedFeatures implements FeatureMethods {
  readonly #media: SimulatedMedia;

  constructor(private readonly d: SimulatedFeatureDeps) {
    this.#media = new SimulatedMedia(d.simnetUrl, d.requireWorking, (frame) => this.send(frame));
  }

  /**
   * Sends a `send` frame (text, media, location, vCard; its `reqId` is set anew); resolves with the message as the
   * network accepted it, emitted as `message` while the response is handled (before any ack of it).
   */
  async send(frame: SendFrame): Promise<EngineMessage> {
    const { type: _type, reqId: _reqId, ...fields } = frame;
    const { message } = await this.d.request('send', fields, (result) => {
      this.d.remember(result.message.id);
      this.d.emit('message', withMediaRef(result.message));
    });
    return withMediaRef(message);
  }

  // See {@link EngineMedia}: files go through the network's media server first (`media.ts`).
  sendMedia = (to: string, media: OutgoingMedia, o?: SendTextOptions): Promise<EngineMessage> => this.#media.sendMedia(to, media, o);
  sendLocation = (to: string, l: EngineLocation, o?: SendTextOptions): Promise<EngineMessage> => this.#media.sendLocation(to, l, o);
  sendContactCard = (to: string, vcard: string, o?: SendTextOptions): Promise<EngineMessage> => this.#media.sendContactCard(to, vcard, o);
  downloadMedia = (m: Pick<EngineMessage, 'id' | 'chatId' | 'media'>): Promise<DownloadedMedia> => this.#media.downloadMedia(m);

  async react(messageId: string, reaction: string): Promise<void> {
    await this.d.request('react', { messageId, reaction });
  }

  async editMessage(messageId: string, text: string): Promise<EngineEdit> {
    return (await this.d.request('edit', { messageId, body: text })).edit;
  }

  async revokeMessage(messageId: string): Promise<EngineRevoke> {
    return (await this.d.request('revoke', { messageId })).revoke;
  }

  /** Forwards as a new message; emitted as a `message` while its response is handled (before any ack of it). */
  async forwardMessage(messageId: string, to: string): Promise<EngineMessage> {
    const key = randomBytes(10).toString('hex').toUpperCase();
    const { message } = await this.d.request('forward', { messageId, to: toChatId(to), key }, (result) => {
      this.d.remember(result.message.id);
      this.d.emit('message', withMediaRef(result.message));
    });
    return withMediaRef(message);
  }

  async createGroup(subject: string, participants: string[]): Promise<EngineGroupInfo> {
    if (!subject.trim()) throw new EngineError('invalid_request', 'a group needs a subject');
    return (await this.d.request('group_create', { subject, participants: participants.map(toChatId) })).group;
  }

  async groupInfo(groupId: string): Promise<EngineGroupInfo> {
    return (await this.d.request('group_info', { groupId })).group;
  }

  async setGroupSubject(groupId: string, subject: string): Promise<EngineGroupInfo> {
    return (await this.d.request('group_subject', { groupId, subject })).group;
  }

  async setGroupDescription(groupId: string, description: string): Promise<EngineGroupInfo> {
    return (await this.d.request('group_description', { groupId, description })).group;
  }

  async changeParticipants(groupId: string, action: ParticipantAction, participants: string[]): Promise<EngineGroupInfo> {
    return (await this.d.request('group_participants', { groupId, action, participants: participants.map(toChatId) })).group;
  }

  async groupInviteCode(groupId: string): Promise<string> {
    return (await this.d.request('group_invite', { groupId, revoke: false })).code;
  }

  async revokeGroupInvite(groupId: string): Promise<string> {
    return (await this.d.request('group_invite', { groupId, revoke: true })).code;
  }

  async leaveGroup(groupId: string): Promise<void> {
    await this.d.request('group_leave', { groupId });
  }

  /** Emits the engine event of a feature push; returns false for pushes of other kinds. */
  onPush(event: PushEvent): boolean {
    switch (event.kind) {
      case 'reaction':
        this.d.emit('message_reaction', event.reaction);
        return true;
      case 'edit':
        this.d.emit('message_edit', event.edit);
        return true;
      case 'revoke':
        this.d.emit('message_revoke', event.revoke);
        return true;
      case 'presence':
        this.d.emit('presence', event.presence);
        return true;
      case 'group_update':
        this.d.emit('group_update', event.update);
        return true;
      default:
        return false;
    }
  }
}
