import type { StatusFilter } from './inbox-models';

/** A conversation status (or the "any status" filter) in the dashboard's language. */
export function statusLabel(s: StatusFilter): string {
  switch (s) {
    case 'open':
      return $localize`:Conversation status@@inbox.status.open:Open`;
    case 'pending':
      return $localize`:Conversation status@@inbox.status.pending:Pending`;
    case 'snoozed':
      return $localize`:Conversation status@@inbox.status.snoozed:Snoozed`;
    case 'resolved':
      return $localize`:Conversation status@@inbox.status.resolved:Resolved`;
    default:
      return $localize`:Conversation status filter@@inbox.status.any:Any status`;
  }
}

/** A message's delivery ack as words: -1 error, 0 pending, 1 sent (server), 2 delivered, 3 read, 4 played. */
export function ackLabel(ack: number): string {
  switch (ack) {
    case -1:
      return $localize`:Message delivery state@@inbox.ack.error:Not delivered`;
    case 0:
      return $localize`:Message delivery state@@inbox.ack.pending:Pending`;
    case 1:
      return $localize`:Message delivery state@@inbox.ack.sent:Sent`;
    case 2:
      return $localize`:Message delivery state@@inbox.ack.delivered:Delivered`;
    case 3:
      return $localize`:Message delivery state@@inbox.ack.read:Read`;
    default:
      return $localize`:Message delivery state@@inbox.ack.played:Played`;
  }
}

/** The ack's mark: ✓ sent, ✓✓ delivered, ✓✓ read/played (styled), ! error, … pending. */
export function ackMark(ack: number): string {
  return ack < 0 ? '!' : ack === 0 ? '…' : ack === 1 ? '✓' : '✓✓';
}
