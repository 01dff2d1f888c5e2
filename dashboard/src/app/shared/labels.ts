/**
 * Translated names of the api's enumerations (instance phases, session states, ledger types, token permissions).
 * Functions, not constants: `$localize` must run after the translations are loaded (see core/i18n/load.ts).
 * An unknown value (a newer api) is shown as it came.
 */

/** An instance's phase (`Running`, …) in the dashboard's language. */
export function phaseLabel(phase: string | null | undefined): string {
  switch (phase) {
    case 'Pending':
      return $localize`:Instance phase@@phase.pending:Pending`;
    case 'Provisioning':
      return $localize`:Instance phase@@phase.provisioning:Provisioning`;
    case 'Running':
      return $localize`:Instance phase@@phase.running:Running`;
    case 'Suspended':
      return $localize`:Instance phase@@phase.suspended:Suspended`;
    case 'Stopped':
      return $localize`:Instance phase@@phase.stopped:Stopped`;
    case 'Failed':
      return $localize`:Instance phase@@phase.failed:Failed`;
    case 'Terminating':
      return $localize`:Instance phase@@phase.terminating:Terminating`;
    case null:
    case undefined:
      return $localize`:Unknown state@@state.unknown:unknown`;
    default:
      return phase;
  }
}

/** A WhatsApp session state (`WORKING`, …) in the dashboard's language. */
export function sessionLabel(state: string | null | undefined): string {
  switch (state) {
    case 'STOPPED':
      return $localize`:WhatsApp session state@@session.stopped:Stopped`;
    case 'STARTING':
      return $localize`:WhatsApp session state@@session.starting:Starting`;
    case 'SCAN_QR_CODE':
      return $localize`:WhatsApp session state@@session.scanQr:Waiting for the QR scan`;
    case 'AUTHENTICATING':
      return $localize`:WhatsApp session state (the phone linked the device, WhatsApp is loading)@@session.authenticating:Authenticating`;
    case 'WORKING':
      return $localize`:WhatsApp session state@@session.working:Working`;
    case 'DISCONNECTED':
      return $localize`:WhatsApp session state (the connection was lost, reconnecting by itself)@@session.disconnected:Disconnected, reconnecting`;
    case 'FAILED':
      return $localize`:WhatsApp session state@@session.failed:Failed`;
    case null:
    case undefined:
      return $localize`:Unknown state@@state.unknown:unknown`;
    default:
      return state;
  }
}

/** A wallet transaction type in the dashboard's language. */
export function ledgerTypeLabel(type: string): string {
  switch (type) {
    case 'deposit':
      return $localize`:Wallet transaction type@@ledger.deposit:Deposit`;
    case 'charge':
      return $localize`:Wallet transaction type@@ledger.charge:Charge`;
    case 'refund':
      return $localize`:Wallet transaction type@@ledger.refund:Refund`;
    default:
      return type;
  }
}

/** An instance token's permissions (`r`, `w`, `rw`) in the dashboard's language, the code in brackets. */
export function permissionLabel(p: string): string {
  switch (p) {
    case 'r':
      return $localize`:Token permission@@perm.r:Read (r)`;
    case 'w':
      return $localize`:Token permission@@perm.w:Write (w)`;
    case 'rw':
      return $localize`:Token permission@@perm.rw:Read and write (rw)`;
    default:
      return p;
  }
}
