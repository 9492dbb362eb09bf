/**
 * Composition root for Cloudflare Workers: builds the config from the `env` bindings (`[vars]` and
 * secrets), the Durable Object store, the services and the app, once per isolate, and serves it.
 * Exports the Durable Object classes that `wrangler.toml` binds.
 *
 * Accounts, devices and tokens live in Durable Objects (`src/adapters/durable/durable-object.ts`);
 * ticket signing keys come from QRELAY_TICKET_SIGNING_JWKS or are generated once into a key object.
 *
 * WebSocket upgrades of native channels bypass the app: they are forwarded to the channel's Durable
 * Object, where both sockets end and the relay runs (`workers-relay.ts`); the app's HTTP writes reach
 * them through that object's `publish` RPC. Webhooks go to the outbox object, delivered by its alarm.
 */
import { channelIdKeysOfWorker, forwardWebSocket, textVars, webSocketChannelOf } from './workers-relay.ts'
import { isMintedChannelId } from '../core/rendezvous/channel-id.ts'
import { durableObjectChannelEvents } from '../adapters/pubsub/durable-object.ts'
import { cloudflareLocator } from '../adapters/geo/cloudflare.ts'
import { webhookSecurityEvents } from '../services/webhooks.ts'
import { durableObjectWebhookOutbox } from '../adapters/durable/durable-object-webhook-outbox.ts'
import { hexToBytes } from '@noble/hashes/utils.js'
import type { Hono } from 'hono'
import { parseConfig, type Config } from '../config.ts'
import { redactWith } from '../core/crypto/secrets.ts'
import { durableObjectStore, isDurableObjectUnavailable } from '../adapters/storage/durable-object.ts'
import { consoleLogger, systemClock, webCryptoRandom } from '../adapters/platform/workers.ts'
import { configKeyStore } from '../adapters/keys/keystore.ts'
import { durableObjectKeyStore } from '../adapters/keys/durable-object-keystore.ts'
import { durableObjectSealingKeyStore, openSealingKeyring } from '../adapters/keys/sealing-keys.ts'
import { durableObjectDurableStore } from '../adapters/durable/durable-object.ts'
import type { ChannelEvents, Clock, Logger, Random } from '../ports.ts'
import { createAppWith } from '../http/app-core.ts'
import { commonPasswordsOf, contentOf, pageScriptOf, type WorkerEnv } from './workers-content.ts'
import type { AppEnv } from '../http/context.ts'
import { openSigningKeys } from '../services/signing-keys.ts'
import { compose, type AccountPorts } from './compose.ts'
import { summarizeError } from '../core/error-summary.ts'
import { RelayError } from '../core/errors.ts'
import { describeError } from '../http/errors.ts'
import { backgroundWork } from './workers-background.ts'

export { ChannelObject } from './channel-object.ts'
export { CounterObject } from './counter-object.ts'
export { AccountObject } from './account-object.ts'
export { AccountIndexObject } from './account-index-object.ts'
export { KeyObject } from './key-object.ts'
export { OutboxObject } from './outbox-object.ts'

/** `events` whose publishes are kept alive past the response that started them. */
const tracked = (events: ChannelEvents): ChannelEvents => ({
  ...events,
  publish: (id, event) => background.track(events.publish(id, event)),
})

/** The Worker's adapters of the accounts side: Durable Object stores, keys and the webhook outbox sink. */
const accountPortsOf = async (
  env: WorkerEnv,
  config: Config,
  adapters: { clock: Clock; random: Random; logger: Logger },
): Promise<AccountPorts> => {
  const { clock, random, logger } = adapters
  // Read while the keyring loads below.
  const commonPasswords = commonPasswordsOf(env, logger)
  const store = durableObjectDurableStore({ accounts: env.RELAY_ACCOUNT, index: env.RELAY_ACCOUNT_INDEX, clock })
  // A device's last-seen touch is not awaited by the request: kept alive past the response.
  const durable = {
    ...store,
    devices: {
      ...store.devices,
      touch: (...args: Parameters<typeof store.devices.touch>) => background.track(store.devices.touch(...args)),
    },
  }
  if (config.auth.uiaKeyHex === undefined) {
    logger.warn({}, 'QRELAY_UIA_KEY is unset: a UIA session started on one isolate fails on another (and so does a DPoP nonce)')
  }
  const uiaKey = config.auth.uiaKeyHex === undefined ? random.bytes(32) : hexToBytes(config.auth.uiaKeyHex)
  // TOTP keys are sealed at rest under this keyring (configured, or generated once into the key object).
  const keyring = await openSealingKeyring({
    configured: config.auth.secretsKeys,
    store: durableObjectSealingKeyStore(env.RELAY_KEYS),
    random,
  })
  // With a webhook URL, every event is also enqueued in the outbox object, which delivers by alarm.
  const securityEventSinks =
    config.webhooks.url === undefined
      ? []
      : [webhookSecurityEvents({ outbox: durableObjectWebhookOutbox({ outboxes: env.RELAY_OUTBOX }), clock, random, logger })]
  return { durable, uiaKey, keyring, securityEventSinks, commonPasswords: await commonPasswords }
}

