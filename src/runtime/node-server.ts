/**
 * Composition root for Node: builds the store, the services and the app from a {@link Config}, serves
 * it, and shuts down gracefully. `src/runtime/node.ts` is the process entry; tests call
 * {@link startNodeServer} directly to get a real server on port 0. The Redis side is in `./node-redis-store.ts`.
 */
import { hexToBytes } from '@noble/hashes/utils.js'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { WebSocketServer } from 'ws'
import type { Config } from '../config.ts'
import { memoryStore } from '../adapters/storage/memory.ts'
import { channelIdKeysOf } from '../core/rendezvous/channel-id.ts'
import { memoryChannelEvents } from '../adapters/pubsub/memory.ts'
import {
  cryptoRandom,
  nodeHmacSha256,
  nodeRedactor,
  nodeTextSha256,
  pinoLogger,
  systemClock,
  withPageScript,
} from '../adapters/platform/node.ts'
import { nodeProofKeys } from '../adapters/platform/node-proof-keys.ts'
import { nodeJwsSignatures } from '../adapters/platform/node-jws-signatures.ts'
import { platformProofCheck } from '../services/dpop-platform.ts'
import { ticketPlatform } from '../services/channel-ticket-platform.ts'
import { createApp } from '../http/app.ts'
import type { GetSocketAddress } from '../http/middleware/request-context.ts'
import { configKeyStore } from '../adapters/keys/keystore.ts'
import { fileKeyStore, signingKeyPath } from '../adapters/keys/file-keystore.ts'
import { fileSealingKeyStore, sealingKeyPath } from '../adapters/keys/file-sealing-keys.ts'
import { openSealingKeyring } from '../adapters/keys/sealing-keys.ts'
import { openSigningKeys } from '../services/signing-keys.ts'
import type { Clock, EphemeralStore, Logger, NetworkLocator, Random, Scheduler } from '../ports.ts'
import type { RelayService } from '../services/relay.ts'
import { isSqliteBusy } from '../adapters/durable/sqlite-busy.ts'
import { startNodeWebhooks, type NodeWebhooks } from './node-webhooks.ts'
import { buildRedisStore, throttledWarn, type BuiltStore } from './node-redis-store.ts'
import { listen } from './node-listen.ts'
import { compose } from './compose.ts'
import { nodeFastPaths } from './node-fast-paths.ts'
import { sharedAcrossProcesses } from '../services/process-notices.ts'
import { meteringOf } from '../services/metering.ts'
import { geoLocator, nodeMetrics } from './node-lazy.ts'
import { nodeWebSocketServer, nodeWebSocketTransport, systemScheduler, terminateAll } from './node-ws.ts'
import { COMMON_PASSWORDS as commonPasswords } from '../core/auth/common-passwords.ts'
import { summarizeError } from '../core/error-summary.ts'
import { isLoopbackHost } from '../config/loopback-host.ts'

/** A running server. */
export interface RunningServer {
  url: string
  port: number
  store: EphemeralStore
  /** Stops accepting, waits for requests in flight (up to the grace period), closes the store. */
  stop(): Promise<void>
}

/** Replaceable parts, for tests. */
export interface NodeServerOverrides {
  clock?: Clock
  random?: Random
  logger?: Logger
  scheduler?: Scheduler
  /** ASN and location of client addresses (default: the QRELAY_GEO_* mmdb files, if any). */
  locator?: NetworkLocator
}

/** True for the errors ioredis raises when Redis cannot be reached (timeouts, closed or refused connections). */
const isRedisUnavailable = (error: unknown): boolean => {
  if (!(error instanceof Error)) return false
  // From CLUSTERDOWN on: a cluster between a node's failure and its failover, a Sentinel master being replaced, refused credentials.
  const unreachable =
    /timed out|Connection is closed|ECONNREFUSED|ECONNRESET|isn't writeable|CLUSTERDOWN|TRYAGAIN|startup nodes|All sentinels|READONLY|WRONGPASS|NOAUTH|NOPERM/i
  return error.name === 'MaxRetriesPerRequestError' || error.name === 'ClusterAllFailedError' || unreachable.test(error.message)
}

/**
 * Builds the ephemeral store and channel events the config names. The adapters are imported here,
 * only for the store configured: no ioredis without Redis, no libsql with it (a faster start).
 */
