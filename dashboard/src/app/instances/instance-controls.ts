import { HttpClient } from '@angular/common/http';
import { ChangeDetectionStrategy, Component, computed, inject, input, output, signal } from '@angular/core';
import { firstValueFrom } from 'rxjs';
import { toApiError } from '../core/api-error';
import { RUNTIME_CONFIG } from '../core/config';
import type { Instance } from '../api/models';
import type { StopInstanceResponses } from '../api/generated/api';

/** A tenant's session control action (`POST /v1/instances/:id/<action>`). */
export type ControlAction = 'stop' | 'start' | 'restart';

/**
 * Stop / Start / Restart buttons of one instance, with their states: Start while its tenant stopped it (phase
 * `Stopped`), Stop and Restart otherwise, none while billing suspends it (a top-up resumes it). Emits the instance as
 * the api shows it after the action.
 */
@Component({
  selector: 'app-instance-controls',
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './instance-controls.html',
})
export class InstanceControls {
  private readonly http = inject(HttpClient);
  private readonly base = inject(RUNTIME_CONFIG).apiBaseUrl;

  readonly instance = input.required<Instance>();
  readonly changed = output<Instance>();

  /** The action in flight, if any. */
  readonly busy = signal<ControlAction | null>(null);
  readonly error = signal<string | null>(null);

  readonly stopped = computed(() => this.instance().stopped);
  readonly suspended = computed(() => this.instance().suspended);

  /** Runs `action` on the instance; failures show as a message next to the buttons. */
  async run(action: ControlAction): Promise<void> {
    const i = this.instance();
    this.busy.set(action);
    this.error.set(null);
    try {
      const url = `${this.base}/v1/instances/${encodeURIComponent(i.id)}/${action}`;
      this.changed.emit(await firstValueFrom(this.http.post<StopInstanceResponses[200]>(url, null)));
    } catch (e) {
      const message = toApiError(e).message;
      this.error.set(
        action === 'stop'
          ? $localize`:@@instanceControls.stopFailed:Could not stop “${i.name}:name:”: ${message}:message:`
          : action === 'start'
            ? $localize`:@@instanceControls.startFailed:Could not start “${i.name}:name:”: ${message}:message:`
            : $localize`:@@instanceControls.restartFailed:Could not restart “${i.name}:name:”: ${message}:message:`,
      );
    } finally {
      this.busy.set(null);
    }
  }
}
