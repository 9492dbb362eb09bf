/**
 * The one composition root every runtime shares: builds each service exactly once from the config and
 * the runtime's adapters (stores, clock, randomness, logger, keys, locator, event sinks). Node
 * (`node-server.ts`), Workers (`workers.ts`, and `workers-relay.ts` inside a channel object) and the
 * tests (`test/helpers/make-app.ts`) differ only in the adapters they pass. Runtime-neutral: no
 * `node:` imports, no I/O of its own. Even the list of common passwords is an adapter: Node and the
 * tests pass the built-in one (`COMMON_PASSWORDS`), the Worker the same list read from its assets.
 */
import { renderQrSvg } from '../adapters/qr/svg.ts'
import type { Config } from '../config.ts'
import type { PlatformProofCheck } from '../services/dpop-platform.ts'
import type { CommonPasswords } from '../core/auth/password-rules.ts'
import type { SealingKeyring } from '../core/crypto/sealed-secret.ts'
import type { ChannelIdKeys, HmacSha256 } from '../core/rendezvous/channel-id.ts'
import type { TextSha256 } from '../core/rendezvous/channel.ts'
import { maxFrameBytes } from '../core/relay/ws-protocol.ts'
import type {
  ChannelEvents,
  Clock,
  DurableStore,
  EphemeralStore,
  Logger,
  NetworkLocator,
  Random,
  Scheduler,
  SecurityEvents,
} from '../ports.ts'
import { abuseBlocks } from '../services/abuse-blocks.ts'
import { NO_METRICS, type Metrics } from '../ports/metrics.ts'
import { abuseGuardFor, type AbuseGuard } from '../services/abuse-guard.ts'
import { accountEvents, fanOutSecurityEvents, type AccountEvents, type AccountEventsLimits } from '../services/account-events.ts'
import { approvalRequests } from '../services/approval-requests.ts'
import { approvalPolicyOf, approvalsService } from '../services/approvals.ts'
import { authRecency } from '../services/auth-recency.ts'
import { authServices } from '../services/auth-services.ts'
import type { Metering } from '../services/metering.ts'
import { channelTickets } from '../services/channel-tickets.ts'
import { deviceActionGuard } from '../services/device-actions.ts'
import { deviceGrantsService, type DeviceGrantsService } from '../services/device-grants.ts'
import { deviceLoginService } from '../services/device-login.ts'
import { dpopProofs } from '../services/dpop-proofs.ts'
import { deviceManagement } from '../services/device-management.ts'
import { notMeService } from '../services/not-me.ts'
import { trustedNetworkVouch } from '../services/not-me-vouch.ts'
import { operatorAccounts } from '../services/operator-accounts.ts'
import { operatorKeys } from '../services/operator-keys.ts'
import { rateLimiter, type RateLimiter } from '../services/rate-limiter.ts'
import { relayService, type RelayService } from '../services/relay.ts'
import { rendezvousService, type RendezvousService } from '../services/rendezvous.ts'
import type { AccountServices, Services } from '../services/services.ts'
import type { SigningKeys } from '../services/signing-keys.ts'
import { sightings } from '../services/sightings.ts'
import { hashedClients, tokenInspection } from '../services/token-inspection.ts'

/** The accounts side's adapters; without them the account and OAuth endpoints do not exist. */
export interface AccountPorts {
  /** Accounts, devices and tokens. */
  durable: DurableStore
  /** Key of the UIA request binding and of the DPoP nonces. */
  uiaKey: Uint8Array
  /** Seals second-factor secrets at rest. */
  keyring: SealingKeyring
  /** Where security events go besides the account feed (webhook outbox, a test recorder). */
  securityEventSinks?: SecurityEvents[]
  /** Limits of the account feed (tests shorten its re-check). */
  feedLimits?: Partial<AccountEventsLimits>
  /** The common passwords a new password must not be: the built-in `COMMON_PASSWORDS` (the Worker reads it from its assets). */
  commonPasswords: CommonPasswords
}

