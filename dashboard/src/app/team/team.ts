import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { ApiClient } from '../core/api';
import { CurrentUser } from '../core/current-user';
import { toApiError } from '../core/api-error';
import { checkedOf, valueOf } from '../shared/dom';
import { formatDate } from '../shared/format';
import type { Instance, User } from '../api/models';
import { TeamApi, type CreatedInvitation, type Invitation, type Member, type Rights, type Role } from './team-api';

const NO_RIGHTS: Rights = { canRead: false, canWrite: false, canManageChats: false };

/**
 * The Team page: invite members (the link is shown once, to pass on), pending invitations, members with their roles,
 * and each agent's rights per instance. Owners and admins change things; agents see the members only.
 */
@Component({
  selector: 'app-team',
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './team.html',
})
export class Team {
  private readonly team = inject(TeamApi);
  private readonly api = inject(ApiClient);
  private readonly currentUser = inject(CurrentUser);

  readonly me = signal<User | null>(null);
  readonly members = signal<Member[] | null>(null);
  readonly invitations = signal<Invitation[]>([]);
  readonly instances = signal<Instance[]>([]);
  readonly loadError = signal<string | null>(null);
  readonly error = signal<string | null>(null);
  readonly busy = signal(false);

  readonly email = signal('');
  readonly role = signal<Role>('agent');
  readonly created = signal<CreatedInvitation | null>(null);
  readonly inviteError = signal<string | null>(null);

  readonly admin = computed(() => this.me()?.role === 'owner' || this.me()?.role === 'admin');
  readonly owner = computed(() => this.me()?.role === 'owner');
  readonly agents = computed(() => (this.members() ?? []).filter((m) => m.role === 'agent'));
  /** The invitation link to pass on: this dashboard's address of the accept path. */
  readonly link = computed(() => {
    const c = this.created();
    return c ? new URL(c.acceptPath, window.location.origin).toString() : '';
  });
  protected readonly roles: Role[] = ['agent', 'admin', 'owner'];
  protected readonly rightNames: Array<keyof Rights> = ['canRead', 'canWrite', 'canManageChats'];
  protected readonly valueOf = valueOf;
  protected readonly date = formatDate;

  constructor() {
    void this.load();
  }

  roleLabel(r: Role): string {
    switch (r) {
      case 'owner':
        return $localize`:@@team.role.owner:Owner`;
      case 'admin':
        return $localize`:@@team.role.admin:Admin`;
      default:
        return $localize`:@@team.role.agent:Agent`;
    }
  }

  rightLabel(r: keyof Rights): string {
    switch (r) {
      case 'canRead':
        return $localize`:@@team.right.read:Read`;
      case 'canWrite':
        return $localize`:@@team.right.write:Send`;
      default:
        return $localize`:@@team.right.manage:Manage chats`;
    }
  }

  /** The accessible name of one rights checkbox: "Send on sales for ana@example.com". */
  rightAria(r: keyof Rights, instance: Instance, m: Member): string {
    return $localize`:@@team.right.aria:${this.rightLabel(r)}:right: on ${instance.name}:instance: for ${m.email}:member:`;
  }

  rightsOf(m: Member, instanceId: string): Rights {
    return m.rights[instanceId] ?? NO_RIGHTS;
  }

  /** Loads the member's profile (shared with the top bar, {@link CurrentUser}; `fresh`: asked again) and the lists. */
  async load(fresh = false): Promise<void> {
    this.loadError.set(null);
    try {
      // After a change the member's own role may have changed with it (an ownership transfer): ask again.
      const me = await (fresh ? this.currentUser.refresh() : this.currentUser.get());
      this.me.set(me);
      const admin = me.role === 'owner' || me.role === 'admin';
      const [members, invitations, instances] = await Promise.all([
        this.team.members(),
        admin ? this.team.invitations() : Promise.resolve([]),
        this.api.instances(),
      ]);
      this.members.set(members);
      this.invitations.set(invitations);
      this.instances.set(instances);
    } catch (e) {
      this.loadError.set(toApiError(e).message);
    }
  }

  /** Runs a change; its error is shown, the lists are reloaded either way. */
  private async change(fn: () => Promise<unknown>): Promise<void> {
    this.error.set(null);
    this.busy.set(true);
    try {
      await fn();
    } catch (e) {
      this.error.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
      await this.load(true);
    }
  }

  async invite(): Promise<void> {
    this.inviteError.set(null);
    this.created.set(null);
    this.busy.set(true);
    try {
      this.created.set(await this.team.invite(this.email().trim(), this.role()));
      this.email.set('');
      this.invitations.set(await this.team.invitations());
    } catch (e) {
      this.inviteError.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
    }
  }

  async copyLink(): Promise<void> {
    await navigator.clipboard?.writeText(this.link()).catch(() => undefined);
  }

  setRole(m: Member, e: Event): Promise<void> {
    return this.change(() => this.team.setRole(m.id, valueOf(e) as Role));
  }

  setRight(m: Member, instanceId: string, right: keyof Rights, e: Event): Promise<void> {
    const next = { ...this.rightsOf(m, instanceId), [right]: checkedOf(e) };
    return this.change(() => this.team.setRights(m.id, instanceId, next));
  }

  remove(m: Member): Promise<void> {
    const ask = $localize`:@@team.removeConfirm:Remove ${m.email}:member: from the team? Their access ends at once.`;
    if (!window.confirm(ask)) return Promise.resolve();
    return this.change(() => this.team.remove(m.id));
  }

  revoke(i: Invitation): Promise<void> {
    return this.change(() => this.team.revokeInvitation(i.id));
  }
}
