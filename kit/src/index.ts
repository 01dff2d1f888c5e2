/**
 * @wacloud/kit — what every wacloud HTTP service is built from: declarative zod-validated routes, the OpenAPI
 * document generated from them, the express application (body limits, coded errors, request logs, metrics).
 */
export { HttpError, errorCatalogue } from './http-error.js';
export { defineRoute, mountRoutes, parseInput, type Authenticate, type ResponseDef, type RouteContext, type RouteDef, type Scope } from './http-route.js';
export { buildOpenApi, toOpenApiPath, type OpenApiOptions } from './openapi.js';
export { bearer, createApp, type AppOptions } from './http-app.js';
