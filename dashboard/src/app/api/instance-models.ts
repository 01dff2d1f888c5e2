/**
 * Shapes of the instance API reached through the api's gateway (`/v1/instances/:id/api/...`): session state, login
 * (QR / pairing code), messages and the live event stream. Aliased from the types generated out of the instance's
 * public OpenAPI document (`generated/instance/`, `<Op>Responses[status]` per operationId; regenerate with
 * `npm run models -w dashboard`). The api's own shapes are in `models.ts`.
 */
import type { ListMessagesResponses, LoginResponses, LogoutResponses } from './generated/instance';

/** POST /v1/session/logout: the session state after logout (also the `session.status` event's data). */
export type SessionStatus = LogoutResponses[200];
export type SessionState = SessionStatus['state'];
/** POST /v1/session/login: the session state with the QR (raw and PNG data URL) or the pairing code. */
export type LoginView = LoginResponses[200];
/** A stored message as the instance shows it (timestamp ISO 8601); GET /v1/messages/out_… shows a queued one instead. */
export type MessageView = ListMessagesResponses[200]['items'][number];

/**
 * A frame of the live event stream (WebSocket `/v1/events`, `{event, data, timestamp}` with timestamp in epoch ms).
 * Written by hand: the OpenAPI document describes HTTP operations only, not WebSocket frames; the data of each
 * event reuses the generated shapes above where it has one.
 */
export type LiveEvent =
  | { event: 'session.status'; data: SessionStatus; timestamp: number }
  | { event: 'qr'; data: { qr: string; image: string }; timestamp: number }
  | { event: 'pairing_code'; data: { code: string }; timestamp: number }
  | { event: 'message'; data: MessageView; timestamp: number }
  | { event: 'message.ack'; data: { id: string; chatId: string; ack: number }; timestamp: number };