/** What a runtime hands {@link compose}. */
export interface ComposePorts {
  store: EphemeralStore
  clock: Clock
  random: Random
  logger: Logger
  /** Keyed hash standing for bearer values and channel ids in logs. */
  redact: (value: string) => string
  /** Channel events (pub/sub of channel writes); needed by the relay. */
  channelEvents?: ChannelEvents
  /** Channel-id keys (configured or shared); default: a random key of this process. */
  channelIdKeys?: ChannelIdKeys | (() => Promise<ChannelIdKeys>)
  /** Native hashes, byte for byte the portable defaults: the HMAC tagging channel ids, the SHA-256 of write tokens. */
  hmacSha256?: HmacSha256
  textSha256?: TextSha256
  /** The platform's DPoP proof check (`platformProofCheck`); default: the portable one (jose on Web Crypto). */
  proofCheck?: PlatformProofCheck
  /** With `channelEvents`, builds the WebSocket relay on these timers. */
  scheduler?: Scheduler
  /** Channel-ticket signing keys; without them native channels carry no ticket. */
  signingKeys?: SigningKeys
  locator?: NetworkLocator
  /** Build the abuse guard (per QRELAY_ABUSE_*); default true. */
  abuseGuard?: boolean
  accounts?: AccountPorts
  /** Where the services record what they do, with its decorators (Node: `meteringOf(metrics)`); default: nowhere. */
  metering?: Metering
  /**
   * A request may wake another one waiting in this process (Node). Not on Workers, where a request
   * cannot carry on another's I/O: a held token poll there only re-reads its grant, a held
   * `GET /v1/events` its feed. Default false.
   */
  wakesAcrossRequests?: boolean
  /**
   * Shares the feed's and the grants' changes with the other processes (Node on Redis:
   * `sharedAcrossProcesses`): a change stored by one process wakes the token polls and `GET /v1/events`
   * reads held on the others. Default: none (a held poll sees another process's change at its re-read).
   */
  shareChanges?: (feed: AccountEvents, grants: DeviceGrantsService) => { feed: AccountEvents; grants: DeviceGrantsService }
}

/** The ports with their stores timed when metrics are kept (as they are otherwise: no cost at all). */
const meteredPorts = (ports: ComposePorts): ComposePorts & { metrics: Metrics; metered: Metering | undefined } => {
  const { metering } = ports
  const metrics = metering?.metrics ?? NO_METRICS
  if (metering === undefined || !metrics.enabled) return { ...ports, metrics, metered: undefined }
  const { accounts } = ports
  const store = metering.ephemeralStore(ports.store)
  return {
    ...ports,
    metrics,
    metered: metering,
    store,
    ...(accounts === undefined ? {} : { accounts: { ...accounts, durable: metering.durableStore(accounts.durable) } }),
  }
}

/** The WebSocket relay, when the runtime gives channel events and timers. */
const relayOf = (config: Config, ports: ComposePorts, rendezvous: RendezvousService): RelayService | undefined =>
  ports.channelEvents === undefined || ports.scheduler === undefined
    ? undefined
    : relayService({
        rendezvous,
        events: ports.channelEvents,
        clock: ports.clock,
        random: ports.random,
        scheduler: ports.scheduler,
        limits: {
          helloTimeoutMs: config.websocket.helloTimeoutMs,
          idleTimeoutMs: config.websocket.idleTimeoutMs,
          maxFrameBytes: maxFrameBytes(config.rendezvous.maxPayloadBytes),
        },
      })

/** The account services, built on the shared ones. */
const composeAccounts = (
  config: Config,
  ports: ComposePorts & { accounts: AccountPorts },
  { limiter, abuse }: { limiter: RateLimiter; abuse: AbuseGuard | undefined },
): AccountServices => {
  const { store, clock, random } = ports
  const { durable, uiaKey, keyring, commonPasswords } = ports.accounts
  const plainFeed = accountEvents({
    security: durable.security,
    logger: ports.logger,
    // A reader held on Workers must not be resumed by another request (see `wakesAcrossRequests`).
    wakeWaiters: ports.wakesAcrossRequests === true,
    ...(ports.accounts.feedLimits === undefined ? {} : { limits: ports.accounts.feedLimits }),
  })
  const plainGrants = deviceGrantsService({ kv: store.kv, clock, random, limits: config.oauth, wakeWatchers: ports.wakesAcrossRequests })
  const { feed, grants } = ports.shareChanges?.(plainFeed, plainGrants) ?? { feed: plainFeed, grants: plainGrants }
  const sinks = ports.accounts.securityEventSinks ?? []
  // Every security event goes to the account's feed (GET /v1/events) and to the other sinks.
  const events = sinks.length === 0 ? feed : fanOutSecurityEvents(feed, ...sinks)
  const auth = authServices({ config, store, durable, events, clock, random, uiaKey, keyring, commonPasswords, limiter })
  // RFC 9449 §8 server nonces on the authorization-server endpoints, when the operator turns them on.
  const nonceKey = config.oauth.dpopNonce ? auth.dpopNonceKey : undefined
  const dpop = dpopProofs({ counters: store.counters, clock, nonceKey, platform: ports.proofCheck })
  const quarantineSeconds = config.policy.quarantineSeconds
  const deviceLogin = deviceLoginService({ grants, sessions: auth.sessions, durable, events, clock, random, quarantineSeconds })
  const recency = authRecency({ security: durable.security, clock })
  const maxAuthAgeMs = config.policy.deviceActionMaxAuthAgeSeconds * 1000
  const deviceGuard = deviceActionGuard({ devices: durable.devices, clock, recency, maxAuthAgeMs })
  const denyMs = config.abuse.notMeDenySeconds * 1000
  const globalMinAccountAgeMs = config.abuse.notMeGlobalMinAccountAgeSeconds * 1000
  const notMe = notMeService({ durable, events, clock, guard: deviceGuard, abuse, denyMs, globalMinAccountAgeMs })
  const policy = approvalPolicyOf(config.policy, config.network)
  const approvals = approvalsService({
    grants,
    durable,
    kv: store.kv,
    clock,
    random,
    secondFactors: auth.secondFactors,
    policy,
    recency,
    ...(abuse === undefined ? {} : { abuse }),
  })
  const approvalLookups = approvalRequests({
    grants,
    limiter,
    kv: store.kv,
    clock,
    oauth: config.oauth,
    proximity: policy.proximity,
    isHidden: approvals.isHidden,
  })
  return {
    auth,
    feed,
    operator: operatorAccounts({ accounts: auth.accounts, durable, events, clock }),
    dpop,
    grants,
    deviceLogin,
    inspection: tokenInspection({ durable, clock, events }),
    introspectionClients: hashedClients(config.oauth.introspectionClients),
    approvals,
    approvalRequests: approvalLookups,
    recency,
    deviceGuard,
    notMe,
    devices: deviceManagement({ durable, events, clock, guard: deviceGuard, limiter, renamesPerDevice: config.auth.renamesPerDevice }),
    totpQrSvg: (uri) => renderQrSvg(new TextEncoder().encode(uri), { errorCorrection: 'M' }),
  }
}