/** The isolate's work started by requests and not awaited: kept alive with each request's `waitUntil`. */
const background = backgroundWork()

/** Builds the app for one isolate. */
const buildApp = async (env: WorkerEnv): Promise<Hono<AppEnv>> => {
  const config = parseConfig(textVars(env))
  const clock = systemClock
  const random = webCryptoRandom
  const logger = consoleLogger(config.server.logLevel)
  // Read while the keys load below.
  const content = contentOf(env, logger)
  if (config.server.publicBaseUrl === undefined) {
    // The app then answers loopback hosts only (wrangler dev): a deployed Worker refuses every request.
    logger.warn({}, 'QRELAY_PUBLIC_BASE_URL is unset: only requests to a loopback Host are answered')
  }
  // Each isolate gets its own random key when none is configured: log hashes then differ between isolates.
  const hashKey = config.server.logHashKeyHex
  const redact = redactWith(hashKey === undefined ? random.bytes(32) : hexToBytes(hashKey))
  // Without configured keys, the first isolate generates them into the key object; all share them.
  const signingKeys = await openSigningKeys({
    store: config.tickets.signingJwks === undefined ? durableObjectKeyStore(env.RELAY_KEYS) : configKeyStore(config.tickets.signingJwks),
    clock,
    random,
    retiredKeyTtlMs: config.tickets.retiredKeyTtlSeconds * 1000,
    onReloadFailed: (error) => logger.warn({ err: summarizeError(error) }, 'signing keys reload failed; the keys in memory stay in use'),
  })
  const services = compose(config, {
    store: durableObjectStore({ channels: env.RELAY_CHANNEL, counters: env.RELAY_COUNTER, clock }),
    clock,
    random,
    logger,
    redact,
    // HTTP writes, deletes and aborts reach the channel's sockets through its Durable Object; the
    // publish is not awaited by the request, so it is kept alive past the response.
    channelEvents: tracked(durableObjectChannelEvents({ channels: env.RELAY_CHANNEL })),
    channelIdKeys: () => channelIdKeysOfWorker(env, config),
    signingKeys,
    // ASN and coordinates of each client from request.cf feed the proximity policy.
    locator: cloudflareLocator,
    accounts: await accountPortsOf(env, config, { clock, random, logger }),
  })
  return createAppWith(
    services,
    {
      // Cloudflare sets CF-Connecting-IP to the address the connection came from; clients cannot forge it.
      getSocketAddress: (c) => c.req.header('cf-connecting-ip') ?? undefined,
      isStoreUnavailable: isDurableObjectUnavailable,
      pageScript: pageScriptOf(env),
    },
    await content,
  )
}

let app: Promise<Hono<AppEnv>> | undefined
let wsConfig: Config | undefined

/**
 * A WebSocket upgrade handed to its channel's object. It reaches the key object (the id key) and the
 * channel object outside the app, so their failures are answered here as the app answers them
 * ({@link failedOutsideApp}). Thrown on, they were Cloudflare's own error page (finding 80).
 */
const upgradeOrRefuse = async (request: Request, env: Env, id: string, config: Config): Promise<Response> => {
  try {
    // A made-up id never reaches (and so never creates) a channel object.
    if (!isMintedChannelId(await channelIdKeysOfWorker(env, config), id)) {
      return Response.json({ errcode: 'M_NOT_FOUND', error: 'no such channel' }, { status: 404 })
    }
    const { trustedProxyHeader: header, trustedProxies } = config.server
    return await forwardWebSocket(request, env, id, { header, trustedProxies })
  } catch (error) {
    return failedOutsideApp(error, config, 'websocket upgrade failed')
  }
}

/** What the app would answer for `error` (503 with Retry-After for an unreachable or overloaded object), logged as `what`. */
const failedOutsideApp = (error: unknown, config: Config, what: string): Response => {
  const unavailable = isDurableObjectUnavailable(error)
  consoleLogger(config.server.logLevel).error({ err: summarizeError(error), unavailable }, what)
  const { status, body } = describeError(unavailable ? new RelayError('UNAVAILABLE') : error)
  const headers: Record<string, string> = { 'cache-control': 'no-store' }
  if (unavailable) headers['retry-after'] = '1'
  return Response.json(body, { status, headers })
}

export default {
  async fetch(request, env, ctx) {
    // WebSockets of native channels end in the channel's Durable Object, not in this isolate.
    wsConfig ??= parseConfig(textVars(env))
    const wsChannel = webSocketChannelOf(request, wsConfig)
    if (wsChannel !== null) return upgradeOrRefuse(request, env, wsChannel, wsConfig)
    // A failed build (e.g. a bad QRELAY_* value) is not cached: the next request reports it again.
    app ??= buildApp(env).catch((error: unknown) => {
      app = undefined
      throw error
    })
    let built: Hono<AppEnv>
    try {
      built = await app
    } catch (error) {
      // The build reads the key object: unreachable, it is the app's 503 (finding 80), not Cloudflare's 500 page.
      return failedOutsideApp(error, wsConfig, 'worker build failed')
    }
    const response = await built.fetch(request, env, ctx)
    background.keepAlive(ctx)
    return response
  },
} satisfies ExportedHandler<Env>
