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
import type { Clock, Logger, Random } from '../ports.ts'
import { createAppWith, type AppContent } from '../http/app-core.ts'
import { renderDocsPage } from '../http/openapi/docs-page.tsx'
import { EMPTY_PAGE_CONTENT, type PageContent } from '../http/pages/page-content.ts'
import type { OperationTable } from '../http/openapi/assemble.ts'
import { DOCS_STYLE_ASSET, OPENAPI_TABLE_ASSET, PAGE_CONTENT_ASSET, PAGE_SCRIPT_ASSET } from './workers-assets.ts'
import type { AppEnv } from '../http/context.ts'
import { openSigningKeys } from '../services/signing-keys.ts'
import { compose, type AccountPorts } from './compose.ts'

export { ChannelObject } from './channel-object.ts'
export { CounterObject } from './counter-object.ts'
export { AccountObject } from './account-object.ts'
export { AccountIndexObject } from './account-index-object.ts'
export { KeyObject } from './key-object.ts'
export { OutboxObject } from './outbox-object.ts'

/** The Worker's adapters of the accounts side: Durable Object stores, keys and the webhook outbox sink. */
const accountPortsOf = async (
  env: Env,
  config: Config,
  adapters: { clock: Clock; random: Random; logger: Logger },
): Promise<AccountPorts> => {
  const { clock, random, logger } = adapters
  const durable = durableObjectDurableStore({ accounts: env.RELAY_ACCOUNT, index: env.RELAY_ACCOUNT_INDEX, clock })
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
  return { durable, uiaKey, keyring, securityEventSinks }
}

/** The Worker's bindings: wrangler.toml's, with the `[assets]` binding holding the page script and the OpenAPI table. */
type WorkerEnv = Env & { ASSETS?: Fetcher }

/** One file of the Worker's static assets (`scripts/worker-assets.ts`), through the assets binding. */
const assetOf = async (env: WorkerEnv, path: string): Promise<Response | undefined> => {
  const res = await env.ASSETS?.fetch(`https://assets.invalid${path}`)
  return res?.ok === true ? res : undefined
}

/**
 * The page script, read once per isolate through the assets binding (wrangler.toml `[assets]`); the
 * app serves it under its content-hashed path. No binding or no file: the channel pages say they need it.
 */
const pageScriptOf = (env: WorkerEnv): (() => Promise<string | undefined>) => {
  let loading: Promise<string | undefined> | undefined
  const read = async (): Promise<string | undefined> => (await assetOf(env, PAGE_SCRIPT_ASSET))?.text()
  return () => {
    loading ??= read().catch(() => {
      loading = undefined
      return undefined
    })
    return loading
  }
}

/** Reads a JSON or text asset once; a failure is not kept, so the next call tries again. */
const onceFrom = <T>(read: () => Promise<T>): (() => Promise<T>) => {
  let loading: Promise<T> | undefined
  return () => {
    loading ??= read().catch((error: unknown) => {
      loading = undefined
      throw error
    })
    return loading
  }
}

/**
 * The app's static content from the assets (`scripts/worker-assets.ts`): the pages' content, read
 * before the app is built (without it the pages answer in message keys, unstyled, and say so in the
 * log); the OpenAPI table and the `/docs` style sheet, read on the first `/openapi.json` or `/docs`.
 */
const contentOf = async (env: WorkerEnv, logger: Logger): Promise<AppContent> => {
  const missing = (path: string) => new Error(`${path} is missing from the Worker's assets (scripts/worker-assets.ts)`)
  const pages = await assetOf(env, PAGE_CONTENT_ASSET)
    .then((res) => (res === undefined ? Promise.reject(missing(PAGE_CONTENT_ASSET)) : (res.json() as Promise<PageContent>)))
    .catch((error: unknown) => {
      logger.error({ err: String(error) }, 'the page content could not be read: the pages answer without it')
      return EMPTY_PAGE_CONTENT
    })
  const docsCss = onceFrom(async () => (await assetOf(env, DOCS_STYLE_ASSET))?.text() ?? Promise.reject(missing(DOCS_STYLE_ASSET)))
  return {
    pages,
    docs: async () => ({ renderDocsPage, DOCS_CSS: await docsCss() }),
    openApiOperations: onceFrom(async () => {
      const res = await assetOf(env, OPENAPI_TABLE_ASSET)
      if (res === undefined) throw missing(OPENAPI_TABLE_ASSET)
      return (await res.json()) as OperationTable
    }),
  }
}

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
  })
  const services = compose(config, {
    store: durableObjectStore({ channels: env.RELAY_CHANNEL, counters: env.RELAY_COUNTER, clock }),
    clock,
    random,
    logger,
    redact,
    // HTTP writes, deletes and aborts reach the channel's sockets through its Durable Object.
    channelEvents: durableObjectChannelEvents({ channels: env.RELAY_CHANNEL }),
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

export default {
  async fetch(request, env, ctx) {
    // WebSockets of native channels end in the channel's Durable Object, not in this isolate.
    wsConfig ??= parseConfig(textVars(env))
    const wsChannel = webSocketChannelOf(request, wsConfig)
    if (wsChannel !== null) {
      // A made-up id never reaches (and so never creates) a channel object.
      if (!isMintedChannelId(await channelIdKeysOfWorker(env, wsConfig), wsChannel)) {
        return Response.json({ errcode: 'M_NOT_FOUND', error: 'no such channel' }, { status: 404 })
      }
      return forwardWebSocket(request, env, wsChannel)
    }
    // A failed build (e.g. a bad QRELAY_* value) is not cached: the next request reports it again.
    app ??= buildApp(env).catch((error: unknown) => {
      app = undefined
      throw error
    })
    return (await app).fetch(request, env, ctx)
  },
} satisfies ExportedHandler<Env>
