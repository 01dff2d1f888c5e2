/** How engine failures surface to API clients: as coded errors of the instance's catalogue. */
import { AppError, type ErrorCode } from '../errors.js';
import { EngineError, EngineNotReadyError } from '../engines/engine.js';

/** Engine error codes that are also the API's (see `errors.ts`): they reach the client as they are. */
const PASSED_THROUGH: ReadonlySet<string> = new Set([
  'chat_not_found',
  'number_not_on_whatsapp',
  'message_not_found',
  'message_revoked',
  'not_own_message',
  'edit_window_passed',
  'group_not_found',
  'not_group_admin',
  'not_a_participant',
  'cannot_change_owner',
  'invalid_request',
]);

/**
 * Runs an engine call and maps its failures: not logged in → `session_not_ready` (409); not ready *yet* (the engine's
 * `retryAfterMs`, e.g. a screenshot while the session starts) → `session_not_ready` (409) asking to retry, with
 * `details: { sessionState, retryAfterS }` (whole seconds ≥ 1; kit's `sendError` sends it as Retry-After);
 * the codes of {@link PASSED_THROUGH} are kept; any other engine code → `engine_error` (502) with `details.engineCode`.
 * @throws AppError as above; other errors pass through unchanged.
 */
export async function callEngine<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof EngineNotReadyError && err.retryAfterMs !== undefined) {
      const retryAfterS = Math.max(1, Math.ceil(err.retryAfterMs / 1000));
      throw new AppError(
        'session_not_ready',
        `The WhatsApp session is ${err.sessionState} and cannot do this yet; retry in ${retryAfterS} s.`,
        {
          sessionState: err.sessionState,
          retryAfterS,
        },
      );
    }
    if (err instanceof EngineNotReadyError)
      throw new AppError('session_not_ready', `The WhatsApp session is ${err.sessionState}; log in with POST /v1/session/login first.`);
    if (err instanceof EngineError) {
      if (PASSED_THROUGH.has(err.code)) throw new AppError(err.code as ErrorCode, err.message);
      throw new AppError('engine_error', err.message, { engineCode: err.code });
    }
    throw err;
  }
}