/** The operator's listing of the guard's blocks, reading as far ahead as the longest configured block. */
const abuseBlocksOf = (config: Config, store: EphemeralStore, clock: Clock, abuse: AbuseGuard) =>
  abuseBlocks({
    kv: store.kv,
    clock,
    deniedForMs: (source) => abuse.deniedForMs(source),
    longestBlockMs: Math.max(config.abuse.maxBlockSeconds, config.abuse.notMeDenySeconds) * 1000,
  })

/**
 * Builds the services of one process (or isolate, or channel object).
 *
 * @example
 * const services = compose(config, { store, clock, random, logger, redact, accounts: { durable, uiaKey, keyring, commonPasswords: COMMON_PASSWORDS } })
 * const app = createApp(services, { getSocketAddress })
 */
export const compose = (config: Config, given: ComposePorts): Services => {
  const ports = meteredPorts(given)
  const { store, clock, random, logger, metrics, metered } = ports
  const limiter = rateLimiter(store.counters, clock)
  const abuse =
    ports.abuseGuard === false
      ? undefined
      : abuseGuardFor(config.abuse, {
          counters: store.counters,
          kv: store.kv,
          clock,
          logger,
          metrics,
          trustedNetworks: config.policy.trustedNetworks,
          ...(ports.accounts === undefined
            ? {}
            : { vouches: trustedNetworkVouch(ports.accounts.durable.devices, clock, config.abuse.notMeGlobalMinAccountAgeSeconds * 1000) }),
        })
  const events = ports.channelEvents
  const unmetered = rendezvousService({
    store,
    limiter,
    clock,
    random,
    limits: config.rendezvous,
    rates: config.rateLimit,
    deniedNetworks: config.policy.deniedNetworks,
    ...(events === undefined ? {} : { events }),
    ...(abuse === undefined ? {} : { abuse }),
    ...(ports.channelIdKeys === undefined ? {} : { channelIdKeys: ports.channelIdKeys }),
    ...(ports.hmacSha256 === undefined ? {} : { hmacSha256: ports.hmacSha256 }),
    ...(ports.textSha256 === undefined ? {} : { textSha256: ports.textSha256 }),
  })
  // Counted before the relay gets it: a claim over a WebSocket completes a channel too.
  const rendezvous = metered === undefined ? unmetered : metered.rendezvous(unmetered)
  const relay = relayOf(config, ports, rendezvous)
  if (metered !== undefined) {
    metrics.observe('live_channels', () => store.channels.liveCount())
    if (relay !== undefined) metrics.observe('open_websockets', relay.openCount)
  }
  const { signingKeys, locator } = ports
  const retiredKeyTtlMs = config.tickets.retiredKeyTtlSeconds * 1000
  const accountPorts = ports.accounts
  const accounts =
    accountPorts === undefined ? undefined : composeAccounts(config, { ...ports, accounts: accountPorts }, { limiter, abuse })
  return {
    config,
    logger,
    metrics,
    random,
    redact: ports.redact,
    stopwatch: () => {
      const started = clock.now()
      return () => clock.now() - started
    },
    readiness: store,
    sightings: sightings({ clock, locator }),
    limiter,
    rendezvous,
    ...(relay === undefined ? {} : { relay }),
    ...(abuse === undefined ? {} : { abuse, abuseBlocks: abuseBlocksOf(config, store, clock, abuse) }),
    ...(signingKeys === undefined ? {} : { tickets: channelTickets({ keys: signingKeys, clock, network: config.network }) }),
    ...(signingKeys === undefined
      ? {}
      : { keys: operatorKeys({ store: signingKeys.store, keys: signingKeys, clock, random, retiredKeyTtlMs }) }),
    ...(accounts === undefined ? {} : { accounts: metered === undefined ? accounts : metered.accounts(accounts) }),
  }
}
