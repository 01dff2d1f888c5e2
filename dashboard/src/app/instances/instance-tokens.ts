import { ChangeDetectionStrategy, Component, inject, input, signal, type OnInit } from '@angular/core';
import { RouterLink } from '@angular/router';
import { ApiClient } from '../core/api';
import { toApiError } from '../core/api-error';
import { valueOf } from '../shared/dom';
import { formatDate } from '../shared/format';
import type { CreatedToken, Instance, InstanceToken, Permission } from '../api/models';

import { permissionLabel } from '../shared/labels';

@Component({
  selector: 'app-instance-tokens',
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './instance-tokens.html',
})
export class InstanceTokens implements OnInit {
  private readonly api = inject(ApiClient);
  readonly id = input.required<string>();

  readonly instance = signal<Instance | null>(null);
  readonly tokens = signal<InstanceToken[] | null>(null);
  readonly loadError = signal<string | null>(null);
  readonly name = signal('');
  readonly permissions = signal<Permission>('r');
  readonly creating = signal(false);
  readonly createError = signal<string | null>(null);
  readonly created = signal<CreatedToken | null>(null);
  readonly copied = signal(false);
  readonly confirming = signal<string | null>(null);
  readonly busyId = signal<string | null>(null);
  readonly actionError = signal<string | null>(null);

  protected readonly perms: Permission[] = ['r', 'w', 'rw'];
  protected readonly label = permissionLabel;
  protected readonly valueOf = valueOf;
  protected readonly date = formatDate;

  deleteLabel(name: string): string {
    return $localize`:Accessible name of a token's delete button@@tokens.deleteLabel:Delete token ${name}:name:`;
  }
  confirmLabel(name: string): string {
    return $localize`:@@tokens.confirmLabel:Confirm deleting token ${name}:name:`;
  }

  apiPath(): string {
    return this.api.url(this.api.gatewayPath(this.id(), '/…'));
  }

  ngOnInit(): void {
    void this.load();
    this.api.instance(this.id()).then(
      (i) => this.instance.set(i),
      () => undefined,
    );
  }

  async load(): Promise<void> {
    this.loadError.set(null);
    try {
      this.tokens.set(await this.api.tokens(this.id()));
    } catch (e) {
      this.loadError.set(toApiError(e).message);
    }
  }

  async create(): Promise<void> {
    const name = this.name().trim();
    if (!name) {
      this.createError.set($localize`:@@tokens.nameMissing:Give the token a name.`);
      return;
    }
    this.creating.set(true);
    this.createError.set(null);
    this.copied.set(false);
    try {
      const c = await this.api.createToken(this.id(), name, this.permissions());
      this.created.set(c);
      const { token: _secret, ...view } = c;
      this.tokens.update((list) => [...(list ?? []), view]);
      this.name.set('');
    } catch (e) {
      this.createError.set(toApiError(e).message);
    } finally {
      this.creating.set(false);
    }
  }

  async copy(text: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(text);
      this.copied.set(true);
    } catch {
      this.copied.set(false);
      this.actionError.set($localize`:@@tokens.copyDenied:Copying is not allowed here; select the token and copy it by hand.`);
    }
  }

  async setPermissions(t: InstanceToken, permissions: Permission): Promise<void> {
    if (permissions === t.permissions) return;
    this.busyId.set(t.id);
    this.actionError.set(null);
    try {
      const updated = await this.api.updateToken(this.id(), t.id, permissions);
      this.tokens.update((list) => (list ?? []).map((x) => (x.id === t.id ? updated : x)));
    } catch (e) {
      this.actionError.set($localize`:@@tokens.changeError:Could not change “${t.name}:name:”: ${toApiError(e).message}:error:`);
      this.tokens.update((list) => (list ?? []).map((x) => (x.id === t.id ? { ...x } : x)));
    } finally {
      this.busyId.set(null);
    }
  }

  async remove(t: InstanceToken): Promise<void> {
    this.busyId.set(t.id);
    this.actionError.set(null);
    try {
      await this.api.deleteToken(this.id(), t.id);
      this.tokens.update((list) => (list ?? []).filter((x) => x.id !== t.id));
      this.confirming.set(null);
    } catch (e) {
      this.actionError.set($localize`:@@tokens.deleteError:Could not delete “${t.name}:name:”: ${toApiError(e).message}:error:`);
    } finally {
      this.busyId.set(null);
    }
  }
}
