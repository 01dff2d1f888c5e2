import { ChangeDetectionStrategy, Component, computed, inject, input, signal } from '@angular/core';
import { ApiClient, type Exchange } from '../core/api';
import { valueOf } from '../shared/dom';
import { pretty } from '../shared/format';
import type { MessageView } from '../api/instance-models';
import { buildRequest, methods, methodById, type MethodId } from './tester-requests';
import { messageMeta } from './message-meta';

/** Calls any instance method through the gateway and shows the request and the response. */
@Component({
  selector: 'app-method-tester',
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './method-tester.html',
})
export class MethodTester {
  private readonly api = inject(ApiClient);
  readonly instanceId = input.required<string>();

  protected readonly methods = methods();
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
  protected readonly messageMeta = messageMeta;

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
    switch (key) {
      case 'fromMe':
        return i === 0
          ? $localize`:Message direction filter@@tester.sentByMe:Sent by me`
          : $localize`:Message direction filter@@tester.received:Received`;
      case 'isGroup':
        return i === 0
          ? $localize`:Chat kind filter@@tester.onlyGroups:Only groups`
          : $localize`:Chat kind filter@@tester.onlyDirect:Only 1:1`;
      default:
        return i === 0 ? $localize`:@@common.yes:Yes` : $localize`:@@common.no:No`;
    }
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
