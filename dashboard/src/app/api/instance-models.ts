/**
 * Shapes of the instance API reached through the api's gateway (`/v1/instances/:id/api/...`): session state, login
 * (QR / pairing code), messages and the live event stream. Written by hand: only the api's own shapes are generated
 * (`models.ts`).
 */

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
