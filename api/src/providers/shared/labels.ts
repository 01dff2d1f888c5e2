/**
 * Labels the api puts on what its providers create (containers, volumes, WhatsAppInstance resources). Only objects
 * carrying `app.kubernetes.io/managed-by: wacloud-api` are ever removed by a provider's reconcile.
 */
import { LABELS } from '@wacloud/crds';

/** Value of `app.kubernetes.io/managed-by` on everything the api's providers create. */
export const MANAGED_BY_API = 'wacloud-api';

/** Label selector (`key=value`) of the objects the api manages. */
export const MANAGED_BY_API_SELECTOR = `${LABELS.MANAGED_BY}=${MANAGED_BY_API}`;

/** The labels every api-created object carries: managed-by `wacloud-api` and the owning tenant. */
export function ownershipLabels(owner: string): Record<string, string> {
  return { [LABELS.MANAGED_BY]: MANAGED_BY_API, [LABELS.OWNER]: owner };
}
