/**
 * The service graph of one qrelay process, as `src/runtime/compose.ts` builds it once from the config
 * and the runtime's adapters, and as the HTTP app (`src/http/app.ts`) mounts it. Types only.
 */
import type { Config } from '../config.ts'
import type { Logger, Random } from '../ports.ts'
import type { AbuseBlocks } from './abuse-blocks.ts'
import type { Metrics } from '../ports/metrics.ts'
import type { AbuseGuard } from './abuse-guard.ts'
import type { AccountEvents } from './account-events.ts'
import type { ApprovalRequests } from './approval-requests.ts'
import type { ApprovalsService } from './approvals.ts'
import type { AuthRecency } from './auth-recency.ts'
import type { AuthServices } from './auth-services.ts'
import type { ChannelTickets } from './channel-tickets.ts'
import type { DeviceActionGuard } from './device-actions.ts'
import type { DeviceGrantsService } from './device-grants.ts'
import type { DeviceLoginService } from './device-login.ts'
import type { DpopProofs } from './dpop-proofs.ts'
import type { NotMeService } from './not-me.ts'
import type { RateLimiter } from './rate-limiter.ts'
import type { RelayService } from './relay.ts'
import type { RendezvousService } from './rendezvous.ts'
import type { Sightings } from './sightings.ts'
import type { TokenInspection } from './token-inspection.ts'
import type { DeviceManagement } from './device-management.ts'
import type { OperatorAccounts } from './operator-accounts.ts'
import type { OperatorKeys } from './operator-keys.ts'

/** The accounts side: present when the runtime gives a durable store. */
export interface AccountServices {
  /** Accounts, sessions, second factors, UIA, the brute-force guard and device trust. */
  auth: AuthServices
  /** The account event feed behind `GET /v1/events` (also one of the security-event sinks). */
  feed: AccountEvents
  /** Operator actions on accounts (CLI, admin API). */
  operator: OperatorAccounts
  /** DPoP proof acceptance, with server nonces when `QRELAY_DPOP_NONCE` is on. */
  dpop: DpopProofs
  grants: DeviceGrantsService
  deviceLogin: DeviceLoginService
  inspection: TokenInspection
  /** `QRELAY_INTROSPECTION_CLIENTS` with hashed secrets (empty: no introspection endpoint). */
  introspectionClients: ReadonlyMap<string, string>
  approvals: ApprovalsService
  approvalRequests: ApprovalRequests
  recency: AuthRecency
  /** Quarantine and recency of actions on the account and its other devices. */
  deviceGuard: DeviceActionGuard
  notMe: NotMeService
  /** The user's sign-outs and renames of the account's devices, each reported (finding 41). */
  devices: DeviceManagement
  /** Draws the QR code (SVG) of a TOTP enrolment URI. */
  totpQrSvg: (uri: string) => string
}

/** Every service of the process. */
export interface Services {
  config: Config
  logger: Logger
  /** Where the services record what they do (no-op unless `QRELAY_METRICS_ENABLED` on Node). */
  metrics: Metrics
  random: Random
  /** Keyed hash standing for bearer values and channel ids in logs. */
  redact: (value: string) => string
  /** Starts timing; the returned function tells the milliseconds since (the access log's `ms`). */
  stopwatch: () => () => number
  /** The ephemeral store's kind and ping, for `/readyz`. */
  readiness: { readonly kind: string; ping(): Promise<void> }
  /** Where requests come from (address, ASN, location when the runtime can tell them). */
  sightings: Sightings
  limiter: RateLimiter
  rendezvous: RendezvousService
  /** The WebSocket relay, when the runtime hosts sockets in this process (Node, a channel object). */
  relay?: RelayService
  /** Abuse counters and automatic denies (absent when QRELAY_ABUSE_ENABLED is off). */
  abuse?: AbuseGuard
  /** The operator's listing of the guard's active blocks (with the guard). */
  abuseBlocks?: AbuseBlocks
  /** Channel tickets, when the runtime gives signing keys. */
  tickets?: ChannelTickets
  /** The operator's actions on those signing keys (list, rotate, retire). */
  keys?: OperatorKeys
  accounts?: AccountServices
}
