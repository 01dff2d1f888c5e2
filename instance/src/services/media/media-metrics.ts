/** Prometheus metrics of media storage, registered on the instance's registry (`metrics.ts`). */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface MediaMetrics {
  /** `wacloud_media_stored_bytes`: bytes of media files in GridFS. */
  storedBytes: Gauge;
  /** `wacloud_media_quota_bytes`: the configured quota (MEDIA_QUOTA_BYTES). */
  quotaBytes: Gauge;
  /** `wacloud_media_files_total{direction,result}`: files stored (`stored`) or refused (a code). */
  files: Counter<'direction' | 'result'>;
}

export function createMediaMetrics(registry: Registry): MediaMetrics {
  return {
    storedBytes: new Gauge({ name: 'wacloud_media_stored_bytes', help: 'Bytes of media files stored in GridFS', registers: [registry] }),
    quotaBytes: new Gauge({ name: 'wacloud_media_quota_bytes', help: 'Media storage quota of the instance, bytes', registers: [registry] }),
    files: new Counter({
      name: 'wacloud_media_files_total',
      help: 'Media files by direction (out: uploaded or fetched for a send; in: received) and result (stored, or why refused)',
      labelNames: ['direction', 'result'],
      registers: [registry],
    }),
  };
}
