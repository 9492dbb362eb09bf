/**
 * The stores the server would use, opened for one operator CLI command: the durable store, the
 * ephemeral store and the webhook outbox, each in the backend the configuration names (SQLite in the
 * data directory, or Redis). The CLI hands them to the same `compose()` as the server
 * (`cli/stores.ts`), so what a command changes is emitted like any other change.
 *
 * With SQLite the ephemeral store is this process's memory: abuse blocks and other short-lived state
 * of a running server are not visible here (`qrelay network` asks that server's admin API instead).
 */
import type { Config } from '../config.ts'
import type { Clock, DurableStore, EphemeralStore, WebhookOutbox } from '../ports.ts'

/** What the CLI works on. */
export interface CliStores {
  durable: DurableStore
  ephemeral: EphemeralStore
  /** The webhook outbox the server's delivery worker drains. */
  outbox: WebhookOutbox
  close(): Promise<void>
}

const openRedisStores = async (config: Config, clock: Clock): Promise<CliStores> => {
  const [{ redisTarget }, { openRedis }, { redisDurableStore }, { redisStore }, { redisWebhookOutbox }] = await Promise.all([
    import('../config/parse-redis.ts'),
    import('../adapters/storage/redis-client.ts'),
    import('../adapters/durable/redis.ts'),
    import('../adapters/storage/redis.ts'),
    import('../adapters/durable/redis-webhook-outbox.ts'),
  ])
  // One Redis, a cluster or Sentinel, as the server opens it; bounded like the server's, so an
  // unreachable Redis fails the command instead of hanging it.
  const target = redisTarget(config.storage.redisUrl as string)
  if ('problem' in target) throw new Error(`QRELAY_REDIS_URL ${target.problem}`)
  const client = openRedis(target, { commandTimeoutMs: config.storage.redisCommandTimeoutMs, tlsCaFile: config.storage.redisTlsCaFile })
  const keyPrefix = config.storage.redisKeyPrefix
  const durable = redisDurableStore({ client, keyPrefix, clock })
  const ephemeral = redisStore({ client, keyPrefix, clock })
  return {
    durable,
    ephemeral,
    outbox: redisWebhookOutbox({ client, keyPrefix }),
    async close() {
      await durable.close()
      await client.quit().catch(() => client.disconnect())
    },
  }
}

/**
 * Opens the stores `config` names: SQLite in the data directory, or Redis.
 *
 * @example
 * const stores = await openCliStores(parseConfig(process.env), systemClock)
 */
export const openCliStores = async (config: Config, clock: Clock): Promise<CliStores> => {
  if (config.storage.kind === 'redis') return openRedisStores(config, clock)
  const [{ openSqlite, sqliteStore }, { sqliteWebhookOutbox }, { memoryStore }] = await Promise.all([
    import('../adapters/durable/sqlite.ts'),
    import('../adapters/durable/sqlite-webhook-outbox.ts'),
    import('../adapters/storage/memory.ts'),
  ])
  const db = openSqlite(config.storage.dataDir)
  const durable = sqliteStore({ db, clock })
  const ephemeral = memoryStore({ clock, sweepIntervalMs: 0 })
  return {
    durable,
    ephemeral,
    outbox: sqliteWebhookOutbox({ db }),
    async close() {
      await Promise.all([ephemeral.close(), durable.close()])
      db.close()
    },
  }
}
