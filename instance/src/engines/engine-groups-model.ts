/**
 * Group metadata as the engines report it (whatsapp-web.js `GroupChat`: `name` is the subject, `description`,
 * `owner`, `participants` with `isAdmin` / `isSuperAdmin`). Shared by the sync after login (`engine-sync.ts`) and the
 * group admin actions.
 */

/** One member of a group. */
export interface EngineGroupParticipant {
  /** `<digits>@c.us` */
  id: string;
  /** An admin (the creator is also an admin). */
  isAdmin: boolean;
  /** The group's creator (super admin). */
  isSuperAdmin: boolean;
}

/** A group the account is a member of. */
export interface EngineGroup {
  /** `<id>@g.us` */
  id: string;
  /** The group's name (WhatsApp's "subject"). */
  subject: string;
  description?: string | undefined;
  /** The creator's user id, when known. */
  owner?: string | undefined;
  /** Epoch ms of the creation, when known. */
  createdAt?: number | undefined;
  participants: EngineGroupParticipant[];
}
