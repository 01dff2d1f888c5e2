import { ChangeDetectionStrategy, Component, computed, ElementRef, inject, signal, viewChild } from '@angular/core';
import { RouterLink } from '@angular/router';
import { toApiError } from '../core/api-error';
import { formatNumber } from '../shared/format';
import { guessMapping, IMPORT_FIELDS, mappingProblem, type ColumnMapping, type ImportField } from './column-mapping';
import { ContactsApi, mappingBody, type CommitReport, type ImportReport, type ImportUpload } from './contacts.service';
import { problemRows, reportLines } from './import-report';

export type ImportStep = 'upload' | 'map' | 'preview' | 'done';

/** The wizard's steps in order. */
export const IMPORT_STEPS: readonly ImportStep[] = ['upload', 'map', 'preview', 'done'];

/**
 * The contact import wizard (`/contacts/import`), a stepper: upload a CSV file → map its columns to contact fields
 * (guessed from the header, changeable) → the preview report (new, updated, matched to WhatsApp, invalid, duplicate
 * rows; nothing written yet) → commit and the final report. Each step's heading takes the focus when it opens.
 */
@Component({
  selector: 'app-contact-import',
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './contact-import.html',
  styleUrl: './contacts.css',
})
export class ContactImport {
  private readonly contacts = inject(ContactsApi);
  private readonly heading = viewChild<ElementRef<HTMLElement>>('stepHeading');

  readonly step = signal<ImportStep>('upload');
  readonly file = signal<File | null>(null);
  readonly upload = signal<ImportUpload | null>(null);
  readonly mapping = signal<ColumnMapping>([]);
  readonly preview = signal<ImportReport | null>(null);
  readonly result = signal<CommitReport | null>(null);
  readonly error = signal<string | null>(null);
  readonly busy = signal(false);

  readonly problem = computed(() => (this.upload() ? mappingProblem(this.mapping()) : null));
  readonly lines = computed(() => {
    const r = this.result() ?? this.preview();
    return r ? reportLines(r) : [];
  });
  readonly problems = computed(() => {
    const r = this.preview();
    return r ? problemRows(r) : { rows: [], more: 0 };
  });
  protected readonly steps = IMPORT_STEPS;
  protected readonly fields = IMPORT_FIELDS;
  protected readonly num = (n: number) => formatNumber(n);

  stepLabel(s: ImportStep): string {
    switch (s) {
      case 'upload':
        return $localize`:@@contacts.step.upload:Upload`;
      case 'map':
        return $localize`:@@contacts.step.map:Map columns`;
      case 'preview':
        return $localize`:@@contacts.step.preview:Preview`;
      default:
        return $localize`:@@contacts.step.done:Done`;
    }
  }

  fieldLabel(f: ImportField): string {
    switch (f) {
      case 'name':
        return $localize`:@@contacts.field.name:Name`;
      case 'phone':
        return $localize`:@@contacts.field.phone:Phone`;
      case 'email':
        return $localize`:@@contacts.field.email:E-mail`;
      case 'tags':
        return $localize`:@@contacts.field.tags:Tags`;
      case 'company':
        return $localize`:@@contacts.field.company:Company`;
      case 'notes':
        return $localize`:@@contacts.field.notes:Notes`;
      case 'externalId':
        return $localize`:@@contacts.field.externalId:Your customer id`;
      default:
        return $localize`:@@contacts.field.ignore:Do not import`;
    }
  }

  columnLabel(column: string): string {
    return $localize`:@@contacts.columnAria:Field for the column ${column}:column:`;
  }

  isDone(s: ImportStep): boolean {
    return IMPORT_STEPS.indexOf(s) < IMPORT_STEPS.indexOf(this.step());
  }

  private go(s: ImportStep): void {
    this.step.set(s);
    // The new step's heading takes the focus (screen readers announce it; Tab goes on from there).
    queueMicrotask(() => setTimeout(() => this.heading()?.nativeElement.focus()));
  }

  pick(e: Event): void {
    const input = e.target as HTMLInputElement;
    this.file.set(input.files?.[0] ?? null);
    this.error.set(null);
  }

  /** Step 1 → 2: uploads the file and guesses the columns. */
  async send(): Promise<void> {
    const f = this.file();
    if (!f) return;
    await this.run(async () => {
      const up = await this.contacts.upload(f);
      this.upload.set(up);
      this.mapping.set(guessMapping(up.columns, up.sample));
      this.go('map');
    });
  }

  setField(i: number, f: ImportField): void {
    this.mapping.update((m) => m.map((x, j) => (j === i ? f : x)));
  }

  /** Step 2 → 3: the preview report of the mapping. */
  async check(): Promise<void> {
    const up = this.upload();
    if (!up || this.problem()) return;
    await this.run(async () => {
      this.preview.set(await this.contacts.preview(up.id, mappingBody(up.columns, this.mapping())));
      this.go('preview');
    });
  }

  /** Step 3 → 4: imports. */
  async commit(): Promise<void> {
    const up = this.upload();
    if (!up) return;
    await this.run(async () => {
      this.result.set(await this.contacts.commit(up.id, mappingBody(up.columns, this.mapping())));
      this.go('done');
    });
  }

  back(): void {
    const at = IMPORT_STEPS.indexOf(this.step());
    if (at > 0 && this.step() !== 'done') this.go(IMPORT_STEPS[at - 1]!);
  }

  /** Starts again with another file. */
  restart(): void {
    this.file.set(null);
    this.upload.set(null);
    this.mapping.set([]);
    this.preview.set(null);
    this.result.set(null);
    this.go('upload');
  }

  sampleOf(i: number): string {
    return (this.upload()?.sample ?? [])
      .slice(0, 3)
      .map((row) => row[i] ?? '')
      .filter(Boolean)
      .join(' · ');
  }

  private async run(fn: () => Promise<void>): Promise<void> {
    this.busy.set(true);
    this.error.set(null);
    try {
      await fn();
    } catch (e) {
      this.error.set(toApiError(e).message);
    } finally {
      this.busy.set(false);
    }
  }
}
