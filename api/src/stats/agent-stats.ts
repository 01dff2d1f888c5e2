/**
 * Per-agent figures of the statistics from the append-only `inbox_activity` collection (docs/team.md §3): messages
 * sent (`outbound` rows with a member), conversations resolved (`resolved`), and the median first-response time
 * (`first_response` rows' `ms`). One query over the window (`orgId`, `at` range, the three kinds, optionally one
 * instance; served by the conversations' index `{orgId, at}`), projected to the three fields it needs; the tally is
 * done here.
 */
import type mongoose from 'mongoose';
import type { ActivityDoc } from '../inbox/store.js';

/** A row of `inbox_activity`, as the conversations write it (`inbox/store.ts`). */
export type InboxActivityDoc = ActivityDoc;

/** One member's figures. */
export interface AgentFigures {
  memberId: string;
  sent: number;
  resolved: number;
  /** Median of the member's first-response times in the window, ms (rounded); null without any. */
  medianFirstResponseMs: number | null;
}

/** The median of `values` (the mean of the two middle ones for an even count), rounded to the ms; null when empty. */
export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return Math.round(v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2);
}

/**
 * Figures of every member with activity in `[from, to)` in organisation `orgId` (only on `instanceId` when given),
 * keyed by member id.
 * @throws the driver's error when the database is unreachable.
 */
export async function agentFigures(
  activity: mongoose.mongo.Collection<InboxActivityDoc>,
  orgId: string,
  from: Date,
  to: Date,
  instanceId?: string,
): Promise<Map<string, AgentFigures>> {
  const rows = await activity
    .find(
      {
        orgId,
        at: { $gte: from, $lt: to },
        kind: { $in: ['outbound', 'resolved', 'first_response'] },
        memberId: { $ne: null },
        ...(instanceId ? { instanceId } : {}),
      },
      { projection: { _id: 0, kind: 1, memberId: 1, ms: 1 } },
    )
    .toArray();
  const tally = new Map<string, { sent: number; resolved: number; times: number[] }>();
  for (const r of rows) {
    if (!r.memberId) continue;
    let t = tally.get(r.memberId);
    if (!t) tally.set(r.memberId, (t = { sent: 0, resolved: 0, times: [] }));
    if (r.kind === 'outbound') t.sent++;
    else if (r.kind === 'resolved') t.resolved++;
    else if (r.kind === 'first_response' && typeof r.ms === 'number' && r.ms >= 0) t.times.push(r.ms);
  }
  return new Map(
    [...tally].map(([memberId, t]) => [memberId, { memberId, sent: t.sent, resolved: t.resolved, medianFirstResponseMs: median(t.times) }]),
  );
}
