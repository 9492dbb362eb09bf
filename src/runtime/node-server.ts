/**
 * Composition root for Node: builds the store, the services and the app from a {@link Config}, serves
 * it, and shuts down gracefully. `src/runtime/node.ts` is the process entry; tests call
 * {@link startNodeServer} directly to get a real server on port 0.
 */
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import { Redis } from 'ioredis'
import type { Config } from '../config.ts'
import { redactWith } from '../core/crypto/secrets.ts'
import { memoryStore } from '../adapters/storage/memory.ts'
import { redisStore } from '../adapters/storage/redis.ts'
import { cryptoRandom, pinoLogger, systemClock } from '../adapters/platform/node.ts'
import { createApp } from '../http/app.ts'
import type { Clock, EphemeralStore, Logger, Random } from '../ports.ts'
import { rateLimiter } from '../services/rate-limiter.ts'
import { rendezvousService } from '../services/rendezvous.ts'

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
}

const hexToBytes = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16))

/** Builds the ephemeral store the config names (the caller closes it). */
const buildStore = (config: Config, clock: Clock): { store: EphemeralStore; close: () => Promise<void> } => {
  if (config.storage.kind === 'redis') {
    const client = new Redis(config.storage.redisUrl as string, {
      lazyConnect: false,
      enableAutoPipelining: true,
      maxRetriesPerRequest: 2,
    })
    const store = redisStore({ client, keyPrefix: config.storage.redisKeyPrefix, clock })
    return { store, close: async () => void (await client.quit().catch(() => client.disconnect())) }
  }
  const store = memoryStore({ clock, sweepIntervalMs: config.storage.memorySweepIntervalMs })
  return { store, close: () => store.close() }
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
  if (config.server.logHashKeyHex === undefined && config.storage.kind === 'redis') {
    logger.warn({}, 'QRELAY_LOG_HASH_KEY is unset: log hashes of the same id differ between processes')
  }
  const redact = redactWith(config.server.logHashKeyHex === undefined ? random.bytes(32) : hexToBytes(config.server.logHashKeyHex))
  const { store, close } = buildStore(config, clock)
  const limiter = rateLimiter(store.counters, clock)
  const rendezvous = rendezvousService({ store, limiter, clock, random, limits: config.rendezvous, rates: config.rateLimit })
  let shuttingDown = false
  const app = createApp({
    config,
    store,
    rendezvous,
    logger,
    clock,
    random,
    redact,
    getSocketAddress: (c) => {
      try {
        return getConnInfo(c).remote.address
      } catch {
        return undefined
      }
    },
    isShuttingDown: () => shuttingDown,
  })

  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: config.server.host, port: config.server.port }, () => resolve(s as Server))
    s.once('error', reject)
  })
  const { port } = server.address() as AddressInfo
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host
  const url = `http://${host}:${port}`
  logger.info({ url, store: store.kind }, 'listening')

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      shuttingDown = true
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections?.()
      const grace = new Promise<void>((resolve) => setTimeout(resolve, config.server.shutdownGraceMs).unref())
      await Promise.race([closed, grace])
      server.closeAllConnections?.()
      await close()
      logger.info({}, 'stopped')
    })()
    return stopping
  }
  return { url, port, store, stop }
}
