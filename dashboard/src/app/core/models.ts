/** Shapes of the api (api/src/schemas.ts) and of the instance API reached through the gateway (instance/src/http-schemas.ts). */

export interface User {
  id: string;
  email: string;
  balanceMinor: number;
  currency: string;
  createdAt: string;
}

export interface LoginResponse {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  user: User;
}

export interface Pricing {
  monthlyPriceMinor: number;
  currency: string;
  period: 'P1M';
  billing: string;
}

export type LedgerType = 'deposit' | 'charge' | 'refund';

export interface LedgerEntry {
  id: string;
  type: LedgerType;
  amountMinor: number;
  balanceAfterMinor: number;
  instanceId?: string;
  period?: { start: string; end: string };
  memo: string;
  createdAt: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Instance {
  id: string;
  name: string;
  engine: 'webjs' | 'simulated';
  provider: string;
  createdAt: string;
  paidUntil: string;
  suspended: boolean;
  suspendedAt: string | null;
  phase: string;
  sessionState: string | null;
  message?: string;
}

export type Permission = 'r' | 'w' | 'rw';

export interface InstanceToken {
  id: string;
  name: string;
  permissions: Permission;
  createdAt: string;
  updatedAt: string;
}

export interface CreatedToken extends InstanceToken {
  token: string;
}

export type SessionState = 'STOPPED' | 'STARTING' | 'SCAN_QR_CODE' | 'WORKING' | 'FAILED';

export interface SessionStatus {
  state: SessionState;
  reason?: string;
  account?: { id: string; phone: string; pushname?: string };
}

export interface LoginView extends SessionStatus {
  qr?: string;
  qrImage?: string;
  pairingCode?: string;
}

export interface MessageView {
  id: string;
  chatId: string;
  author: string;
  fromMe: boolean;
  isGroup: boolean;
  type: string;
  body: string;
  timestamp: string;
  ack: number;
  quotedMessageId?: string;
  sentBy?: { tokenId: string; tokenName: string };
}

/** A frame of the live event stream. */
export type LiveEvent =
  | { event: 'session.status'; data: SessionStatus; timestamp: number }
  | { event: 'qr'; data: { qr: string; image: string }; timestamp: number }
  | { event: 'pairing_code'; data: { code: string }; timestamp: number }
  | { event: 'message'; data: MessageView; timestamp: number }
  | { event: 'message.ack'; data: { id: string; chatId: string; ack: number }; timestamp: number };
