/**
 * The contact book's composition (issue 16, docs/team.md §5): collections, matcher, book, tags, favourites, merges,
 * imports and the WhatsApp sync; the routes (`routes.ts`, `routes-import.ts`) take its `services`. `service.ts` creates it once; `subscribe` hooks the sync to the ingest's
 * {@link InstanceEventBus} (pulls after each login), `start` runs the periodic pull.
 */
import type { Logger } from 'pino';
import type { AuditLog } from '../audit.js';
import type { InstanceEventBus } from '../events/instance-events.js';
import type { InstanceClient } from '../instance-client.js';
import type { InstanceService } from '../instances.js';
import type { ApiStore } from '../store.js';
import { ContactBook } from './book.js';
import { ContactFavourites } from './favourites.js';
import { ContactImports } from './imports.js';
import { ContactMatcher } from './matcher.js';
import { ContactMerges } from './merge.js';
import type { RouteDef } from '@wacloud/kit';
import { importRoutes, type ImportRouteDeps } from './routes-import.js';
import { contactRoutes, type ContactRouteDeps } from './routes.js';
import { openContactCollections } from './store.js';
import { ContactSync } from './sync.js';
import { ContactTags } from './tags.js';

/** What the contact routes use (`routes.ts`, `routes-import.ts`). */
export type ContactServices = ContactRouteDeps & ImportRouteDeps;

/** Every contact route over `s` (building them touches no service: the OpenAPI script passes stand-ins). */
export function contactApiRoutes(s: ContactServices): RouteDef[] {
  return [...contactRoutes(s), ...importRoutes(s)];
}

export interface Contacts {
  services: ContactServices;
  sync: ContactSync;
  /** Pulls after each login reported on `bus`. @returns the unsubscribe function. */
  subscribe(bus: InstanceEventBus): () => void;
  /** Starts the periodic pull (every `intervalMs`; 0: never). */
  start(intervalMs: number): void;
  close(): Promise<void>;
}

export async function createContacts(d: {
  store: ApiStore;
  audit: AuditLog;
  instances: InstanceService;
  client: InstanceClient;
  logger: Logger;
}): Promise<Contacts> {
  const collections = await openContactCollections(d.store.connection.db!);
  const matcher = new ContactMatcher(collections);
  const tags = new ContactTags(collections);
  const favourites = new ContactFavourites(collections);
  const book = new ContactBook(d.store, collections, matcher, tags, favourites);
  const merges = new ContactMerges(collections, favourites, d.audit);
  const imports = new ContactImports(collections, book, tags, matcher, d.audit);
  const sync = new ContactSync(d.store, collections, matcher, d.instances, d.client, d.logger);
  return {
    services: { collections, book, merges, favourites, sync, imports, tags },
    sync,
    subscribe: (bus) => sync.subscribe(bus),
    start: (ms) => sync.start(ms),
    close: () => sync.stop(),
  };
}
