import { ChangeDetectionStrategy, Component, computed, inject, input, signal } from '@angular/core';
import { ApiClient, type Exchange } from '../core/api';
import { valueOf } from '../shared/dom';
import { formatDate, pretty } from '../shared/format';
import type { MessageView } from '../api/instance-models';
import { buildRequest, METHODS, methodById, type MethodId } from './tester-requests';

const BOOL_LABELS: Record<string, [string, string]> = {
  fromMe: ['Sent by me', 'Received'],
  isGroup: ['Only groups', 'Only 1:1'],
};

/** Calls any instance method through the gateway and shows the request and the response. */
@Component({
  selector: 'app-method-tester',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <section class="card" aria-labelledby="tester-title">
      <h2 id="tester-title">API tester</h2>
      <p class="muted small">Calls the instance's API through the gateway with your session. Programs use an access token instead.</p>
      <div class="tabs" role="tablist" aria-label="Instance methods">
        @for (m of methods; track m.id) {
          <button type="button" role="tab" [id]="'tab-' + m.id" [attr.aria-selected]="m.id === methodId()" [attr.aria-controls]="'tester-panel'" [class.active]="m.id === methodId()" (click)="select(m.id)">
            {{ m.label }}
          </button>
        }
      </div>
      <form id="tester-panel" role="tabpanel" [attr.aria-labelledby]="'tab-' + methodId()" (submit)="$event.preventDefault(); send()">
        <p class="endpoint"><span class="verb">{{ def().http }}</span> <code>{{ def().path }}</code> <span class="muted small">needs {{ def().permission === 'any' ? 'any token' : '“' + def().permission + '”' }}</span></p>
        <div class="grid">
          @for (f of def().fields; track f.key) {
            <div class="field" [class.wide]="f.kind === 'textarea'">
              <label [for]="'f-' + def().id + '-' + f.key">{{ f.label }}@if (f.required) {<span aria-hidden="true"> *</span>}</label>
              @switch (f.kind) {
                @case ('textarea') {
                  <textarea [id]="'f-' + def().id + '-' + f.key" [name]="f.key" rows="3" [required]="!!f.required" [value]="field(f.key)" (input)="set(f.key, valueOf($event))"></textarea>
                }
                @case ('bool') {
                  <select [id]="'f-' + def().id + '-' + f.key" [name]="f.key" (change)="set(f.key, valueOf($event))">
                    <option value="" [selected]="field(f.key) === ''">Any</option>
                    <option value="true" [selected]="field(f.key) === 'true'">{{ boolLabel(f.key, 0) }}</option>
                    <option value="false" [selected]="field(f.key) === 'false'">{{ boolLabel(f.key, 1) }}</option>
                  </select>
                }
                @case ('datetime') {
                  <input type="datetime-local" step="1" [id]="'f-' + def().id + '-' + f.key" [name]="f.key" [value]="field(f.key)" (input)="set(f.key, valueOf($event))" />
                }
                @case ('number') {
                  <input type="number" min="1" max="500" [id]="'f-' + def().id + '-' + f.key" [name]="f.key" [placeholder]="f.placeholder ?? ''" [value]="field(f.key)" (input)="set(f.key, valueOf($event))" />
                }
                @default {
                  <input type="text" [id]="'f-' + def().id + '-' + f.key" [name]="f.key" [placeholder]="f.placeholder ?? ''" [required]="!!f.required" [value]="field(f.key)" (input)="set(f.key, valueOf($event))" />
                }
              }
            </div>
          }
        </div>
        @if (formError()) { <p class="error" role="alert">{{ formError() }}</p> }
        <button type="submit" class="primary" [disabled]="busy()">{{ busy() ? 'Sending…' : 'Send request' }}</button>
      </form>

      @if (exchange(); as x) {
        <div class="exchange" aria-live="polite">
          <div>
            <h3>Request</h3>
            <pre data-testid="tester-request"><code>{{ x.request.method }} {{ x.request.path }}@if (x.request.body !== undefined) {

{{ pretty(x.request.body) }}}</code></pre>
          </div>
          <div>
            <h3>Response <span [class]="x.response.ok ? 'badge ok' : 'badge bad'" data-testid="tester-status">{{ x.response.status || 'no response' }}</span> <span class="muted small">{{ x.response.durationMs }} ms</span></h3>
            @if (messages(); as list) {
              @if (list.length === 0) {
                <p class="empty small">No messages match.</p>
              } @else {
                <ul class="messages" aria-label="Messages found" data-testid="tester-messages">
                  @for (m of list; track m.id) {
                    <li [class.mine]="m.fromMe">
                      <span class="muted small">{{ m.fromMe ? 'to' : 'from' }} {{ m.chatId }} · {{ date(m.timestamp) }} · ack {{ m.ack }}</span>
                      <span class="body">{{ m.body }}</span>
                    </li>
                  }
                </ul>
              }
            }
            <pre data-testid="tester-response"><code>{{ pretty(x.response.body) }}</code></pre>
          </div>
        </div>
      }
    </section>
  `,
})
export class MethodTester {
  private readonly api = inject(ApiClient);
  readonly instanceId = input.required<string>();

  protected readonly methods = METHODS;
  readonly methodId = signal<MethodId>('sendMessage');
  readonly def = computed(() => methodById(this.methodId()));
  /** Field values per method, kept when switching tabs. */
  readonly values = signal<Partial<Record<MethodId, Record<string, string>>>>({});
  readonly busy = signal(false);
  readonly formError = signal<string | null>(null);
  readonly exchange = signal<Exchange | null>(null);
  readonly exchangeMethod = signal<MethodId | null>(null);

  /** A message list response, shown as a list above the JSON. */
  readonly messages = computed<MessageView[] | null>(() => {
    const x = this.exchange();
    if (!x || !x.response.ok || this.exchangeMethod() !== 'listMessages') return null;
    const items = (x.response.body as { items?: unknown } | null)?.items;
    return Array.isArray(items) ? (items as MessageView[]) : null;
  });

  protected readonly valueOf = valueOf;
  protected readonly pretty = pretty;
  protected readonly date = formatDate;

  select(id: MethodId): void {
    this.methodId.set(id);
    this.formError.set(null);
  }

  field(key: string): string {
    return this.values()[this.methodId()]?.[key] ?? '';
  }

  set(key: string, value: string): void {
    const id = this.methodId();
    this.values.update((all) => ({ ...all, [id]: { ...(all[id] ?? {}), [key]: value } }));
  }

  boolLabel(key: string, i: 0 | 1): string {
    return BOOL_LABELS[key]?.[i] ?? (i === 0 ? 'Yes' : 'No');
  }

  async send(): Promise<void> {
    const def = this.def();
    const built = buildRequest(def, this.values()[def.id] ?? {});
    if ('error' in built) {
      this.formError.set(built.error);
      return;
    }
    this.formError.set(null);
    this.busy.set(true);
    try {
      this.exchange.set(await this.api.exchange(this.instanceId(), built.method, built.path, built.body));
      this.exchangeMethod.set(def.id);
    } catch (e) {
      this.formError.set(e instanceof Error ? e.message : String(e));
    } finally {
      this.busy.set(false);
    }
  }
}
