/**
 * The Redis side of the Node runtime: the client of QRELAY_REDIS_URL and everything built on it (the
 * ephemeral and durable stores, the channel events, the change notices between processes, the webhook
 * outbox). Its adapters are imported only here, and only with QRELAY_STORE=redis (no ioredis otherwise).
 */
import { summarizeError } from '../core/error-summary.ts'
import type { Config } from '../config.ts'
import { redisTarget } from '../config/parse-redis.ts'
import { cryptoRandom } from '../adapters/platform/node.ts'
import type { ChannelIdKeys } from '../core/rendezvous/channel-id.ts'
import type { ChannelEvents, Clock, DurableStore, EphemeralStore, Logger, WebhookOutbox } from '../ports.ts'
import type { ChangeNotices } from '../services/change-waiters.ts'

/** Logs a recurring error at most once every 10 s (ioredis repeats it on every reconnect attempt). */
export const throttledWarn = (logger: Logger, message: string) => {
  let lastMs = -Infinity
  return (error: unknown): void => {
    const now = Date.now()
    if (now - lastMs < 10_000) return
    lastMs = now
    logger.warn({ err: summarizeError(error) }, message)
  }
}

/** The ephemeral store the config names, and the channel events that go with it (the caller closes both). */
export interface BuiltStore {
  store: EphemeralStore
  events: ChannelEvents
  /** Accounts, devices and tokens: Redis (same client) with QRELAY_STORE=redis, else SQLite in the data directory. */
  durable: DurableStore
  /** Operator webhooks waiting for delivery, in the durable store's backend. */
  outbox: WebhookOutbox
  close: () => Promise<void>
  /** Redis: change notices between the processes (held polls woken by another process's change). */
  notices?: ChangeNotices
  /** Redis: the channel-id key every process shares (generated once into Redis). */
  channelIdKeys?: () => Promise<ChannelIdKeys>
}

/** Builds the Redis stores, events and notices of `config` (QRELAY_STORE=redis); the caller closes them. */
export const buildRedisStore = async (config: Config, clock: Clock, logger: Logger): Promise<BuiltStore> => {
  const [
    { openRedis },
    { redisSharedSecret, redisStore },
    { redisChannelEvents },
    { redisChangeNotices },
    { redisDurableStore },
    { redisWebhookOutbox },
  ] = await Promise.all([
    import('../adapters/storage/redis-client.ts'),
    import('../adapters/storage/redis.ts'),
    import('../adapters/pubsub/redis.ts'),
    import('../adapters/pubsub/redis-notices.ts'),
    import('../adapters/durable/redis.ts'),
    import('../adapters/durable/redis-webhook-outbox.ts'),
  ])
  const target = redisTarget(config.storage.redisUrl as string)
  if ('problem' in target) throw new Error(`QRELAY_REDIS_URL ${target.problem}`)
  // One, a cluster or Sentinel (the URL says). A request waiting on an unreachable or slow Redis answers 503 within the timeout.
  const client = openRedis(target, {
    enableAutoPipelining: true,
    commandTimeoutMs: config.storage.redisCommandTimeoutMs,
    tlsCaFile: config.storage.redisTlsCaFile,
  })
  client.on('error', throttledWarn(logger, 'redis connection error'))
  const keyPrefix = config.storage.redisKeyPrefix
  // Every store defines its scripts on a cluster client as it is built, before the client sends anything
  // (adapters/storage/redis-script.ts): build them all here, before the first command.
  const store = redisStore({ client, keyPrefix, clock })
  const onError = (error: unknown): void => logger.warn({ err: summarizeError(error) }, 'redis subscriber error')
  const events = redisChannelEvents({ client, keyPrefix, onError })
  // Grant changes stored here wake the token polls held by the other processes (and theirs, ours).
  const origin = Buffer.from(cryptoRandom.bytes(9)).toString('base64url')
  const notices = redisChangeNotices({ client, keyPrefix, origin, onError: throttledWarn(logger, 'redis change notices error') })
  const durable = redisDurableStore({ client, keyPrefix, clock })
  const outbox = redisWebhookOutbox({ client, keyPrefix })
  const close = async (): Promise<void> => {
    await events.close()
    await notices.close()
    await durable.close()
    await client.quit().catch(() => client.disconnect())
  }
  const channelIdKeys = (): Promise<ChannelIdKeys> =>
    redisSharedSecret(client, keyPrefix, 'channel-id-key', cryptoRandom.bytes(32)).then((key) => [key] as const)
  return { store, events, notices, durable, outbox, close, channelIdKeys }
}