const buildStore = async (config: Config, clock: Clock, logger: Logger): Promise<BuiltStore> => {
  if (config.storage.kind === 'redis') return buildRedisStore(config, clock, logger)
  const store = memoryStore({ clock, sweepIntervalMs: config.storage.memorySweepIntervalMs, maxCounters: config.storage.memoryMaxCounters })
  const events = memoryChannelEvents()
  const [{ openSqlite, sqliteStore }, { sqliteWebhookOutbox }] = await Promise.all([
    import('../adapters/durable/sqlite.ts'),
    import('../adapters/durable/sqlite-webhook-outbox.ts'),
  ])
  const db = openSqlite(config.storage.dataDir)
  const durable = sqliteStore({ db, clock })
  const outbox = sqliteWebhookOutbox({ db })
  const close = async (): Promise<void> => {
    await Promise.all([events.close(), store.close(), durable.close()])
    db.close()
  }
  return { store, events, durable, outbox, close }
}

/** Keys of the process: log hashing, channel tickets, the UIA binding and the TOTP sealing keyring. */
const openNodeKeys = async (config: Config, random: Random, clock: Clock, logger: Logger) => {
  const shared = config.storage.kind === 'redis'
  if (config.server.logHashKeyHex === undefined && shared) {
    logger.warn({}, 'QRELAY_LOG_HASH_KEY is unset: log hashes of the same id differ between processes')
  }
  const redact = nodeRedactor(config.server.logHashKeyHex === undefined ? random.bytes(32) : hexToBytes(config.server.logHashKeyHex))
  const signingKeys = await openSigningKeys({
    store:
      config.tickets.signingJwks === undefined
        ? fileKeyStore(signingKeyPath(config.storage.dataDir))
        : configKeyStore(config.tickets.signingJwks),
    clock,
    random,
    retiredKeyTtlMs: config.tickets.retiredKeyTtlSeconds * 1000,
    platform: ticketPlatform(nodeJwsSignatures()),
    onReloadFailed: (error) => logger.warn({ err: summarizeError(error) }, 'signing keys reload failed; the keys in memory stay in use'),
  })
  if (config.auth.uiaKeyHex === undefined && shared) {
    logger.warn({}, 'QRELAY_UIA_KEY is unset: a UIA session started on one process fails on another')
  }
  const uiaKey = config.auth.uiaKeyHex === undefined ? random.bytes(32) : hexToBytes(config.auth.uiaKeyHex)
  if (config.auth.secretsKeys === undefined && shared) {
    logger.warn({}, "QRELAY_SECRETS_KEYS is unset: processes that do not share the data directory cannot open each other's TOTP keys")
  }
  // TOTP keys are sealed at rest under this keyring (configured, or generated once into the data dir).
  const keyring = await openSealingKeyring({
    configured: config.auth.secretsKeys,
    store: fileSealingKeyStore(sealingKeyPath(config.storage.dataDir)),
    random,
  })
  return { redact, signingKeys, uiaKey, keyring }
}

/** The socket peer's address of a request on Node (undefined when the connection is already gone). */
const nodeSocketAddress: GetSocketAddress = (c) => {
  try {
    return getConnInfo(c).remote.address
  } catch {
    // getConnInfo throws once the socket is destroyed: the address is then unknown, as for any proxy miss.
    return undefined
  }
}

/** What a graceful stop shuts, in order. */
interface Running {
  server: Server
  relay: RelayService | undefined
  wss: WebSocketServer | undefined
  purge: ReturnType<typeof setInterval>
  webhooks: NodeWebhooks | undefined
  close: () => Promise<void>
  logger: Logger
}

/** Stops accepting, waits for requests in flight (up to the grace period), then closes the rest. */
const gracefulStop = async (config: Config, running: Running): Promise<void> => {
  const { server, wss } = running
  // Upgraded sockets count as open connections: the server closes only once they are gone.
  running.relay?.shutdown()
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections?.()
  // Not unref'd: connections whose peer is gone may hold no reference, and the process must not end
  // (exit 13, the store left open) before the grace ends and the rest is closed.
  let graceTimer: ReturnType<typeof setTimeout> | undefined
  const grace = new Promise<void>((resolve) => {
    graceTimer = setTimeout(resolve, config.server.shutdownGraceMs)
  })
  await Promise.race([closed, grace])
  clearTimeout(graceTimer)
  server.closeAllConnections?.()
  if (wss !== undefined) terminateAll(wss)
  clearInterval(running.purge)
  // Deliveries in flight finish (or time out) before the store they report to closes.
  await running.webhooks?.worker.stop()
  await running.close()
  running.logger.info({}, 'stopped')
}

