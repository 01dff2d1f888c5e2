/**
 * Others' typing / recording indicators on the webjs engine. whatsapp-web.js has no event for them
 * (wwebjs/whatsapp-web.js#3372), so after every `ready` this module listens on WhatsApp Web's own presence collection
 * through whatsapp-web.js' public `client.pupPage`, the way whatsapp-web.js listens on `Msg` / `Chat`:
 * - a page binding ({@link PRESENCE_BINDING}, exposed once per page like whatsapp-web.js' `exposeFunctionIfAbsent`;
 *   puppeteer keeps it across reloads) carries `{ chatId, participant, type }` to Node;
 * - {@link installPresenceListener} (run in the page, again after each reload: it marks `window` so it never installs
 *   twice in one document) listens on `WAWebCollections.Presence` for `change:chatstate.type` and reports each
 *   participant whose chatstate type changed (a 1:1 chat's `chatstate`, a group's `chatstates`, whose own `add` /
 *   `change:type` it also listens to);
 * - WhatsApp only sends indicators of subscribed presences, so it subscribes (`Presence.find(wid)` →
 *   `presence.subscribe()`) the {@link PRESENCE_SUBSCRIBE_INITIAL} most recent chats at ready, then every chat that is
 *   added to `WAWebCollections.Chat` or gets a new message; at most {@link PRESENCE_SUBSCRIBE_MAX} per page.
 * WhatsApp Web's `typing` → `typing`, `recording` → `recording`; `available` / `unavailable` / none after an
 * indicator → `paused` (cleared). The module names and model fields used are listed in the instance README: only a
 * live WhatsApp account can prove them.
 */
import type { ChatState, EngineEvents } from '../engine.js';
import type { WebjsClient as WClient } from './client.js';
import { widString } from './mapping.js';

/** Name of the page binding (a `window` function) that carries chatstate changes to Node. */
export const PRESENCE_BINDING = '__wacloudOnChatstate';
/** Chats (most recent first) whose presence is subscribed at ready. */
export const PRESENCE_SUBSCRIBE_INITIAL = 50;
/** Presences subscribed per page at most (new chats beyond it are not subscribed). */
export const PRESENCE_SUBSCRIBE_MAX = 500;

/** What the page reports: WhatsApp Web's chatstate `type` of `participant` in `chatId` (serialized wids). */
export interface PageChatstate {
  chatId: string;
  participant: string;
  type: string | null;
}

/** The reporter of the client currently wired to each page (see {@link wirePresence}). */
const reporters = new WeakMap<object, (c: PageChatstate) => void>();

type Guard = <A extends unknown[]>(name: string, fn: (...args: A) => void | Promise<void>) => (...args: A) => void;
type Emit = <K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]) => void;

/** A chatstate type as an engine {@link ChatState}: undefined for a type that shows no indicator. */
export function toChatState(type: string | null | undefined): ChatState | undefined {
  if (type === 'typing' || type === 'composing') return 'typing';
  if (type === 'recording' || type === 'recording_audio') return 'recording';
  return undefined;
}

/**
 * Listens for others' indicators on `client` after each `ready` and emits them as `presence` events. Emits
 * `paused` only for a participant whose last reported indicator was typing / recording.
 */
