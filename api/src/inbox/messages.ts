/**
 * A conversation's messages, read from and sent through its instance's public API with the gateway's own credential
 * (`instance-client.ts`): reads as the platform, sends naming the member (`x-wacloud-member`, `gateway/member-access.ts`)
 * so the instance records `sentBy.member` — believed only from the gateway's token. A credential the instance refuses
 * (401) is replaced once and the call repeated.
 */
import type { Logger } from 'pino';
import type { AuthContext } from '../accounts.js';
import { AppError } from '../errors.js';
import type { InstanceClient } from '../instance-client.js';
import type { InstanceService } from '../instances.js';
import { MEMBER_HEADER, memberHeader } from '../gateway/member-access.js';
import type { ConversationDoc } from './store.js';

const TIMEOUT_MS = 15_000;

export class ConversationMessages {
  constructor(
    private readonly instances: Pick<InstanceService, 'endpoints'>,
    private readonly client: Pick<InstanceClient, 'gatewayCredential' | 'gatewayRefused'>,
    private readonly log?: Logger,
  ) {}

  /**
   * One call of instance `c.instanceId`'s public API with the gateway's credential.
   * @throws AppError `instance_unavailable`, `upstream_error`, and the instance's refusals (see {@link refusal}).
   */
  private async call<T>(
    c: ConversationDoc,
    method: string,
    p: string,
    body?: unknown,
    member?: string,
  ): Promise<{ status: number; body: T }> {
    const ep = await this.instances.endpoints(c.instanceId, c.orgId);
    for (let attempt = 0; ; attempt++) {
      const cred = await this.client.gatewayCredential(c.instanceId, ep);
      let res: Response;
      let text: string;
      try {
        res = await fetch(ep.publicUrl + p, {
          method,
          headers: {
            authorization: `Bearer ${cred.token}`,
            ...(member ? { [MEMBER_HEADER]: member } : {}),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        text = await res.text();
      } catch (err) {
        this.log?.warn({ err, instance: c.instanceId, path: p }, 'the instance did not answer');
        throw new AppError('instance_unavailable');
      }
      if (res.status === 401 && attempt === 0) {
        await this.client.gatewayRefused(c.instanceId, cred);
        continue;
      }
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        throw new AppError('upstream_error', 'The instance answered with something that is not JSON.');
      }
      if (res.status >= 500) {
        this.log?.warn({ instance: c.instanceId, path: p, status: res.status, body: text.slice(0, 500) }, 'the instance failed');
        throw new AppError('upstream_error', `The instance answered ${res.status}; retry shortly.`);
      }
      if (res.status >= 400) throw refusal(res.status, parsed);
      return { status: res.status, body: parsed as T };
    }
  }

  /**
   * A page of conversation `c`'s messages, newest first, each with `sentBy` when sent through the API.
   * @throws AppError `invalid_cursor` and the errors of {@link call}.
   */
  list(c: ConversationDoc, cursor: string | undefined, limit: number): Promise<{ items: unknown[]; nextCursor: string | null }> {
    const q = new URLSearchParams({ chatId: c.chatId, limit: String(limit), ...(cursor ? { cursor } : {}) });
    return this.call<{ items: unknown[]; nextCursor: string | null }>(c, 'GET', `/v1/messages?${q}`).then((r) => r.body);
  }

  /**
   * Queues `text` (a reply quoting `replyTo`, a message of the same chat) into conversation `c`, sent as member `auth`.
   * @returns the instance's queued message (`out_…` id, status, sentBy).
   * @throws AppError `session_not_ready` (409), `message_not_found` (422: `replyTo` unknown or of another chat), and those of {@link call}.
   */
  async send(auth: AuthContext, c: ConversationDoc, text: string, replyTo?: string): Promise<unknown> {
    if (replyTo) {
      // Only a message of this conversation's chat can be quoted (the id could name another chat's message).
      const quoted = await this.call<{ chatId?: string }>(c, 'GET', `/v1/messages/${encodeURIComponent(replyTo)}`).catch((err: unknown) => {
        if (err instanceof AppError && err.code === 'message_not_found') return { status: 404, body: { chatId: undefined } };
        throw err;
      });
      if (quoted.body.chatId !== c.chatId) throw new AppError('message_not_found', 'replyTo is not a message of this conversation.');
    }
    const body = { to: c.chatId, text, ...(replyTo ? { quotedMessageId: replyTo } : {}) };
    return (await this.call(c, 'POST', '/v1/messages', body, memberHeader(auth))).body;
  }
}

/** The api's error for a 4xx answer of the instance. */
function refusal(status: number, body: unknown): AppError {
  const e = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  if (e?.code === 'invalid_cursor') return new AppError('invalid_cursor');
  if (e?.code === 'session_not_ready' || status === 409) return new AppError('session_not_ready');
  if (status === 404 || status === 422) return new AppError('message_not_found', e?.message ?? 'The instance refused the message.');
  return new AppError('upstream_error', `The instance refused the request (${status}).`);
}
