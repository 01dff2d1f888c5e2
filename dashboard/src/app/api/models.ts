/**
 * The api's shapes as the components use them, aliased from the types generated out of the api's OpenAPI document
 * (`generated/api/`, written by @hey-api/openapi-ts: `<Op>Data`, `<Op>Responses[status]` per operationId; regenerate with
 * `npm run models -w dashboard`). The instance API reached through the gateway is in `instance-models.ts`.
 */
import type {
  CreateInstanceTokenResponses,
  CreateWsTicketResponses,
  DepositResponses,
  GetInstanceResponses,
  LoginResponses,
  MeResponses,
  PricingResponses,
  TransactionsResponses,
  UpdateInstanceTokenResponses,
} from './generated/api';

/** The signed-in tenant (GET /v1/me). */
export type User = MeResponses[200];
/** POST /v1/auth/login: the access token and the user. */
export type LoginResponse = LoginResponses[200];
/** GET /v1/pricing: the monthly price of one instance. */
export type Pricing = PricingResponses[200];
/** One page of the wallet's transactions (GET /v1/wallet/transactions). */
export type LedgerPage = TransactionsResponses[200];
/** One wallet transaction; amounts in minor currency units. */
export type LedgerEntry = LedgerPage['items'][number];
export type LedgerType = LedgerEntry['type'];
/** POST /v1/wallet/deposits: the ledger entry, the balance after resumptions, the resumed instances. */
export type DepositResult = DepositResponses[201];
/** An instance as the api lists it. */
export type Instance = GetInstanceResponses[200];
/** An instance token without its plaintext. */
export type InstanceToken = UpdateInstanceTokenResponses[200];
/** A new instance token with its plaintext (shown once). */
export type CreatedToken = CreateInstanceTokenResponses[201];
/** r = read only, w = write only, rw = both. */
export type Permission = InstanceToken['permissions'];

/** A single-use ticket for the instance's event stream (POST /v1/instances/{id}/ws-ticket). */
export type WsTicket = CreateWsTicketResponses[201];
