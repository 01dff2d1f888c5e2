/**
 * The live layer of one api replica (docs/team.md §2): the shared log ({@link LiveLogStore}, the {@link LiveLog}
 * writers use), the members' socket ({@link LiveSockets}, attached to the HTTP server), its ticket route and the
 * retention sweep. `startApi` creates one and hands it to the features that append events.
 */
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { RouteDef } from '@wacloud/kit';
import type { Accounts } from '../accounts.js';
import type { WsTickets } from '../gateway/ws-tickets.js';
import type { ApiStore } from '../store.js';
import type { LiveEventInput, LiveLog } from './live-log.js';
import { LiveLogStore, type LiveEventDoc } from './log-store.js';
import { liveRoutes } from './routes.js';
import { LiveSockets } from './sockets.js';

export interface LiveOptions {
  /** How long events stay resumable, ms (LIVE_RETENTION_MS). */
  retentionMs: number;
  /** How often each replica looks for other replicas' events, ms (LIVE_POLL_MS). */
  pollMs: number;
  /** How often open sockets' sessions and rights are re-checked, ms. */
  checkMs: number;
  logger: Logger;
}

export class Live implements LiveLog {
  readonly log: LiveLogStore;
  #sockets: LiveSockets | undefined;
  readonly #sweep: NodeJS.Timeout;

  constructor(
    store: ApiStore,
    private readonly accounts: Accounts,
    private readonly tickets: WsTickets,
    private readonly o: LiveOptions,
  ) {
    this.log = new LiveLogStore(store.connection.db!.collection<LiveEventDoc>('live_events'), {
      retentionMs: o.retentionMs,
      pollMs: o.pollMs,
      logger: o.logger,
    });
    this.#sweep = setInterval(
      () => void this.log.prune().catch((err: unknown) => o.logger.warn({ err }, 'pruning the live log failed')),
      Math.max(1_000, Math.min(60_000, o.retentionMs / 4)),
    );
    this.#sweep.unref();
  }

  /** Starts tailing the log (from its newest event). */
  start(): Promise<void> {
    return this.log.start();
  }

  /** {@inheritDoc LiveLog.append} */
  append(event: LiveEventInput): Promise<number> {
    return this.log.append(event);
  }

  /** {@inheritDoc LiveLog.appendMany} */
  appendMany(events: LiveEventInput[]): Promise<number[]> {
    return this.log.appendMany(events);
  }

  /** `POST /v1/live/ticket`. */
  routes(): RouteDef[] {
    return liveRoutes(this.tickets);
  }

  /** Serves `GET /v1/live` (WebSocket upgrades) on `server`. */
  attach(server: Server): void {
    this.#sockets = new LiveSockets(server, {
      log: this.log,
      tickets: this.tickets,
      accounts: this.accounts,
      logger: this.o.logger,
      checkMs: this.o.checkMs,
    });
  }

  /** Re-checks open sockets now (members or rights changed). */
  recheck(): Promise<void> {
    return this.#sockets?.recheck() ?? Promise.resolve();
  }

  /** Closes the sockets (1001) and stops tailing. */
  async close(): Promise<void> {
    clearInterval(this.#sweep);
    await this.#sockets?.close();
    await this.log.stop();
  }
}
