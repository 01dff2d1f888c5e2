/**
 * Realistic, deterministic message fixtures for the benchmarks: one account talking in a few dozen 1:1 chats and
 * some groups, incoming and outgoing, text bodies of 20–200 characters, occasional replies, timestamps spread over
 * the last `spanDays` days (oldest first, like an engine replaying history). Seeded, so every run sees the same data.
 */
import type { Ack, EngineMessage } from '@wacloud/instance/engines/engine';
import { toMessageDoc } from '@wacloud/instance/storage/messages';
import type { MessageDoc } from '@wacloud/instance/storage/store';

/** The benchmark account's own id. */
export const OWN_ID = '15550000000@c.us';

const WORDS = [
  'hello',
  'thanks',
  'meeting',
  'tomorrow',
  'invoice',
  'delivery',
  'order',
  'price',
  'please',
  'call',
  'later',
  'tonight',
  'weekend',
  'photo',
  'address',
  'payment',
  'confirmed',
  'schedule',
  'office',
  'lunch',
  'coffee',
  'ticket',
  'flight',
  'hotel',
  'booking',
  'report',
  'update',
  'question',
  'answer',
  'project',
  'deadline',
  'review',
  'draft',
  'contract',
  'signed',
  'shipping',
  'tracking',
  'number',
  'refund',
  'support',
  'urgent',
  'morning',
  'evening',
  'ok',
  'great',
  'sure',
  'maybe',
  'sorry',
  'welcome',
  'birthday',
  'party',
  'family',
  'school',
  'doctor',
  'appointment',
];

/**
 * Default number of chats. Kept below 100 on purpose: FerretDB v1 (SQLite) never answers an `update` command with
 * 100 or more statements that match existing documents, and the persister upserts every chat of a batch in one
 * `bulkWrite` — with ≥ 100 active chats per batch the ingestion path stalls there (`--chats 220` reproduces it).
 */
export const DEFAULT_CHATS = 60;

/** A word that appears in roughly 1 body out of 10 (see {@link makeMessages}); the text query's needle. */
export const RARE_WORD = 'zebracrossing';

/** A small, fast, seedable PRNG (mulberry32). Returns floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FixtureOptions {
  /** Number of messages. */
  count: number;
  /** Chats in all, about one in ten a group (default {@link DEFAULT_CHATS}). */
  chats?: number;
  /** Time span covered, days, ending now (default 30). */
  spanDays?: number;
  /** PRNG seed (default 42). */
  seed?: number;
  /** Prefix of the message keys, so two fixture sets never share ids (default `B`). */
  keyPrefix?: string;
  /** End of the time span, epoch ms (default now). */
  endMs?: number;
}

export interface Fixtures {
  messages: EngineMessage[];
  /** Chat ids, most active first. */
  chats: string[];
  /** First and last message timestamps, epoch ms. */
  firstMs: number;
  lastMs: number;
}

/**
 * Builds `count` engine messages. Chat activity is skewed (a few busy chats, a long tail): chat k is picked with
 * weight 1/(k+1). About 60 % of messages are incoming, 10 % are replies, ~10 % contain {@link RARE_WORD}.
 */
export function makeMessages(o: FixtureOptions): Fixtures {
  const rand = rng(o.seed ?? 42);
  const allChats = Math.max(2, o.chats ?? DEFAULT_CHATS);
  const groupChats = Math.max(1, Math.round(allChats / 10));
  const userChats = allChats - groupChats;
  const spanMs = (o.spanDays ?? 30) * 86_400_000;
  const endMs = o.endMs ?? Date.now();
  const prefix = o.keyPrefix ?? 'B';

  const users = Array.from({ length: userChats }, (_, i) => `1555${String(1_000_000 + i).padStart(7, '0')}@c.us`);
  const groups = Array.from({ length: groupChats }, (_, i) => `120363${String(40_000_000_000 + i)}@g.us`);
  // Interleave groups among the users so both kinds appear at every activity level.
  const chats: string[] = [];
  for (let i = 0, g = 0; i < users.length; i++) {
    chats.push(users[i]!);
    if (i % Math.max(1, Math.floor(userChats / Math.max(1, groupChats))) === 0 && g < groups.length) chats.push(groups[g++]!);
  }
  for (const g of groups) if (!chats.includes(g)) chats.push(g);
  const participants = new Map(
    groups.map((g, gi) => [g, Array.from({ length: 3 + (gi % 8) }, (_, p) => users[(gi * 7 + p * 13) % users.length]!)]),
  );

  // Cumulative 1/(k+1) weights for a skewed pick.
  const cumulative: number[] = [];
  let total = 0;
  for (let k = 0; k < chats.length; k++) cumulative.push((total += 1 / (k + 1)));
  const pickChat = (): string => {
    const x = rand() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return chats[lo]!;
  };

  const body = (): string => {
    const target = 20 + Math.floor(rand() * 181);
    const parts: string[] = [];
    let len = 0;
    if (rand() < 0.1) {
      parts.push(RARE_WORD);
      len += RARE_WORD.length;
    }
    while (len < target) {
      const w = WORDS[Math.floor(rand() * WORDS.length)]!;
      parts.push(parts.length === 0 ? w[0]!.toUpperCase() + w.slice(1) : w);
      len += w.length + 1;
    }
    // Shuffle the rare word somewhere inside the body, then cut to the target length.
    if (parts[0] === RARE_WORD && parts.length > 1) {
      const j = 1 + Math.floor(rand() * (parts.length - 1));
      [parts[0], parts[j]] = [parts[j]!, parts[0]];
    }
    const text = parts.join(' ');
    return text.length > 200 ? text.slice(0, 200) : text;
  };

  const messages: EngineMessage[] = [];
  const recentByChat = new Map<string, string>();
  const startMs = endMs - spanMs;
  const step = spanMs / Math.max(1, o.count);
  for (let i = 0; i < o.count; i++) {
    const chatId = pickChat();
    const isGroup = chatId.endsWith('@g.us');
    const fromMe = rand() < 0.4;
    const author = fromMe ? OWN_ID : isGroup ? pick(participants.get(chatId)!, rand) : chatId;
    const key = `${prefix}${i.toString(16).toUpperCase().padStart(8, '0')}${Math.floor(rand() * 0xffffffff)
      .toString(16)
      .toUpperCase()
      .padStart(8, '0')}`;
    const id = `${fromMe}_${chatId}_${key}${isGroup && !fromMe ? `_${author}` : ''}`;
    const quoted = recentByChat.get(chatId);
    const timestamp = Math.floor(startMs + i * step + rand() * step);
    messages.push({
      id,
      chatId,
      author,
      fromMe,
      isGroup,
      type: 'chat',
      body: body(),
      timestamp,
      ack: (fromMe ? 1 + Math.floor(rand() * 3) : 1) as Ack,
      quotedMessageId: quoted && rand() < 0.1 ? quoted : undefined,
    });
    recentByChat.set(chatId, id);
  }
  return { messages, chats, firstMs: messages[0]?.timestamp ?? startMs, lastMs: messages[messages.length - 1]?.timestamp ?? endMs };
}

function pick<T>(xs: readonly T[], rand: () => number): T {
  return xs[Math.floor(rand() * xs.length)]!;
}

/** The document the persister stores for `m`: `toMessageDoc` without undefined fields (the persister strips them). */
export function storedDoc(m: EngineMessage): MessageDoc {
  return Object.fromEntries(Object.entries(toMessageDoc(m)).filter(([, v]) => v !== undefined)) as unknown as MessageDoc;
}
