/**
 * The durable store the server would use, opened for the operator CLI, plus the one thing the CLI
 * needs that the port leaves out on purpose (requests never list accounts): every username.
 */
import type { Config } from '../config.ts'
import { redisTarget } from '../config/parse-redis.ts'
import { openRedis } from '../adapters/storage/redis-client.ts'
import { openSqlite, sqliteStore } from '../adapters/durable/sqlite.ts'
import { redisDurableStore } from '../adapters/durable/redis.ts'
import { memoryStore } from '../adapters/storage/memory.ts'
import { redisStore } from '../adapters/storage/redis.ts'
import type { Clock, DurableStore, EphemeralStore } from '../ports.ts'

/** What the CLI works on. */
export interface CliStores {
  durable: DurableStore
  ephemeral: EphemeralStore
  /** Every username, in no particular order (bounded by `max`). */
  usernames(max: number): Promise<string[]>
  close(): Promise<void>
}

/**
 * Opens the stores `config` names: SQLite in the data directory, or Redis.
 *
 * @example
 * const stores = openCliStores(parseConfig(process.env), systemClock)
 */
export const openCliStores = (config: Config, clock: Clock): CliStores => {
  if (config.storage.kind === 'redis') {
    // Bounded like the server's: an unreachable Redis fails the command instead of hanging it.
    const target = redisTarget(config.storage.redisUrl as string)
    if ('problem' in target) throw new Error(`QRELAY_REDIS_URL ${target.problem}`)
    const client = openRedis(target, { commandTimeoutMs: config.storage.redisCommandTimeoutMs })
    const keyPrefix = config.storage.redisKeyPrefix
    const durable = redisDurableStore({ client, keyPrefix, clock })
    return {
      durable,
      ephemeral: redisStore({ client, keyPrefix, clock }),
      async usernames(max) {
        const names: string[] = []
        let cursor = '0'
        // The username index keys are `<prefix>{u:<key>}`; each points at an account.
        for (let round = 0; round < 100_000 && names.length < max; round++) {
          const [next, keys] = await client.scan(cursor, 'MATCH', `${keyPrefix}{u:*`, 'COUNT', 500)
          for (const key of keys) {
            const id = await client.get(key)
            const account = id === null ? null : await durable.accounts.get(id)
            if (account !== null) names.push(account.username)
          }
          cursor = next
          if (cursor === '0') break
        }
        return names.slice(0, max)
      },
      async close() {
        await client.quit().catch(() => client.disconnect())
      },
    }
  }
  const db = openSqlite(config.storage.dataDir)
  const durable = sqliteStore({ db, clock })
  const ephemeral = memoryStore({ clock, sweepIntervalMs: 0 })
  return {
    durable,
    ephemeral,
    async usernames(max) {
      const rows = db.prepare('SELECT username FROM accounts ORDER BY created_at_ms, id LIMIT ?').all(max) as Array<{ username: string }>
      return rows.map((row) => row.username)
    },
    async close() {
      await ephemeral.close()
      db.close()
    },
  }
}
