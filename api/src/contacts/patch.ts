/**
 * How new facts about a person change a contact, as a pure function: the same facts give the same contact whatever
 * order they arrive in. Lists (phones, emails, tags, sources, identities) are unions kept sorted; a name, company,
 * notes and attributes from a member or an import overwrite; WhatsApp only brings identities (their saved names and
 * push names are shown when the contact has no name of its own); an external id is set once (imports upsert by it).
 */
import { randomBytes } from 'node:crypto';
import { displayName, sortedSet } from './normalise.js';
import type { ContactDoc, ContactIdentity, ContactSource } from './store.js';

/** Facts about one person from one source. */
export interface ContactPatch {
  source: ContactSource;
  name?: string | undefined;
  phones?: string[] | undefined;
  emails?: string[] | undefined;
  company?: string | undefined;
  notes?: string | undefined;
  attributes?: Record<string, string> | undefined;
  tags?: string[] | undefined;
  externalId?: string | undefined;
  identity?: ContactIdentity | undefined;
}

/** A new contact id: `ct_` + 24 hex. */
export const newContactId = (): string => 'ct_' + randomBytes(12).toString('hex');

const identityOrder = (a: ContactIdentity, b: ContactIdentity): number =>
  a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : a.waId < b.waId ? -1 : a.waId > b.waId ? 1 : 0;

/** Recomputes the derived fields (instance ids, access, sort name) of `c` in place and returns it. */
export function derive(c: ContactDoc): ContactDoc {
  c.identities.sort(identityOrder);
  c.instanceIds = sortedSet(c.identities.map((i) => i.instanceId));
  c.access = c.instanceIds.length ? c.instanceIds : ['-'];
  c.sortName = displayName(c).toLowerCase();
  return c;
}

/** An empty contact of `orgId` created from `source`. */
export function emptyContact(orgId: string, source: ContactSource, now: Date, id = newContactId()): ContactDoc {
  return {
    _id: id,
    orgId,
    name: null,
    phones: [],
    emails: [],
    company: null,
    notes: null,
    attributes: {},
    tags: [],
    externalId: null,
    sources: [source],
    source,
    identities: [],
    instanceIds: [],
    access: ['-'],
    sortName: '',
    merges: [],
    createdAt: now,
    updatedAt: now,
  };
}

/** Deep equality of stored values (strings, numbers, booleans, null, dates, arrays, plain objects; key order counts). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!;
    if (k !== kb[i] || !sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** The fields a patch may change (what `$set` writes). */
export const MUTABLE_FIELDS = [
  'name',
  'phones',
  'emails',
  'company',
  'notes',
  'attributes',
  'tags',
  'externalId',
  'sources',
  'identities',
  'instanceIds',
  'access',
  'sortName',
] as const;
export type MutableField = (typeof MUTABLE_FIELDS)[number];

/**
 * Applies `p` to a copy of `c`.
 * @returns the new contact and the fields that changed (empty: nothing to write). The identity's `syncedAt` alone is
 *   not a change.
 */
export function applyPatch(c: ContactDoc, p: ContactPatch): { doc: ContactDoc; changed: MutableField[] } {
  const n: ContactDoc = {
    ...c,
    phones: [...c.phones],
    emails: [...c.emails],
    tags: [...c.tags],
    attributes: { ...c.attributes },
    sources: [...c.sources],
    identities: c.identities.map((i) => ({ ...i })),
  };
  if (p.name !== undefined && p.name !== '') n.name = p.name;
  if (p.phones?.length) n.phones = sortedSet([...n.phones, ...p.phones]);
  if (p.emails?.length) n.emails = sortedSet([...n.emails, ...p.emails]);
  if (p.company !== undefined && p.company !== '') n.company = p.company;
  if (p.notes !== undefined && p.notes !== '') n.notes = p.notes;
  if (p.attributes) for (const [k, v] of Object.entries(p.attributes)) if (v !== '') n.attributes[k] = v;
  if (p.tags?.length) n.tags = sortedSet([...n.tags, ...p.tags]);
  if (p.externalId && !n.externalId) n.externalId = p.externalId;
  if (!n.sources.includes(p.source)) n.sources = sortedSet([...n.sources, p.source]);
  if (p.identity) {
    const id = p.identity;
    const at = n.identities.findIndex((i) => i.instanceId === id.instanceId && i.waId === id.waId);
    const clean: ContactIdentity = { instanceId: id.instanceId, waId: id.waId, syncedAt: id.syncedAt };
    if (id.name) clean.name = id.name;
    if (id.pushname) clean.pushname = id.pushname;
    if (id.phone) clean.phone = id.phone;
    if (at < 0) n.identities.push(clean);
    else {
      const { syncedAt: _a, ...was } = n.identities[at]!;
      const { syncedAt: _b, ...now } = clean;
      n.identities[at] = sameJson(was, now) ? n.identities[at]! : clean;
    }
    if (id.phone && !n.phones.includes(id.phone)) n.phones = sortedSet([...n.phones, id.phone]);
  }
  derive(n);
  const changed = MUTABLE_FIELDS.filter((f) => !sameJson(c[f], n[f]));
  return { doc: n, changed };
}

/** `$set` of the changed fields of `doc` (with `updatedAt`). */
export function setOf(doc: ContactDoc, changed: readonly MutableField[], now: Date): Partial<ContactDoc> {
  const set: Record<string, unknown> = { updatedAt: now };
  for (const f of changed) set[f] = doc[f];
  return set as Partial<ContactDoc>;
}

/** The `contact_keys` ids a contact owns: its phones and its WhatsApp ids. */
export function keysOf(c: Pick<ContactDoc, 'orgId' | 'phones' | 'identities'>): string[] {
  return [...c.phones.map((p) => `${c.orgId}|p|${p}`), ...c.identities.map((i) => `${c.orgId}|w|${i.waId}`)];
}
