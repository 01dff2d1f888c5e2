/**
 * @wacloud/kit — what every wacloud service is built from: declarative zod-validated routes, the OpenAPI document
 * generated from them, the express application (body limits, coded errors, request logs, metrics), kit's own error
 * codes, the env-config loader with its shared zod pieces, and the logger factory with one redaction list.
 */
export {
  HttpError,
  KIT_ERROR_CATALOGUE,
  KitError,
  errorCatalogue,
  withKitErrors,
  type ErrorEntry,
  type KitErrorCode,
} from './http-error.js';
export {
  defineRoute,
  mountRoutes,
  parseInput,
  type Authenticate,
  type ResponseDef,
  type RouteContext,
  type RouteDef,
  type Scope,
} from './http-route.js';
export { buildOpenApi, errorBodySchema, kitResponses, mergeResponses, toOpenApiPath, type OpenApiOptions } from './openapi.js';
export { methodsByPath, mountMethodNotAllowed } from './method-not-allowed.js';
export { dayWindow, type DayWindow } from './day-window.js';
export { bearer, createApp, type AppOptions, type ResponseLocals } from './http-app.js';
export { clientAddress, withFront, type FrontContext, type FrontOptions, type FrontRoute, type NodeHandler } from './front-route.js';
export { sendError, toHttpError } from './error-render.js';
export { IDLE_KEEP_ALIVE_MS, holdIdleConnections } from './keep-alive.js';
export {
  ConfigError,
  camelCase,
  configVariables,
  loadConfig,
  type CamelCase,
  type CamelCaseKeys,
  type ConfigOf,
  type LoadConfigOptions,
} from './config.js';
export { envBoolean, envDurationMs, envList, envLogLevel, envMongoUri, envPort, envSizeBytes, type LogLevel } from './env.js';
export { REDACT_CENSOR, REDACT_PATHS, createLogger, errorBrief, type Logger, type LoggerOptions } from './logger.js';
export { wholeNumberPattern, wholeNumberQuery } from './query-number.js';
export { LINT_FAILING_DEFAULT_METRICS, collectLintCleanDefaultMetrics } from './metrics.js';
export { resolveFrom, standIn, type RealModule } from './lazy-require.js';
export { SingleFlight, forEachInParallel } from './concurrency.js';
