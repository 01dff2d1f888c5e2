/**
 * The api's team routes for the Team page and the invitation link: members (roles, per-instance rights, removal),
 * invitations (create, list, revoke, accept). Every call resolves to the typed body or rejects with an ApiError.
 */
import { HttpClient } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import { apiCall } from '../core/api-error';
import { RUNTIME_CONFIG } from '../core/config';
import type {
  AcceptInvitationData,
  AcceptInvitationResponses,
  CreateInvitationData,
  CreateInvitationResponses,
  ListInvitationsResponses,
  ListMembersResponses,
  SetMemberRightsData,
  SetMemberRoleResponses,
} from '../api/generated/api';

/** A member of the organisation (GET /v1/members). */
export type Member = ListMembersResponses[200]['items'][number];
export type Role = Member['role'];
/** An agent's rights on one instance. */
export type Rights = SetMemberRightsData['body'];
/** A pending invitation (never its token). */
export type Invitation = ListInvitationsResponses[200]['items'][number];
/** A new invitation, with its token and the dashboard path that accepts it (shown once). */
export type CreatedInvitation = CreateInvitationResponses[201];
export type AcceptedInvitation = AcceptInvitationResponses[200];

@Injectable({ providedIn: 'root' })
export class TeamApi {
  private readonly http = inject(HttpClient);
  private readonly base = inject(RUNTIME_CONFIG).apiBaseUrl;

  private readonly call = apiCall;

  members(): Promise<Member[]> {
    return this.call(this.http.get<ListMembersResponses[200]>(`${this.base}/v1/members`)).then((r) => r.items);
  }
  setRole(memberId: string, role: Role): Promise<Member> {
    return this.call(this.http.patch<SetMemberRoleResponses[200]>(`${this.base}/v1/members/${encodeURIComponent(memberId)}`, { role }));
  }
  setRights(memberId: string, instanceId: string, rights: Rights): Promise<Member> {
    return this.call(
      this.http.put<Member>(`${this.base}/v1/members/${encodeURIComponent(memberId)}/rights/${encodeURIComponent(instanceId)}`, rights),
    );
  }
  remove(memberId: string): Promise<void> {
    return this.call(this.http.delete<void>(`${this.base}/v1/members/${encodeURIComponent(memberId)}`));
  }
  invitations(): Promise<Invitation[]> {
    return this.call(this.http.get<ListInvitationsResponses[200]>(`${this.base}/v1/invitations`)).then((r) => r.items);
  }
  invite(email: string, role: Role): Promise<CreatedInvitation> {
    return this.call(
      this.http.post<CreatedInvitation>(`${this.base}/v1/invitations`, { email, role } satisfies CreateInvitationData['body']),
    );
  }
  revokeInvitation(id: string): Promise<void> {
    return this.call(this.http.delete<void>(`${this.base}/v1/invitations/${encodeURIComponent(id)}`));
  }
  accept(token: string, password: string): Promise<AcceptedInvitation> {
    return this.call(
      this.http.post<AcceptedInvitation>(`${this.base}/v1/invitations/accept`, { token, password } satisfies AcceptInvitationData['body']),
    );
  }
}