export function wirePresence(client: WClient, guard: Guard, emit: Emit): void {
  /** Last indicator per `chatId participant` (bounded by the page's subscriptions). */
  const shown = new Map<string, ChatState>();
  const report = guard(PRESENCE_BINDING, (c: PageChatstate) => {
    const chatId = widString(c.chatId);
    const participant = widString(c.participant);
    if (!chatId || !participant) return;
    const key = `${chatId} ${participant}`;
    const state = toChatState(c.type) ?? (shown.has(key) ? 'paused' : undefined);
    if (!state || shown.get(key) === state) return;
    if (state === 'paused') shown.delete(key);
    else shown.set(key, state);
    emit('presence', { chatId, participant, state, timestamp: Date.now() });
  });
  client.on(
    'ready',
    guard('presence listener', async () => {
      const page = client.pupPage;
      if (!page) return;
      shown.clear();
      // The binding outlives reloads (and a client reusing the page): it calls the page's current reporter only.
      reporters.set(page, report);
      const exposed = await page.evaluate((name) => typeof (globalThis as Record<string, unknown>)[name] === 'function', PRESENCE_BINDING);
      if (!exposed) await page.exposeFunction(PRESENCE_BINDING, (c: PageChatstate) => reporters.get(page)?.(c));
      await page.evaluate(installPresenceListener, PRESENCE_BINDING, PRESENCE_SUBSCRIBE_INITIAL, PRESENCE_SUBSCRIBE_MAX);
    }),
  );
}

/* eslint-disable @typescript-eslint/no-explicit-any -- runs in WhatsApp Web's page, on its untyped internals */
/**
 * Runs in the page (serialized by `page.evaluate`: self-contained). Installs the chatstate listener and the
 * subscriptions once per document; resolves with whether it installed (false: already there).
 */
export async function installPresenceListener(binding: string, initial: number, max: number): Promise<boolean> {
  const w = globalThis as any;
  if (w.__wacloudPresenceInstalled) return false;
  w.__wacloudPresenceInstalled = true;
  const { Presence, Chat, Msg } = w.require('WAWebCollections');
  const { createWid } = w.require('WAWebWidFactory');
  const str = (wid: any): string => (typeof wid === 'string' ? wid : (wid?._serialized ?? String(wid ?? '')));
  /** Last type reported per `chat participant`, so a group's unchanged participants are not reported again. */
  const last = new Map<string, string | null>();
  const tell = (chatId: string, participant: string, type: string | null) => {
    const key = `${chatId} ${participant}`;
    if ((last.get(key) ?? null) === (type ?? null)) return;
    last.set(key, type ?? null);
    // Never throw into WhatsApp Web's event dispatch.
    Promise.resolve()
      .then(() => w[binding]({ chatId, participant, type: type ?? null }))
      .catch(() => undefined);
  };
  Presence.on('change:chatstate.type', (chatstate: any) => {
    try {
      const presence = Presence.getModelsArray().find((p: any) => p.chatstate === chatstate);
      if (!presence) return;
      const chatId = str(presence.id);
      if (presence.isGroup) {
        for (const cs of presence.chatstates?.getModelsArray?.() ?? []) tell(chatId, str(cs.id), cs.type);
      } else {
        tell(chatId, chatId, chatstate.type);
      }
    } catch {
      // A shape this code does not know: nothing to report.
    }
  });
  const subscribed = new Set<string>();
  const subscribe = (id: any) => {
    const chatId = str(id);
    if (!chatId || subscribed.has(chatId) || subscribed.size >= max || chatId.endsWith('@broadcast') || chatId.endsWith('@newsletter'))
      return;
    subscribed.add(chatId);
    Promise.resolve(Presence.find(createWid(chatId)))
      .then((p: any) => {
        // A group's participants each have a chatstate: report theirs too (the group's own may not change).
        if (p?.isGroup && typeof p.chatstates?.on === 'function') {
          p.chatstates.on('add change:type', (cs: any) => tell(chatId, str(cs?.id), cs?.type));
        }
        return p?.subscribe?.();
      })
      .catch(() => subscribed.delete(chatId));
  };
  const recent = [...Chat.getModelsArray()].sort((a: any, b: any) => (b.t ?? 0) - (a.t ?? 0)).slice(0, initial);
  for (const chat of recent) subscribe(chat.id);
  Chat.on('add', (chat: any) => subscribe(chat.id));
  Msg.on('add', (msg: any) => {
    if (msg?.isNewMsg) subscribe(msg.id?.remote);
  });
  return true;
}
/* eslint-enable @typescript-eslint/no-explicit-any */
