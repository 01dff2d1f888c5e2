/**
 * A stand-in of WhatsApp Web's internals in a REAL page of the system Chromium, for the code the webjs engine injects
 * through whatsapp-web.js' `client.pupPage` (`src/engines/webjs/presence.ts`). Only WhatsApp Web's modules are
 * stood in: `window.require('WAWebCollections')` gives Backbone-style collections (`Chat`, `Msg`, `Presence`:
 * `on('add' | 'change:…')`, `get`, `find` (a promise, creating the model), `getModelsArray`) and
 * `window.require('WAWebWidFactory').createWid`. Modelled on WhatsApp Web's shapes as whatsapp-web.js and wa-js read
 * them: a `PresenceModel` has `id`, `isGroup`, `isUser`, `isSubscribed`, `subscribe()`, a `chatstate`
 * (`ChatstateModel`: `id`, `type` = typing / recording / available / unavailable / null, `t`) and, for a group,
 * `chatstates` (one `ChatstateModel` per participant); a change of a chatstate's `type` is re-triggered by the
 * presence and its collection as `change:chatstate.type` (the chatstate as first argument). Like WhatsApp, an
 * indicator reaches only presences the page subscribed.
 *
 * One Chromium per test file ({@link sharedBrowser}, closed by {@link closeSharedBrowser}), one page per world.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { chromiumPath, eventually } from '@wacloud/testenv';
import { closeBrowser, launchChromium } from '../../../src/engines/webjs/browser.js';

let shared: { browser: Promise<Browser>; dir: string } | undefined;

/** The test file's Chromium (launched at the first call). */
export function sharedBrowser(): Promise<Browser> {
  if (!shared) {
    const dir = mkdtempSync(path.join(tmpdir(), 'wacloud-waweb-'));
    shared = { dir, browser: launchChromium({ executablePath: chromiumPath(), userDataDir: dir }) };
  }
  return shared.browser;
}

/** Closes the test file's Chromium (no-op when none was launched). */
export async function closeSharedBrowser(): Promise<void> {
  const s = shared;
  shared = undefined;
  if (!s) return;
  await closeBrowser(await s.browser);
  rmSync(s.dir, { recursive: true, force: true });
}

/** One WhatsApp Web page stand-in; operations on it run in order. */
export class StandInWaWeb {
  #ops: Promise<unknown> = Promise.resolve();

  private constructor(readonly page: Page) {}

  /** A new page of the shared browser (load it with {@link load}). */
  static async open(): Promise<StandInWaWeb> {
    return new StandInWaWeb(await (await sharedBrowser()).newPage());
  }

  /**
   * (Re)loads WhatsApp Web as a new browser would: a new document (no listener, no subscription of an earlier one;
   * puppeteer's exposed functions stay) with the stand-in modules and the account's chats `chatIds`.
   */
  async load(chatIds: string[]): Promise<void> {
    await this.#run(async () => {
      await this.page.goto('about:blank');
      await this.page.evaluate(installWaWebStandIn);
      for (const id of [...chatIds].reverse()) await this.page.evaluate((c) => (globalThis as any).__standIn.addChat(c), id);
    });
  }

  /** A chat appears in WhatsApp Web's `Chat` collection (a new 1:1 chat, a group the account is in). */
  addChat(chatId: string): void {
    this.#run(() => this.page.evaluate((id) => (globalThis as any).__standIn.addChat(id), chatId));
  }

  /** Whether WhatsApp Web subscribed the presence of `chatId`. */
  subscribed(chatId: string): Promise<boolean> {
    return this.#run(() => this.page.evaluate((id) => (globalThis as any).__standIn.subscribed(id) as boolean, chatId));
  }

  /**
   * `participant` shows chatstate `type` in `chatId`: once the page subscribed that chat's presence (WhatsApp sends
   * indicators only then), within `timeoutMs`. @throws when the page never subscribed it.
   */
  async peerShows(chatId: string, participant: string, type: string | null, timeoutMs = 10_000): Promise<void> {
    await eventually(() => this.subscribed(chatId), timeoutMs, 50);
    await this.#run(() => this.page.evaluate((c, p, t) => (globalThis as any).__standIn.chatstate(c, p, t), chatId, participant, type));
  }

  async close(): Promise<void> {
    await this.#ops.catch(() => undefined);
    await this.page.close().catch(() => undefined);
  }

  #run<T>(op: () => Promise<T>): Promise<T> {
    const r = this.#ops.then(op);
    this.#ops = r.catch(() => undefined);
    return r;
  }
}

