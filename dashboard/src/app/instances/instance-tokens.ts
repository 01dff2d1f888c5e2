import { ChangeDetectionStrategy, Component, inject, input, signal, type OnInit } from '@angular/core';
import { RouterLink } from '@angular/router';
import { ApiClient } from '../core/api';
import { toApiError } from '../core/api-error';
import { valueOf } from '../shared/dom';
import { formatDate } from '../shared/format';
import type { CreatedToken, Instance, InstanceToken, Permission } from '../api/models';

export const PERMISSION_LABELS: Record<Permission, string> = { r: 'Read (r)', w: 'Write (w)', rw: 'Read and write (rw)' };

@Component({
  selector: 'app-instance-tokens',
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <nav class="crumbs" aria-label="Breadcrumb">
      <a routerLink="/instances">Instances</a> › <a [routerLink]="['/instances', id()]">{{ instance()?.name ?? id() }}</a> › <span aria-current="page">Access tokens</span>
    </nav>
    <h1>Access tokens</h1>
    <p class="muted">Tokens let your programs call this instance at <code>{{ apiPath() }}</code> with <code>Authorization: Bearer &lt;token&gt;</code>.</p>

    <section class="card" aria-labelledby="new-token-title">
      <h2 id="new-token-title">New token</h2>
      <form class="row" (submit)="$event.preventDefault(); create()">
        <label for="token-name" class="grow">Name
          <input id="token-name" name="name" maxlength="100" required placeholder="e.g. CRM sync" [value]="name()" (input)="name.set(valueOf($event))" />
        </label>
        <label for="token-perm">Permissions
          <select id="token-perm" name="permissions" (change)="permissions.set($any(valueOf($event)))">
            @for (p of perms; track p) { <option [value]="p" [selected]="p === permissions()">{{ labels[p] }}</option> }
          </select>
        </label>
        <button type="submit" class="primary" [disabled]="creating()">{{ creating() ? 'Creating…' : 'Create token' }}</button>
      </form>
      @if (createError()) { <p class="error" role="alert">{{ createError() }}</p> }
      @if (created(); as c) {
        <div class="secret" role="status" data-testid="new-token">
          <p><strong>Copy the token “{{ c.name }}” now</strong> — it is shown only once.</p>
          <div class="row">
            <label class="visually-hidden" [for]="'secret-' + c.id">Token {{ c.name }}</label>
            <input class="grow mono" [id]="'secret-' + c.id" readonly [value]="c.token" data-testid="token-plaintext" (focus)="$any($event.target).select()" />
            <button type="button" (click)="copy(c.token)">{{ copied() ? 'Copied' : 'Copy' }}</button>
            <button type="button" class="link" (click)="created.set(null)">Done</button>
          </div>
        </div>
      }
    </section>

    <section aria-labelledby="tokens-title">
      <h2 id="tokens-title">Tokens</h2>
      @if (loadError(); as e) {
        <p class="error" role="alert">Could not load the tokens: {{ e }} <button type="button" class="link" (click)="load()">Retry</button></p>
      } @else if (tokens() === null) {
        <p class="muted" role="status">Loading tokens…</p>
      } @else if (tokens()!.length === 0) {
        <p class="empty">No tokens yet.</p>
      } @else {
        <ul class="cards" aria-label="Access tokens">
          @for (t of tokens(); track t.id) {
            <li class="card token" [attr.data-token-name]="t.name">
              <div class="instance-head"><strong>{{ t.name }}</strong> <code class="muted">{{ t.id }}</code></div>
              <p class="muted small">Created {{ date(t.createdAt) }} · changed {{ date(t.updatedAt) }}</p>
              <div class="actions">
                <label [for]="'perm-' + t.id">Permissions</label>
                <select [id]="'perm-' + t.id" (change)="setPermissions(t, $any(valueOf($event)))" [disabled]="busyId() === t.id">
                  @for (p of perms; track p) { <option [value]="p" [selected]="p === t.permissions">{{ labels[p] }}</option> }
                </select>
                @if (confirming() === t.id) {
                  <span role="group" [attr.aria-label]="'Confirm deleting token ' + t.name" class="confirm">
                    Delete “{{ t.name }}”? Programs using it stop working.
                    <button type="button" class="danger" (click)="remove(t)" [disabled]="busyId() === t.id">Yes, delete</button>
                    <button type="button" (click)="confirming.set(null)">Cancel</button>
                  </span>
                } @else {
                  <button type="button" class="danger-outline" (click)="confirming.set(t.id)" [attr.aria-label]="'Delete token ' + t.name">Delete</button>
                }
              </div>
            </li>
          }
        </ul>
      }
      @if (actionError()) { <p class="error" role="alert">{{ actionError() }}</p> }
    </section>
  `,
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
  protected readonly labels = PERMISSION_LABELS;
  protected readonly valueOf = valueOf;
  protected readonly date = formatDate;

  apiPath(): string {
    return this.api.url(this.api.gatewayPath(this.id(), '/…'));
  }

  ngOnInit(): void {
    void this.load();
    this.api.instance(this.id()).then((i) => this.instance.set(i), () => undefined);
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
      this.createError.set('Give the token a name.');
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
      this.actionError.set('Copying is not allowed here; select the token and copy it by hand.');
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
      this.actionError.set(`Could not change “${t.name}”: ${toApiError(e).message}`);
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
      this.actionError.set(`Could not delete “${t.name}”: ${toApiError(e).message}`);
    } finally {
      this.busyId.set(null);
    }
  }
}
