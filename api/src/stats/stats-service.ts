/**
 * The organisation's statistics (`GET /v1/stats`): sessions, chats, messages in / out per UTC day (from the instances,
 * asked in parallel; one that does not answer is flagged `available: false` and counts nothing), per-instance totals,
 * and per-member figures from `inbox_activity` (`agent-stats.ts`).
 */
import { dayWindow } from '@wacloud/kit';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import type { InstanceEndpoints } from '../providers/index.js';
import type { ApiStore } from '../store.js';
import { agentFigures, type InboxActivityDoc } from './agent-stats.js';
import { instanceCounts } from './instance-counts.js';

/** One instance's line. */
export interface InstanceLine {
  id: string;
  name: string;
  /** Its WhatsApp session's state as it reported it; null when it did not answer. */
  state: string | null;
  /** Whether it answered (a stopped, suspended, starting or unreachable instance did not: its counts are 0). */
  available: boolean;
  chats: number;
  in: number;
  out: number;
}

/** One member's line. */
export interface AgentLine {
  memberId: string;
  /** The member's email; null for a member no longer in the organisation. */
  name: string | null;
  sent: number;
  resolved: number;
  medianFirstResponseMs: number | null;
}

/** The answer of `GET /v1/stats`. */
export interface StatsView {
  from: string;
  to: string;
  sessions: { total: number; working: number };
  chats: number;
  days: Array<{ date: string; in: number; out: number }>;
  instances: InstanceLine[];
  agents: AgentLine[];
}

export class StatsService {
  private readonly activity;

  /** @param endpoints the provider's endpoints of an instance (no waiting for a starting one). */
  constructor(
    private readonly store: ApiStore,
    private readonly endpoints: (id: string) => Promise<InstanceEndpoints>,
    private readonly log: Logger,
  ) {
    this.activity = store.connection.db!.collection<InboxActivityDoc>('inbox_activity');
  }

  /**
   * The statistics of organisation `orgId` for the `days` UTC days ending today; with `instanceId`, of that
   * instance only.
   * @throws AppError `instance_not_found` for an instance not of the organisation (or being deleted).
   */
  async get(orgId: string, days: number, instanceId?: string, now = new Date()): Promise<StatsView> {
    const w = dayWindow(days, now);
    const docs = await this.store.instances
      .find({ userId: orgId, deletedAt: null, deletingAt: null })
      .sort({ createdAt: 1, _id: 1 })
      .toArray();
    const chosen = instanceId ? docs.filter((d) => d._id === instanceId) : docs;
    if (instanceId && chosen.length === 0) throw new AppError('instance_not_found');
    const [counts, figures, members] = await Promise.all([
      Promise.all(chosen.map((d) => instanceCounts(d, days, this.endpoints, this.log))),
      agentFigures(this.activity, orgId, w.from, w.to, instanceId),
      this.store.members.find({ orgId }).sort({ createdAt: 1, _id: 1 }).toArray(),
    ]);
    const byDay = new Map(w.dates.map((date) => [date, { date, in: 0, out: 0 }]));
    const instances: InstanceLine[] = chosen.map((d, i) => {
      const c = counts[i];
      const line: InstanceLine = { id: d._id, name: d.name, state: c?.state ?? null, available: !!c, chats: c?.chats ?? 0, in: 0, out: 0 };
      for (const day of c?.days ?? []) {
        const row = byDay.get(day.date);
        if (!row) continue; // a day outside the api's window (clocks on either side of midnight)
        row.in += day.in;
        row.out += day.out;
        line.in += day.in;
        line.out += day.out;
      }
      return line;
    });
    const agents: AgentLine[] = members.map((m) => ({
      memberId: m._id,
      name: m.email,
      ...(figures.get(m._id) ?? { sent: 0, resolved: 0, medianFirstResponseMs: null }),
    }));
    for (const [memberId, f] of figures) if (!members.some((m) => m._id === memberId)) agents.push({ ...f, name: null });
    return {
      from: w.from.toISOString(),
      to: w.to.toISOString(),
      sessions: { total: instances.length, working: instances.filter((l) => l.state === 'WORKING').length },
      chats: instances.reduce((n, l) => n + l.chats, 0),
      days: [...byDay.values()],
      instances,
      agents,
    };
  }
}