/** Runs in the page (self-contained): defines `window.require` with the stand-in modules and `window.__standIn`. */
function installWaWebStandIn(): void {
  const w = globalThis as any;
  class Events {
    #on = new Map<string, Array<(...a: any[]) => void>>();
    on(names: string, fn: (...a: any[]) => void): this {
      for (const n of names.split(/\s+/)) this.#on.set(n, [...(this.#on.get(n) ?? []), fn]);
      return this;
    }
    trigger(name: string, ...args: any[]): void {
      for (const fn of this.#on.get(name) ?? []) fn(...args);
      for (const fn of this.#on.get('all') ?? []) fn(name, ...args);
    }
  }
  class Model extends Events {
    id: any;
    constructor(attrs: Record<string, any>) {
      super();
      Object.assign(this, attrs);
    }
    set(key: string, value: any): void {
      const prev = (this as any)[key];
      if (prev === value) return;
      (this as any)[key] = value;
      this.trigger(`change:${key}`, this, value, prev);
      this.trigger('change', this);
    }
  }
  class Collection<M extends Model> extends Events {
    #models = new Map<string, M>();
    constructor(private readonly make: (id: any) => M) {
      super();
    }
    add(model: M): M {
      this.#models.set(model.id._serialized, model);
      model.on('all', (name: string, ...args: any[]) => this.trigger(name, ...args));
      this.trigger('add', model, this);
      return model;
    }
    get(id: any): M | undefined {
      return this.#models.get(typeof id === 'string' ? id : id?._serialized);
    }
    async find(id: any): Promise<M> {
      return this.get(id) ?? this.add(this.make(id));
    }
    getModelsArray(): M[] {
      return [...this.#models.values()];
    }
  }
  const createWid = (id: string) => {
    const [user, server] = id.split('@');
    return { user, server, _serialized: id, toString: () => id, isGroup: () => server === 'g.us' };
  };
  class Chatstate extends Model {
    type: string | null = null;
  }
  class PresenceModel extends Model {
    isSubscribed = false;
    hasData = false;
    chatstate = new Chatstate({ id: this.id });
    chatstates = new Collection<Chatstate>((id) => new Chatstate({ id }));
    get isGroup(): boolean {
      return this.id.server === 'g.us';
    }
    get isUser(): boolean {
      return this.id.server === 'c.us';
    }
    constructor(id: any) {
      super({ id });
      this.chatstate.id = id;
      this.chatstate.on('change:type', (cs: Chatstate, v: any, prev: any) => this.trigger('change:chatstate.type', cs, v, prev));
    }
    async subscribe(): Promise<void> {
      this.isSubscribed = true;
    }
  }
  const Presence = new Collection<PresenceModel>((id) => new PresenceModel(id));
  const Chat = new Collection<Model>((id) => new Model({ id }));
  const Msg = new Collection<Model>((id) => new Model({ id }));
  const modules: Record<string, unknown> = { WAWebCollections: { Presence, Chat, Msg }, WAWebWidFactory: { createWid } };
  w.require = (name: string) => {
    if (!(name in modules)) throw new Error(`stand-in has no module ${name}`);
    return modules[name];
  };
  w.__standIn = {
    addChat: (id: string) => {
      if (!Chat.get(id)) Chat.add(new Model({ id: createWid(id), t: Math.floor(Date.now() / 1000) }));
    },
    subscribed: (id: string) => Boolean(Presence.get(id)?.isSubscribed),
    /** WhatsApp delivers a chatstate: the participant's model in a group's `chatstates`, then the presence's own. */
    chatstate: (chatId: string, participant: string, type: string | null) => {
      const p = Presence.get(chatId);
      if (!p?.isSubscribed) return false;
      p.hasData = true;
      if (p.isGroup) {
        const cs = p.chatstates.get(participant) ?? p.chatstates.add(new Chatstate({ id: createWid(participant) }));
        cs.set('type', type);
      }
      p.chatstate.set('t', Math.floor(Date.now() / 1000));
      p.chatstate.set('type', type);
      return true;
    },
  };
}
