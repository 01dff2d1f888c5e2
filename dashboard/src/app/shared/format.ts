/** Small display helpers shared by the pages. */

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d.toLocaleString('en-GB', { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function formatDay(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d.toLocaleDateString('en-GB', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });
}

/** A CSS modifier for a session state / phase badge. */
export function badgeClass(value: string | null | undefined): string {
  switch (value) {
    case 'WORKING':
    case 'Running':
      return 'badge ok';
    case 'SCAN_QR_CODE':
    case 'STARTING':
    case 'Provisioning':
    case 'Pending':
      return 'badge warn';
    case 'FAILED':
    case 'Failed':
    case 'Suspended':
      return 'badge bad';
    default:
      return 'badge';
  }
}

export function pretty(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value, null, 2);
}

export function randomKey(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? crypto.randomUUID()
    : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}
