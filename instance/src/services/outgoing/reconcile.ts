/**
 * After an interrupted send — the process killed between the engine call and the `sent` write, or the engine call
 * ending without an answer (connection lost, timeout) — the message may or may not have reached WhatsApp, and sending
 * is not idempotent. Before sending again, the chat's recent history is searched for it.
 *
 * A copy is a message of the chat from this account with the same content (`content.ts`: type and text or caption), timestamped at most {@link SLACK_MS} before
 * the attempt started (WhatsApp's timestamps are whole seconds), that no other queued message was sent as. The oldest
 * such copy wins. What this cannot tell apart (see docs/architecture.md): the same text sent to the same chat from the
 * phone in that window counts as ours (ours is then not sent: a loss), and a message WhatsApp took but had not yet put
 * in the history the engine reads is sent again (a duplicate).
 */
import type { Engine, EngineMessage } from '../../engines/engine.js';
import { claimedMessageIds } from '../../storage/outgoing.js';
import { isCopyOf } from './content.js';
import type { OutgoingDoc, Store } from '../../storage/store.js';

/** How far before the attempt a copy's timestamp may be, ms. */
export const SLACK_MS = 2_000;
/** History messages looked at per chat. */
export const HISTORY_LIMIT = 50;

/**
 * The message an interrupted send of `doc` produced, or undefined when the chat's history has none.
 * @throws what {@link Engine.messagesSince} throws, except `chat_not_found` (no chat: nothing was sent).
 */
export async function findSentCopy(engine: Engine, store: Store, doc: OutgoingDoc): Promise<EngineMessage | undefined> {
  const since = (doc.sendingAt ?? doc.createdAt).getTime() - SLACK_MS;
  let history: EngineMessage[];
  try {
    history = await engine.messagesSince(doc.chatId, since, HISTORY_LIMIT);
  } catch (err) {
    if ((err as { code?: string }).code === 'chat_not_found') return undefined;
    throw err;
  }
  const candidates = history.filter((m) => m.fromMe && isCopyOf(m, doc) && m.timestamp >= since);
  const claimed = await claimedMessageIds(
    store,
    candidates.map((m) => m.id),
    doc._id,
  );
  return candidates.sort((a, b) => a.timestamp - b.timestamp).find((m) => !claimed.has(m.id));
}
