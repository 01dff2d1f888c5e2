/** How engine failures surface to API clients: as coded errors of the instance's catalogue. */
import { AppError } from '../errors.js';
import { EngineError, EngineNotReadyError } from '../engines/engine.js';

/**
 * Runs an engine call and maps its failures: not logged in → `session_not_ready` (409); `chat_not_found` and
 * `number_not_on_whatsapp` keep their codes; any other engine code → `engine_error` (502) with `details.engineCode`.
 * @throws AppError as above; other errors pass through unchanged.
 */
export async function callEngine<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof EngineNotReadyError)
      throw new AppError('session_not_ready', `The WhatsApp session is ${err.sessionState}; log in with POST /v1/session/login first.`);
    if (err instanceof EngineError) {
      if (err.code === 'chat_not_found' || err.code === 'number_not_on_whatsapp') throw new AppError(err.code, err.message);
      throw new AppError('engine_error', err.message, { engineCode: err.code });
    }
    throw err;
  }
}
