/**
 * The api's statistics route for the Overview page (`GET /v1/stats`, owners and admins). Resolves to the typed body or
 * rejects with an ApiError (403 `role_required` for agents).
 */
import { HttpClient } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import { apiCall } from '../core/api-error';
import { RUNTIME_CONFIG } from '../core/config';
import type { GetStatsResponses } from '../api/generated/api';

/** The statistics of the organisation or one instance. */
export type Stats = GetStatsResponses[200];
/** One UTC day's messages in and out. */
export type DayCount = Stats['days'][number];
export type InstanceLine = Stats['instances'][number];
export type AgentLine = Stats['agents'][number];

@Injectable({ providedIn: 'root' })
export class StatsApi {
  private readonly http = inject(HttpClient);
  private readonly base = inject(RUNTIME_CONFIG).apiBaseUrl;

  /** The last `days` UTC days (1–90); with `instanceId`, that instance only. */
  get(days: number, instanceId?: string): Promise<Stats> {
    const params: Record<string, string> = { days: String(days) };
    if (instanceId) params['instanceId'] = instanceId;
    return apiCall(this.http.get<Stats>(`${this.base}/v1/stats`, { params }));
  }
}
