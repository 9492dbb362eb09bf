/**
 * The WebSocket relay on Workers: what runs inside a channel's Durable Object so that both sockets of
 * a channel end there (issue 6). The object hosts the same relay service as Node (`services/relay.ts`,
 * the same pure session machine, limits, timeouts and close codes), over the same Durable Object store
 * the Worker uses; channel events are the object's own in-memory pub/sub, fed by its sockets and by
 * RPCs from isolates that served an HTTP write, delete or abort (`adapters/pubsub/durable-object.ts`).
 *
 * The Worker forwards an upgrade of `GET /v1/rendezvous/{id}/ws` to the channel's object with the
 * client's address in {@link CLIENT_HEADER} (the object is reachable only through the Worker).
 */
import { hexToBytes } from '@noble/hashes/utils.js'
import { memoryChannelEvents, type MemoryChannelEvents } from '../adapters/pubsub/memory.ts'
import { consoleLogger, systemClock, webCryptoRandom } from '../adapters/platform/workers.ts'
import { durableObjectStore } from '../adapters/storage/durable-object.ts'
import { parseConfig, type Config } from '../config.ts'
import { OPAQUE_ID } from '../core/channel/qr-bytes.ts'
import { redactWith } from '../core/crypto/secrets.ts'
import { parseAddress, rateKeyOf } from '../core/policy/network.ts'
import { maxFrameBytes } from '../core/relay/ws-protocol.ts'
import type { Logger, Scheduler } from '../ports.ts'
import { abuseGuardFor } from '../services/abuse-guard.ts'
import { rateLimiter } from '../services/rate-limiter.ts'
import { relayService } from '../services/relay.ts'
import { rendezvousService, type Caller } from '../services/rendezvous.ts'

/** Header carrying the client's address from the Worker to the channel object. */
export const CLIENT_HEADER = 'x-qrelay-client-address'

/** The native WebSocket path, and the channel id in it. */
const WS_PATH = /^\/v1\/rendezvous\/([^/]+)\/ws$/

/** The `QRELAY_*` text bindings: everything in `env` that is not a binding object. */
export const textVars = (env: Env): Record<string, string> => {
  const vars: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) if (typeof value === 'string') vars[name] = value
  return vars
}

/** The channel id of a WebSocket upgrade of a native channel, or null for any other request. */
export const webSocketChannelOf = (request: Request, config: Config): string | null => {
  if (!config.websocket.enabled || !config.rendezvous.nativeEnabled) return null
  if (request.method !== 'GET' || request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return null
  const match = WS_PATH.exec(new URL(request.url).pathname)
  const id = match === null ? null : decodeURIComponent(match[1] as string)
  return id !== null && OPAQUE_ID.test(id) ? id : null
}

/** The Worker's side: hands the upgrade to the channel's object with the client's address. */
export const forwardWebSocket = (request: Request, env: Env, id: string): Promise<Response> => {
  const headers = new Headers(request.headers)
  headers.set(CLIENT_HEADER, request.headers.get('cf-connecting-ip') ?? 'unknown')
  return env.RELAY_CHANNEL.getByName(`ch:${id}`).fetch(new Request(request, { headers }))
}

/** Timers of the relay sessions (hello, idle, expiry): plain timers keep the object awake meanwhile. */
const timerScheduler: Scheduler = {
  schedule(delayMs, task) {
    const timer = setTimeout(task, delayMs)
    return () => clearTimeout(timer)
  },
}

/** What a channel object builds once to relay its sockets. */
export interface ObjectRelay {
  relay: ReturnType<typeof relayService>
  events: MemoryChannelEvents
  logger: Logger
  redact: (value: string) => string
}

/**
 * Builds the relay a channel object hosts, from the same settings as the Worker.
 *
 * @example
 * this.#relay ??= objectRelay(this.env)
 */
export const objectRelay = (env: Env): ObjectRelay => {
  const config = parseConfig(textVars(env))
  const clock = systemClock
  const random = webCryptoRandom
  const logger = consoleLogger(config.server.logLevel)
  const hashKey = config.server.logHashKeyHex
  const redact = redactWith(hashKey === undefined ? random.bytes(32) : hexToBytes(hashKey))
  const store = durableObjectStore({ channels: env.RELAY_CHANNEL, counters: env.RELAY_COUNTER, clock })
  const limiter = rateLimiter(store.counters, clock)
  const abuse = abuseGuardFor(config.abuse, { counters: store.counters, kv: store.kv, clock, logger, trustedNetworks: config.policy.trustedNetworks })
  const events = memoryChannelEvents()
  const rendezvous = rendezvousService({
    store,
    limiter,
    clock,
    random,
    limits: config.rendezvous,
    rates: config.rateLimit,
    events,
    deniedNetworks: config.policy.deniedNetworks,
    ...(abuse === undefined ? {} : { abuse }),
  })
  const relay = relayService({
    rendezvous,
    events,
    clock,
    random,
    scheduler: timerScheduler,
    limits: {
      helloTimeoutMs: config.websocket.helloTimeoutMs,
      idleTimeoutMs: config.websocket.idleTimeoutMs,
      maxFrameBytes: maxFrameBytes(config.rendezvous.maxPayloadBytes),
    },
  })
  return { relay, events, logger, redact }
}

/** The caller a forwarded upgrade speaks for. */
export const callerOfForwarded = (request: Request): Caller => {
  const address = request.headers.get(CLIENT_HEADER) ?? 'unknown'
  const parsed = parseAddress(address)
  return parsed === null ? { clientKey: 'unknown' } : { clientKey: rateKeyOf(parsed), address }
}