/**
 * Starts qrelay on Node with `config`.
 *
 * @example
 * const server = await startNodeServer(parseConfig({ QRELAY_PORT: '0' }))
 * await fetch(`${server.url}/healthz`)
 * await server.stop()
 */
export const startNodeServer = async (config: Config, overrides: NodeServerOverrides = {}): Promise<RunningServer> => {
  const clock = overrides.clock ?? systemClock
  const random = overrides.random ?? cryptoRandom
  const logger = overrides.logger ?? pinoLogger(config.server.logLevel)
  const scheduler = overrides.scheduler ?? systemScheduler
  const built = await buildStore(config, clock, logger)
  const { store, events, durable, close, channelIdKeys, notices } = built
  const { metrics, outbox } = await nodeMetrics(config, built.outbox)
  const { redact, signingKeys, uiaKey, keyring } = await openNodeKeys(config, random, clock, logger)
  const webhooks = startNodeWebhooks(config, { outbox, clock, random, logger, scheduler })
  // Optional offline geolocation (a bad file stops the start, like a bad setting).
  const locator = overrides.locator ?? (await geoLocator(config))
  // Configured keys, else one shared through Redis, else (memory store) a random key of this process.
  const idKeys = channelIdKeysOf(config.rendezvous.channelIdKeysHex) ?? channelIdKeys
  const services = compose(config, {
    store,
    clock,
    random,
    logger,
    metering: meteringOf(metrics),
    redact,
    channelEvents: events,
    scheduler,
    signingKeys,
    ...(idKeys === undefined ? {} : { channelIdKeys: idKeys }),
    hmacSha256: nodeHmacSha256,
    textSha256: nodeTextSha256,
    proofCheck: platformProofCheck(nodeProofKeys()),
    wakesAcrossRequests: true,
    ...(notices === undefined ? {} : { shareChanges: sharedAcrossProcesses(notices, logger) }),
    ...(locator === undefined ? {} : { locator }),
    accounts: { durable, uiaKey, keyring, commonPasswords, securityEventSinks: webhooks === undefined ? [] : [webhooks.events] },
  })
  // Expired access tokens and families are invisible already; this only frees their rows.
  const purgeFailed = throttledWarn(logger, 'purging expired tokens failed')
  const purge = setInterval(() => void durable.purgeExpired().catch(purgeFailed), 600_000)
  purge.unref()
  const wss =
    config.websocket.enabled && config.rendezvous.nativeEnabled ? nodeWebSocketServer(config.rendezvous.maxPayloadBytes) : undefined
  const { relay } = services
  let shuttingDown = false
  const runtime = {
    isShuttingDown: () => shuttingDown,
    isStoreUnavailable: config.storage.kind === 'redis' ? isRedisUnavailable : isSqliteBusy,
  }
  const app = await withPageScript(createApp, services, {
    getSocketAddress: nodeSocketAddress,
    ...runtime,
    ...(wss === undefined || relay === undefined ? {} : { websocket: nodeWebSocketTransport(relay) }),
  })
  const onServerError = (error: Error): void => logger.error({ err: summarizeError(error) }, 'server error')
  const server = await listen(config, app.fetch, wss, nodeFastPaths(services, runtime), onServerError)
  const { port } = server.address() as AddressInfo
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host
  const url = `http://${host}:${port}`
  logger.info({ url, store: store.kind }, 'listening')
  if (config.server.metricsEnabled && config.server.metricsToken === undefined && !isLoopbackHost(config.server.host)) {
    // Documented (docs/metrics.md), and said where it matters: beyond loopback anyone who reaches the port reads them.
    logger.warn({}, 'QRELAY_METRICS_TOKEN is unset: GET /metrics answers anyone who reaches this address')
  }
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    shuttingDown = true
    stopping ??= gracefulStop(config, { server, relay, wss, purge, webhooks, close, logger })
    return stopping
  }
  return { url, port, store, stop }
}
